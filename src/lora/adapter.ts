/**
 * LoRA adapters in PEFT's vocabulary: per targeted projection, A is (r, in)
 * and B is (out, r), and the layer computes W0 x + scale * B (A x).
 *
 * `scale` is stored rather than derived from alpha / r because a PLoRA client
 * trains r_i of R modules with the global scale alpha / R; the engine only
 * ever sees this plain form.
 */
import type { ModelConfig } from '../model/config.js';
import { projectionShape } from '../model/weights.js';
import { TARGET_NAMES, type TargetName } from '../layers/projections.js';
import { layerPair, type LoraAdapter, type LoraPair } from '../layers/lora-branch.js';
import { targetGroups } from '../layers/projections.js';
import { fillUniform, type Rng } from '../util/random.js';

export interface LoraOptions {
  rank: number;
  alpha: number;
  targets: readonly TargetName[];
  /** defaults to alpha / rank (PEFT) */
  scale?: number;
}

function validateOptions(opts: LoraOptions): void {
  if (!Number.isInteger(opts.rank) || opts.rank < 1) throw new Error(`LoRA rank must be a positive integer, got ${opts.rank}`);
  if (!(opts.alpha > 0)) throw new Error(`lora_alpha must be positive, got ${opts.alpha}`);
  if (opts.targets.length === 0) throw new Error('LoRA needs at least one target module');
  for (const t of opts.targets) {
    if (!(TARGET_NAMES as readonly string[]).includes(t)) {
      throw new Error(`unknown LoRA target "${t}"; choose from ${TARGET_NAMES.join(', ')}`);
    }
  }
}

/** Builds an adapter whose tensors come from `tensor(layer, target, 'A'|'B', shape)`. */
export function buildLora(
  config: ModelConfig,
  opts: LoraOptions,
  tensor: (layer: number, target: TargetName, which: 'A' | 'B', shape: [number, number]) => Float32Array,
): LoraAdapter {
  validateOptions(opts);
  const targets = TARGET_NAMES.filter((t) => opts.targets.includes(t));
  const layers: LoraAdapter['layers'] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const layer: Partial<Record<TargetName, LoraPair>> = {};
    for (const t of targets) {
      const [out, inp] = projectionShape(config, t);
      layer[t] = { A: tensor(l, t, 'A', [opts.rank, inp]), B: tensor(l, t, 'B', [out, opts.rank]) };
    }
    layers.push(packLayer(layer, targets, l));
  }
  return { rank: opts.rank, alpha: opts.alpha, scale: opts.scale ?? opts.alpha / opts.rank, targets, layers };
}

/** PEFT's default init: A kaiming-uniform (a = sqrt(5), so bound 1/sqrt(in)), B zero. */
export function initLora(config: ModelConfig, opts: LoraOptions, rng: Rng): LoraAdapter {
  return buildLora(config, opts, (_l, _t, which, [rows, cols]) => {
    const x = new Float32Array(rows * cols);
    return which === 'A' ? fillUniform(x, rng, 1 / Math.sqrt(cols)) : x;
  });
}

/** An adapter of the same shape with every tensor zero: gradient and optimizer buffers. */
export function zerosLike(adapter: LoraAdapter): LoraAdapter {
  return mapLora(adapter, (x) => new Float32Array(x.length));
}

export function mapLora(adapter: LoraAdapter, f: (x: Float32Array, layer: number, target: TargetName, which: 'A' | 'B') => Float32Array): LoraAdapter {
  return buildLoraLike(adapter, adapter.rank, (p, l, t) => ({ A: f(p.A, l, t, 'A'), B: f(p.B, l, t, 'B') }));
}

/** An adapter with the same targets and scale but rank `rank`, each pair made from the source's. */
export function buildLoraLike(source: LoraAdapter, rank: number, f: (pair: LoraPair, layer: number, target: TargetName) => LoraPair): LoraAdapter {
  return {
    ...source,
    rank,
    targets: [...source.targets],
    layers: source.layers.map((layer, l) => {
      const out: Partial<Record<TargetName, LoraPair>> = {};
      for (const t of source.targets) out[t] = f(layerPair(layer, t, l), l, t);
      return packLayer(out, source.targets, l);
    }),
  };
}

/** Copies each group's A matrices into one allocation (views replace the originals). */
function packLayer(layer: Partial<Record<TargetName, LoraPair>>, targets: readonly TargetName[], l: number): Partial<Record<TargetName, LoraPair>> {
  for (const group of targetGroups(targets)) {
    if (group.length < 2) continue;
    const members = group.map((t) => ({ t, pair: layerPair(layer, t, l) }));
    const packed = new Float32Array(members.reduce((n, m) => n + m.pair.A.length, 0));
    let offset = 0;
    for (const { t, pair } of members) {
      packed.set(pair.A, offset);
      layer[t] = { A: packed.subarray(offset, offset + pair.A.length), B: pair.B };
      offset += pair.A.length;
    }
  }
  return layer;
}

/** Every tensor of the adapter in a fixed order (layer, target, A then B). */
export function loraTensors(adapter: LoraAdapter): Float32Array[] {
  const out: Float32Array[] = [];
  adapter.layers.forEach((layer, l) => {
    for (const t of adapter.targets) {
      const p = layerPair(layer, t, l);
      out.push(p.A, p.B);
    }
  });
  return out;
}
