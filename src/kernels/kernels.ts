/**
 * The narrow compute interface every layer is written against.
 *
 * Legend for shape comments: N = rows (tokens, B*T), C = channels, V = vocab,
 * B = batch, T = sequence, H = query heads, G = key/value heads, D = head dim,
 * I = MLP intermediate size. All tensors are row-major fp32 (ids and targets
 * are int32). Arguments follow llm.c's order: outputs first, then saved
 * values, then inputs, then weights, then sizes.
 *
 * Backward kernels ACCUMULATE (+=) into their gradient outputs, so a tensor
 * that feeds two consumers (the residual stream, a shared normed input) gets
 * the sum without extra buffers. The one exception is crossEntropyBackward,
 * which overwrites so that dlogits may alias logits (saving a V-wide buffer).
 */
export interface Kernels {
  readonly name: 'native' | 'js';

  /**
   * c (m,n) = alpha * op(a) @ op(b) + beta * c, where op(a) is (m,k) and
   * op(b) is (k,n). With transA, `a` is stored (k,m); with transB, `b` is
   * stored (n,k). All three are contiguous.
   */
  matmul(
    c: Float32Array,
    a: Float32Array,
    b: Float32Array,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    alpha: number,
    beta: number,
  ): void;

  /**
   * c (m,n) = alpha * bf16(a) @ op(w) + beta * c against a frozen bf16
   * weight: w holds bfloat16 bits, stored (n,k) with transW (the forward
   * y = x W^T of a weight W (out,in)) or (k,n) without (the input gradient
   * dx = dy W). a is rounded to bf16 (to nearest, ties to even) and the
   * products are summed in fp32 (in double by the reference).
   */
  matmulBf16(c: Float32Array, a: Float32Array, w: Uint16Array, m: number, n: number, k: number, transW: boolean, alpha: number, beta: number): void;
  /**
   * The same against an int8 weight q, W = scale[row] * q per output channel
   * (row of W): scale is (n) with transW, (k) without. In the forward the
   * scale multiplies the product's columns; in the input gradient it
   * multiplies a's columns before a is rounded to bf16.
   */
  matmulInt8(
    c: Float32Array,
    a: Float32Array,
    q: Int8Array,
    scale: Float32Array,
    m: number,
    n: number,
    k: number,
    transW: boolean,
    alpha: number,
    beta: number,
  ): void;

  /** out (N,C) = inp[ids] ; table is (V,C) */
  embeddingForward(out: Float32Array, ids: Int32Array, table: Float32Array, N: number, C: number): void;
  /** dtable (V,C) += scatter of dout (N,C) by ids */
  embeddingBackward(dtable: Float32Array, dout: Float32Array, ids: Int32Array, N: number, C: number): void;

  /** out (N,C) = inp / rms(inp) * weight ; rstd (N) saved */
  rmsnormForward(out: Float32Array, rstd: Float32Array, inp: Float32Array, weight: Float32Array, N: number, C: number, eps: number): void;
  /** dinp (N,C) += ..., dweight (C) += ... (skipped when null) */
  rmsnormBackward(
    dinp: Float32Array,
    dweight: Float32Array | null,
    dout: Float32Array,
    inp: Float32Array,
    weight: Float32Array,
    rstd: Float32Array,
    N: number,
    C: number,
  ): void;

  /**
   * Rotary embedding, Hugging Face rotate-half convention, in place allowed.
   * x is (B,T,nHeads,D); cos and sin are (T,D/2) for the positions of this
   * call (the caller slices the tables for an offset).
   */
  ropeForward(out: Float32Array, inp: Float32Array, cos: Float32Array, sin: Float32Array, B: number, T: number, nHeads: number, D: number): void;
  /** dinp += rotation by -angle of dout */
  ropeBackward(dinp: Float32Array, dout: Float32Array, cos: Float32Array, sin: Float32Array, B: number, T: number, nHeads: number, D: number): void;

  /**
   * Causal grouped-query attention with scale 1/sqrt(D).
   * q (B,T,H,D), k and v (B,T,G,D) with H a multiple of G; out (B,T,H,D);
   * att (B,H,T,T) saves the softmax probabilities (upper triangle zero).
   */
  attentionForward(
    out: Float32Array,
    att: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    B: number,
    T: number,
    H: number,
    G: number,
    D: number,
  ): void;
  attentionBackward(
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    dout: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    att: Float32Array,
    B: number,
    T: number,
    H: number,
    G: number,
    D: number,
  ): void;

  /** out (N) = silu(gate) * up, elementwise over n values */
  swigluForward(out: Float32Array, gate: Float32Array, up: Float32Array, n: number): void;
  swigluBackward(dgate: Float32Array, dup: Float32Array, dout: Float32Array, gate: Float32Array, up: Float32Array, n: number): void;

  /**
   * losses (N) = -log softmax(logits (N,V))[target]; 0 where target < 0.
   */
  crossEntropyForward(losses: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number): void;
  /**
   * dlogits (N,V) = (softmax(logits) - onehot(target)) * dlosses[row];
   * a row with target < 0 gets zeros. Overwrites; dlogits may alias logits.
   */
  crossEntropyBackward(dlogits: Float32Array, logits: Float32Array, targets: Int32Array, dlosses: Float32Array, N: number, V: number): void;

  /** out = a + b, elementwise; out may alias a or b */
  add(out: Float32Array, a: Float32Array, b: Float32Array, n: number): void;
  /** sum of squares of x, accumulated in double */
  sumSquares(x: Float32Array, n: number): number;
  /** x *= s */
  scale(x: Float32Array, s: number, n: number): void;

  /**
   * Decoupled-weight-decay Adam with bias correction (Loshchilov & Hutter):
   * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
   * p -= lr * (mhat / (sqrt(vhat) + eps) + weightDecay * p). step counts from 1.
   */
  adamw(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
  ): void;
}
