/**
 * PEFT's adapter folder: adapter_config.json and adapter_model.safetensors
 * with keys like base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile } from '../io/json-file.js';
import type { ModelConfig } from '../model/config.js';
import { isTargetName, TARGET_NAMES, type TargetName } from '../layers/projections.js';
import { targetModulePath } from '../model/weights.js';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../io/safetensors.js';
import { buildLora, loraTensors } from './adapter.js';
import { layerPair, type LoraAdapter } from '../layers/lora-branch.js';
import { at, got } from '../util/checked.js';

export function peftKey(layer: number, target: TargetName, which: 'A' | 'B'): string {
  return `base_model.model.${targetModulePath(layer, target)}.lora_${which}.weight`;
}

const adapterConfigSchema = z.object({
  peft_type: z.literal('LORA'),
  r: z.number().int().positive(),
  lora_alpha: z.number().positive(),
  target_modules: z.union([z.array(z.string()), z.string()]),
  use_rslora: z.boolean().optional(),
  use_dora: z.boolean().optional(),
  fan_in_fan_out: z.boolean().optional(),
  layers_to_transform: z.unknown().optional(),
  rank_pattern: z.record(z.string(), z.unknown()).optional(),
  alpha_pattern: z.record(z.string(), z.unknown()).optional(),
});

function targetsOf(raw: string[] | string, source: string): TargetName[] {
  // PEFT also allows a regex string; we accept only plain names or "all-linear".
  const names = typeof raw === 'string' ? (raw === 'all-linear' ? [...TARGET_NAMES] : [raw]) : raw;
  return names.map((n) => {
    if (!isTargetName(n)) throw new Error(`${source}: target module "${n}" is not one of ${TARGET_NAMES.join(', ')}`);
    return n;
  });
}

export function loadPeftAdapter(dir: string, config: ModelConfig): LoraAdapter {
  const cfgPath = join(dir, 'adapter_config.json');
  const parsed = adapterConfigSchema.safeParse(readJsonFile(cfgPath));
  if (!parsed.success) {
    const issue = at(parsed.error.issues, 0, `${cfgPath}: validation issues`);
    throw new Error(`${cfgPath}: invalid field "${issue.path.join('.')}": ${issue.message}`);
  }
  const c = parsed.data;
  for (const flag of ['use_rslora', 'use_dora', 'fan_in_fan_out'] as const) {
    if (c[flag]) throw new Error(`${cfgPath}: ${flag} is not supported`);
  }
  if (c.layers_to_transform != null) throw new Error(`${cfgPath}: layers_to_transform is not supported`);
  if (Object.keys(c.rank_pattern ?? {}).length || Object.keys(c.alpha_pattern ?? {}).length) {
    throw new Error(`${cfgPath}: rank_pattern and alpha_pattern are not supported`);
  }
  const filePath = join(dir, 'adapter_model.safetensors');
  const file = readSafetensors(filePath);
  const adapter = buildLora(config, { rank: c.r, alpha: c.lora_alpha, targets: targetsOf(c.target_modules, cfgPath) }, (l, t, which, shape) => {
    const key = peftKey(l, t, which);
    const data = file.tensors.get(key);
    if (!data) throw new Error(`${filePath}: missing tensor "${key}"`);
    const actual = got(file.shapes, key, `${filePath}: tensor shapes`);
    if (actual.length !== 2 || actual[0] !== shape[0] || actual[1] !== shape[1]) {
      throw new Error(`${filePath}: tensor "${key}" has shape [${actual}], expected [${shape}]`);
    }
    return data;
  });
  return adapter;
}

/** Every tensor of an adapter (or of its gradient) under its PEFT key. */
export function peftTensors(adapter: LoraAdapter): Map<string, TensorToWrite> {
  const out = new Map<string, TensorToWrite>();
  adapter.layers.forEach((layer, l) => {
    for (const t of adapter.targets) {
      const p = layerPair(layer, t, l);
      const r = adapter.rank;
      out.set(peftKey(l, t, 'A'), { data: p.A, shape: [r, p.A.length / r] });
      out.set(peftKey(l, t, 'B'), { data: p.B, shape: [p.B.length / r, r] });
    }
  });
  return out;
}

export function savePeftAdapter(dir: string, adapter: LoraAdapter, opts: { baseModel?: string; metadata?: Record<string, string> } = {}): void {
  if (loraTensors(adapter).some((x) => x.some((v) => !Number.isFinite(v)))) {
    throw new Error(`refusing to save adapter to ${dir}: it contains NaN or infinite values`);
  }
  mkdirSync(dir, { recursive: true });
  // PEFT applies lora_alpha / r; an adapter whose scale differs (a PLoRA subset) is saved with the alpha that keeps its product.
  const alpha = adapter.scale * adapter.rank;
  const config = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    r: adapter.rank,
    lora_alpha: alpha,
    target_modules: adapter.targets,
    lora_dropout: 0,
    bias: 'none',
    fan_in_fan_out: false,
    base_model_name_or_path: opts.baseModel ?? null,
    inference_mode: true,
  };
  writeSafetensors(join(dir, 'adapter_model.safetensors'), peftTensors(adapter), { metadata: { format: 'pt', ...opts.metadata } });
  writeFileSync(join(dir, 'adapter_config.json'), `${JSON.stringify(config, null, 2)}\n`);
}
