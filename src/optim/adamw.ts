/**
 * AdamW over a list of parameter tensors, each with its gradient. State
 * (first and second moments, step) lives here and only for trainable
 * tensors, so a frozen base model costs no optimizer memory.
 */
import type { Kernels } from '../kernels/kernels.js';
import { at } from '../util/checked.js';

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const DEFAULT_ADAMW: AdamWOptions = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

export interface Parameter {
  value: Float32Array;
  grad: Float32Array;
  /** weight decay applies to matrices, not to norms and biases */
  decay: boolean;
}

export interface AdamW {
  options: AdamWOptions;
  step: number;
  m: Float32Array[];
  v: Float32Array[];
  /** one update with the given learning rate (defaults to options.lr) */
  update(lr?: number): void;
}

export function createAdamW(k: Kernels, params: Parameter[], options: Partial<AdamWOptions> = {}): AdamW {
  const opts = { ...DEFAULT_ADAMW, ...options };
  const m = params.map((p) => new Float32Array(p.value.length));
  const v = params.map((p) => new Float32Array(p.value.length));
  const state: AdamW = {
    options: opts,
    step: 0,
    m,
    v,
    update(lr = opts.lr) {
      state.step++;
      params.forEach((p, i) => {
        const mi = at(m, i, 'first moments');
        const vi = at(v, i, 'second moments');
        k.adamw(p.value, p.grad, mi, vi, p.value.length, lr, opts.beta1, opts.beta2, opts.eps, p.decay ? opts.weightDecay : 0, state.step);
      });
    },
  };
  return state;
}
