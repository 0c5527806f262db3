/**
 * One LLaMA decoder layer, forward and backward side by side:
 *   mid = x + o(attention(rope(q(norm1 x)), rope(k(norm1 x)), v(norm1 x)))
 *   out = mid + down(silu(gate(norm2 mid)) * up(norm2 mid))
 */
import type { Kernels } from '../kernels/kernels.js';
import { at, defined } from '../util/checked.js';
import type { BackwardScratch, LayerActivations } from './decoder-activations.js';
import { linearBackward, linearForward } from './linear.js';
import type { LoraAdapter } from './lora-branch.js';
import { boundGroups, loraBackward, loraForward } from './lora-groups.js';
import { SHARED_INPUT_GROUPS, type DecoderShape, type LayerWeights, type TargetName } from './projections.js';

export interface LayerContext {
  k: Kernels;
  config: DecoderShape;
  B: number;
  T: number;
  cos: Float32Array; // (T, D/2)
  sin: Float32Array; // (T, D/2)
  /** replaces causal self-attention within the block, e.g. attention over a KV cache in generation */
  attend?: (layer: number, a: LayerActivations) => void;
}

export interface LayerGradTargets {
  /** full-parameter gradients of this layer, or null when the base is frozen */
  weights: LayerWeights | null;
  /** LoRA gradients of the whole adapter, or null when it is frozen */
  lora: LoraAdapter | null;
}

type Outputs = Partial<Record<TargetName, Float32Array>>;

/** Indices of the shared-input sets in SHARED_INPUT_GROUPS. */
const ATTN_IN = 0;
const ATTN_OUT = 1;
const MLP_IN = 2;
const MLP_OUT = 3;
type SetIndex = typeof ATTN_IN | typeof ATTN_OUT | typeof MLP_IN | typeof MLP_OUT;

/** The LoRA hidden values of one shared-input set among a layer's saved activations. */
function hiddenOf(a: LayerActivations, set: SetIndex): Float32Array {
  return at(a.loraHidden, set, 'LoRA hidden values of shared-input set');
}

/** Projections of one shared-input set (index into SHARED_INPUT_GROUPS) and their LoRA branches. */
function projectForward(
  ctx: LayerContext,
  set: SetIndex,
  ys: Outputs,
  x: Float32Array,
  h: Float32Array,
  w: LayerWeights,
  lora: LoraAdapter | null,
  l: number,
): void {
  const N = ctx.B * ctx.T;
  const members = SHARED_INPUT_GROUPS[set];
  for (const t of members) linearForward(ctx.k, defined(ys[t], `output of ${t}`), x, w.proj[t], N);
  const groups = boundGroups(lora, null, l, members, (t) => w.proj[t].outFeatures);
  loraForward(ctx.k, groups, ys, h, x, N, w.proj[members[0]].inFeatures);
}

/**
 * dx = input gradient of the set (when dx is given; its old contents are
 * ignored); weight, bias and adapter gradients accumulate.
 */
function projectBackward(
  ctx: LayerContext,
  set: SetIndex,
  g: LayerGradTargets,
  dhT: Float32Array,
  dx: Float32Array | null,
  dys: Outputs,
  x: Float32Array,
  h: Float32Array,
  w: LayerWeights,
  lora: LoraAdapter | null,
  l: number,
): void {
  const N = ctx.B * ctx.T;
  const members = SHARED_INPUT_GROUPS[set];
  members.forEach((t, i) => {
    const gw = g.weights?.proj[t];
    linearBackward(ctx.k, dx, gw?.weight ?? null, gw?.bias ?? null, defined(dys[t], `output gradient of ${t}`), x, w.proj[t], N, i === 0);
  });
  const groups = boundGroups(lora, g.lora, l, members, (t) => w.proj[t].outFeatures);
  loraBackward(ctx.k, groups, dx, dhT, dys, h, x, N, w.proj[members[0]].inFeatures);
}

// x (N,C) in, out (N,C); out may not alias x
export function layerForward(
  ctx: LayerContext,
  out: Float32Array,
  a: LayerActivations,
  x: Float32Array,
  w: LayerWeights,
  lora: LoraAdapter | null,
  l: number,
): void {
  const { k, config: c, B, T } = ctx;
  const N = B * T;
  const C = c.hiddenSize;
  const H = c.numHeads;
  const G = c.numKVHeads;
  const D = c.headDim;
  k.rmsnormForward(a.ln1, a.rstd1, x, w.inputNorm, N, C, c.rmsNormEps);
  projectForward(ctx, ATTN_IN, { q_proj: a.q, k_proj: a.k, v_proj: a.v }, a.ln1, hiddenOf(a, ATTN_IN), w, lora, l);
  k.ropeForward(a.q, a.q, ctx.cos, ctx.sin, B, T, H, D);
  k.ropeForward(a.k, a.k, ctx.cos, ctx.sin, B, T, G, D);
  if (ctx.attend) ctx.attend(l, a);
  else k.attentionForward(a.attnOut, a.att, a.q, a.k, a.v, B, T, H, G, D);
  // out holds o(attn) for a moment before becoming the layer output
  projectForward(ctx, ATTN_OUT, { o_proj: out }, a.attnOut, hiddenOf(a, ATTN_OUT), w, lora, l);
  k.add(a.mid, x, out, N * C);
  k.rmsnormForward(a.ln2, a.rstd2, a.mid, w.postNorm, N, C, c.rmsNormEps);
  projectForward(ctx, MLP_IN, { gate_proj: a.gate, up_proj: a.up }, a.ln2, hiddenOf(a, MLP_IN), w, lora, l);
  k.swigluForward(a.act, a.gate, a.up, N * c.intermediateSize);
  projectForward(ctx, MLP_OUT, { down_proj: out }, a.act, hiddenOf(a, MLP_OUT), w, lora, l);
  k.add(out, a.mid, out, N * C);
}

/**
 * s.dx holds d(out) on entry and d(x) on return (when needInputGrad; the
 * first layer of a frozen embedding skips it).
 */
export function layerBackward(
  ctx: LayerContext,
  g: LayerGradTargets,
  s: BackwardScratch,
  a: LayerActivations,
  x: Float32Array,
  w: LayerWeights,
  lora: LoraAdapter | null,
  l: number,
  needInputGrad: boolean,
): void {
  const { k, config: c, B, T } = ctx;
  const N = B * T;
  const C = c.hiddenSize;
  const H = c.numHeads;
  const G = c.numKVHeads;
  const D = c.headDim;

  // ln1, ln2 and act are shared between layers in training: rebuild this layer's.
  k.rmsnormForward(a.ln2, a.rstd2, a.mid, w.postNorm, N, C, c.rmsNormEps);
  k.swigluForward(a.act, a.gate, a.up, N * c.intermediateSize);

  // MLP: out = mid + down(act); the residual passes s.dx through unchanged.
  projectBackward(ctx, MLP_OUT, g, s.dh, s.dact, { down_proj: s.dx }, a.act, hiddenOf(a, MLP_OUT), w, lora, l);
  s.dgate.fill(0);
  s.dup.fill(0);
  k.swigluBackward(s.dgate, s.dup, s.dact, a.gate, a.up, N * c.intermediateSize);
  projectBackward(ctx, MLP_IN, g, s.dh, s.dln, { gate_proj: s.dgate, up_proj: s.dup }, a.ln2, hiddenOf(a, MLP_IN), w, lora, l);
  k.rmsnormBackward(s.dx, g.weights?.postNorm ?? null, s.dln, a.mid, w.postNorm, a.rstd2, N, C);

  // Attention: mid = x + o(attn); s.dx is now d(mid).
  projectBackward(ctx, ATTN_OUT, g, s.dh, s.dAttnOut, { o_proj: s.dx }, a.attnOut, hiddenOf(a, ATTN_OUT), w, lora, l);
  s.dqRot.fill(0);
  s.dkRot.fill(0);
  s.dv.fill(0);
  k.attentionBackward(s.dqRot, s.dkRot, s.dv, s.dAttnOut, a.q, a.k, a.v, a.att, B, T, H, G, D);
  s.dq.fill(0);
  s.dk.fill(0);
  k.ropeBackward(s.dq, s.dqRot, ctx.cos, ctx.sin, B, T, H, D);
  k.ropeBackward(s.dk, s.dkRot, ctx.cos, ctx.sin, B, T, G, D);
  k.rmsnormForward(a.ln1, a.rstd1, x, w.inputNorm, N, C, c.rmsNormEps);
  const normGrad = g.weights?.inputNorm ?? null;
  const dln = needInputGrad || normGrad ? s.dln : null;
  projectBackward(ctx, ATTN_IN, g, s.dh, dln, { q_proj: s.dq, k_proj: s.dk, v_proj: s.dv }, a.ln1, hiddenOf(a, ATTN_IN), w, lora, l);
  if (dln) {
    // With needInputGrad false only the norm's weight gradient is wanted; dx is discarded.
    k.rmsnormBackward(s.dx, normGrad, dln, x, w.inputNorm, a.rstd1, N, C);
  }
}
