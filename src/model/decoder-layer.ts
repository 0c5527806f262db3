/**
 * One LLaMA decoder layer, forward and backward side by side:
 *   mid = x + o(attention(rope(q(norm1 x)), rope(k(norm1 x)), v(norm1 x)))
 *   out = mid + down(silu(gate(norm2 mid)) * up(norm2 mid))
 */
import type { Kernels } from '../kernels/kernels.js';
import type { LoraAdapter } from '../adapters/lora.js';
import { linearBackward, linearForward, type LinearGrads, type LoraBranch } from '../layers/linear.js';
import type { ModelConfig } from './config.js';
import type { BackwardScratch, LayerActivations } from './activations.js';
import type { LayerWeights, ModelWeights, TargetName } from './weights.js';

export interface LayerContext {
  k: Kernels;
  config: ModelConfig;
  B: number;
  T: number;
  cos: Float32Array; // (T, D/2)
  sin: Float32Array; // (T, D/2)
}

export interface LayerGradTargets {
  /** full-parameter gradients of this layer, or null when the base is frozen */
  weights: LayerWeights | null;
  /** LoRA gradients of this layer, or null when the adapter is frozen */
  lora: LoraAdapter['layers'][number] | null;
}

function branch(lora: LoraAdapter | null, layer: number, t: TargetName): LoraBranch | null {
  const pair = lora?.layers[layer]?.[t];
  return pair ? { pair, rank: lora!.rank, scale: lora!.scale } : null;
}

function linearGrads(g: LayerGradTargets, t: TargetName): LinearGrads {
  const p = g.weights?.proj[t];
  return { weight: p?.weight ?? null, bias: p?.bias ?? null, lora: g.lora?.[t] ?? null };
}

// x (N,C) in, out (N,C); out may not alias x
export function layerForward(
  ctx: LayerContext, out: Float32Array, a: LayerActivations, x: Float32Array,
  w: LayerWeights, lora: LoraAdapter | null, l: number,
): void {
  const { k, config: c, B, T } = ctx;
  const N = B * T;
  const C = c.hiddenSize;
  const H = c.numHeads;
  const G = c.numKVHeads;
  const D = c.headDim;
  const h = a.loraHidden;
  k.rmsnormForward(a.ln1, a.rstd1, x, w.inputNorm, N, C, c.rmsNormEps);
  linearForward(k, a.q, h.q_proj ?? null, a.ln1, w.proj.q_proj, branch(lora, l, 'q_proj'), N);
  linearForward(k, a.k, h.k_proj ?? null, a.ln1, w.proj.k_proj, branch(lora, l, 'k_proj'), N);
  linearForward(k, a.v, h.v_proj ?? null, a.ln1, w.proj.v_proj, branch(lora, l, 'v_proj'), N);
  k.ropeForward(a.q, a.q, ctx.cos, ctx.sin, B, T, H, D);
  k.ropeForward(a.k, a.k, ctx.cos, ctx.sin, B, T, G, D);
  k.attentionForward(a.attnOut, a.att, a.q, a.k, a.v, B, T, H, G, D);
  // out holds o(attn) for a moment before becoming the layer output
  linearForward(k, out, h.o_proj ?? null, a.attnOut, w.proj.o_proj, branch(lora, l, 'o_proj'), N);
  k.add(a.mid, x, out, N * C);
  k.rmsnormForward(a.ln2, a.rstd2, a.mid, w.postNorm, N, C, c.rmsNormEps);
  linearForward(k, a.gate, h.gate_proj ?? null, a.ln2, w.proj.gate_proj, branch(lora, l, 'gate_proj'), N);
  linearForward(k, a.up, h.up_proj ?? null, a.ln2, w.proj.up_proj, branch(lora, l, 'up_proj'), N);
  k.swigluForward(a.act, a.gate, a.up, N * c.intermediateSize);
  linearForward(k, out, h.down_proj ?? null, a.act, w.proj.down_proj, branch(lora, l, 'down_proj'), N);
  k.add(out, a.mid, out, N * C);
}

/**
 * s.dx holds d(out) on entry and d(x) on return (when needInputGrad; the
 * first layer of a frozen embedding skips it).
 */
export function layerBackward(
  ctx: LayerContext, g: LayerGradTargets, s: BackwardScratch, a: LayerActivations, x: Float32Array,
  w: LayerWeights, lora: LoraAdapter | null, l: number, needInputGrad: boolean,
): void {
  const { k, config: c, B, T } = ctx;
  const N = B * T;
  const C = c.hiddenSize;
  const H = c.numHeads;
  const G = c.numKVHeads;
  const D = c.headDim;
  const h = a.loraHidden;
  const dh = s.dh;

  // ln1, ln2 and act are shared between layers in training: rebuild this layer's.
  k.rmsnormForward(a.ln2, a.rstd2, a.mid, w.postNorm, N, C, c.rmsNormEps);
  k.swigluForward(a.act, a.gate, a.up, N * c.intermediateSize);

  // MLP: out = mid + down(act); the residual passes s.dx through unchanged.
  s.dact.fill(0);
  linearBackward(k, s.dact, linearGrads(g, 'down_proj'), dh, s.dx, a.act, h.down_proj ?? null, w.proj.down_proj, branch(lora, l, 'down_proj'), N);
  s.dgate.fill(0);
  s.dup.fill(0);
  k.swigluBackward(s.dgate, s.dup, s.dact, a.gate, a.up, N * c.intermediateSize);
  s.dln.fill(0);
  linearBackward(k, s.dln, linearGrads(g, 'gate_proj'), dh, s.dgate, a.ln2, h.gate_proj ?? null, w.proj.gate_proj, branch(lora, l, 'gate_proj'), N);
  linearBackward(k, s.dln, linearGrads(g, 'up_proj'), dh, s.dup, a.ln2, h.up_proj ?? null, w.proj.up_proj, branch(lora, l, 'up_proj'), N);
  k.rmsnormBackward(s.dx, g.weights?.postNorm ?? null, s.dln, a.mid, w.postNorm, a.rstd2, N, C);

  // Attention: mid = x + o(attn); s.dx is now d(mid).
  s.dAttnOut.fill(0);
  linearBackward(k, s.dAttnOut, linearGrads(g, 'o_proj'), dh, s.dx, a.attnOut, h.o_proj ?? null, w.proj.o_proj, branch(lora, l, 'o_proj'), N);
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
  const dln = needInputGrad || normGrad ? s.dln.fill(0) : null;
  linearBackward(k, dln, linearGrads(g, 'q_proj'), dh, s.dq, a.ln1, h.q_proj ?? null, w.proj.q_proj, branch(lora, l, 'q_proj'), N);
  linearBackward(k, dln, linearGrads(g, 'k_proj'), dh, s.dk, a.ln1, h.k_proj ?? null, w.proj.k_proj, branch(lora, l, 'k_proj'), N);
  linearBackward(k, dln, linearGrads(g, 'v_proj'), dh, s.dv, a.ln1, h.v_proj ?? null, w.proj.v_proj, branch(lora, l, 'v_proj'), N);
  if (dln) {
    // With needInputGrad false only the norm's weight gradient is wanted; dx is discarded.
    k.rmsnormBackward(s.dx, normGrad, dln, x, w.inputNorm, a.rstd1, N, C);
  }
}

export function layerGradTargets(grads: { weights: ModelWeights | null; lora: LoraAdapter | null }, l: number): LayerGradTargets {
  return { weights: grads.weights?.layers[l] ?? null, lora: grads.lora?.layers[l] ?? null };
}
