/**
 * The CPU backend's fused fast paths in plain TypeScript. Each matches the
 * composed primitives' numbers (tests hold them together).
 *
 * @module
 */
import type { AdamArgs, View } from "../backend.ts";
import { matmulScalar } from "./_kernels.ts";
import { numel } from "../layout.ts";

let scratch = new Float32Array(0);

/** out[M,N] = x[M,K]·W[N,K]ᵀ + b[N]. */
export function linearScalar(
  x: View,
  w: View,
  b: View | null,
  out: Float32Array,
): void {
  const [M, K] = x.shape, N = w.shape[0];
  if (scratch.length < K * N) scratch = new Float32Array(K * N);
  matmulScalar(
    M,
    N,
    K,
    x.buffer as Float32Array,
    x.offset,
    x.strides[0],
    x.strides[1],
    // Wᵀ is W read with its strides swapped: no transposed copy.
    w.buffer as Float32Array,
    w.offset,
    w.strides[1],
    w.strides[0],
    out,
    0,
    scratch,
  );
  if (!b) return;
  const bs = b.buffer as Float32Array, st = b.strides[0];
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) out[i * N + j] += bs[b.offset + j * st];
  }
}

function rows(x: View): [Float32Array, number, number, number] {
  const cols = x.shape[x.shape.length - 1];
  const n = numel(x.shape);
  return [x.buffer as Float32Array, x.offset, n / cols, cols];
}

/**
 * Writes softmax(xs[base..base+c)) to out[ob..ob+c), max-shifted; returns
 * the row's log-sum-exp (its log-softmax offset).
 */
function softmaxRow(xs: Float32Array, base: number, out: Float32Array, ob: number, c: number) {
  let m = -Infinity;
  for (let j = 0; j < c; j++) m = Math.max(m, xs[base + j]);
  let s = 0;
  for (let j = 0; j < c; j++) {
    const e = Math.exp(xs[base + j] - m);
    out[ob + j] = e;
    s += e;
  }
  for (let j = 0; j < c; j++) out[ob + j] /= s;
  return m + Math.log(s);
}

/** Row softmax of a dense view over its last axis, max-shifted. */
export function softmaxRows(x: View, out: Float32Array): void {
  const [xs, off, r, c] = rows(x);
  for (let i = 0; i < r; i++) softmaxRow(xs, off + i * c, out, i * c, c);
}

/** Row log-softmax of a dense view over its last axis: x − m − log Σe^(x−m). */
export function logSoftmaxRows(x: View, out: Float32Array): void {
  const [xs, off, r, c] = rows(x);
  for (let i = 0; i < r; i++) {
    const base = off + i * c, ob = i * c;
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, xs[base + j]);
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(xs[base + j] - m);
    // (x − m) − log s, not x − (m + log s): with |m| ≫ log s the sum
    // would round log s away (PyTorch's order).
    const ls = Math.log(s);
    for (let j = 0; j < c; j++) out[ob + j] = xs[base + j] - m - ls;
  }
}

/** PyTorch's single-tensor Adam/AdamW step, in place. */
export function adamScalar(
  p: Float32Array,
  grad: View,
  m: Float32Array,
  v: Float32Array,
  n: number,
  a: AdamArgs,
): void {
  const g = grad.buffer as Float32Array, go = grad.offset;
  const { beta1, beta2, eps, weightDecay } = a;
  const step = a.lr / a.bias1, sq2 = Math.sqrt(a.bias2);
  const decay = 1 - a.lr * a.decoupledDecay;
  for (let i = 0; i < n; i++) {
    const gi = weightDecay !== 0 ? g[go + i] + weightDecay * p[i] : g[go + i];
    m[i] = Math.fround(beta1 * m[i] + (1 - beta1) * gi);
    v[i] = Math.fround(beta2 * v[i] + (1 - beta2) * gi * gi);
    const pi = decay !== 1 ? Math.fround(p[i] * decay) : p[i];
    const denom = Math.fround(Math.fround(Math.sqrt(v[i]) / sq2) + eps);
    p[i] = pi - step * (m[i] / denom);
  }
}

/** Row-wise cross-entropy with softmax probabilities (see FusedOps). */
export function crossEntropyRows(
  x: View,
  targets: View,
  losses: Float32Array,
  probs: Float32Array,
): void {
  const [xs, off, r, c] = rows(x);
  const ts = targets.buffer as Int32Array, tst = targets.strides[0] ?? 0;
  for (let i = 0; i < r; i++) {
    const lse = softmaxRow(xs, off + i * c, probs, i * c, c);
    const t = ts[targets.offset + i * tst];
    losses[i] = t >= 0 && t < c ? lse - xs[off + i * c + t] : NaN;
  }
}

/**
 * The LoRA linear in plain loops: out = x·Wᵀ + b + s·(x·Aᵀ)·Bᵀ, down = x·Aᵀ.
 * `gemm(M, N, K, A, rsA, csA, B, rsB, csB, C, accumulate)` is the matmul to
 * use (the SIMD one, or the scalar loops).
 */
export function loraLinearWith(
  gemm: Gemm,
  x: View,
  w: View,
  b: View | null,
  a: View,
  bUp: View,
  scaling: number,
  out: Float32Array,
  down: Float32Array,
  scaledDown: Float32Array,
): void {
  const [M, K] = x.shape, N = w.shape[0], r = a.shape[0];
  const xs = x.buffer as Float32Array, [rsX, csX] = x.strides;
  gemm(M, r, K, xs, x.offset, rsX, csX, a, true, down, false);
  if (b) {
    const bs = b.buffer as Float32Array, st = b.strides[0];
    for (let j = 0; j < N; j++) out[j] = bs[b.offset + j * st];
    for (let i = 1; i < M; i++) out.copyWithin(i * N, 0, N);
  }
  gemm(M, N, K, xs, x.offset, rsX, csX, w, true, out, b !== null);
  for (let i = 0; i < M * r; i++) scaledDown[i] = down[i] * scaling;
  gemm(M, N, r, scaledDown, 0, r, 1, bUp, true, out, true);
}

/**
 * C[M,N] (+)= A·op(B) where op(B) is B's view read transposed when
 * `transposeB` (so a weight [N, K] serves as [K, N] without a copy).
 */
export type Gemm = (
  M: number,
  N: number,
  K: number,
  a: Float32Array,
  oa: number,
  rsA: number,
  csA: number,
  b: View,
  transposeB: boolean,
  c: Float32Array,
  accumulate: boolean,
) => void;

/** The scalar-loop {@link Gemm}. */
export const gemmScalar: Gemm = (M, N, K, a, oa, rsA, csA, b, tB, c, acc) => {
  if (scratch.length < K * N) scratch = new Float32Array(K * N);
  const [r0, r1] = b.strides;
  const rsB = tB ? r1 : r0, csB = tB ? r0 : r1;
  const bs = b.buffer as Float32Array;
  if (!acc) {
    matmulScalar(M, N, K, a, oa, rsA, csA, bs, b.offset, rsB, csB, c, 0, scratch);
    return;
  }
  const tmp = new Float32Array(M * N);
  matmulScalar(M, N, K, a, oa, rsA, csA, bs, b.offset, rsB, csB, tmp, 0, scratch);
  for (let i = 0; i < M * N; i++) c[i] += tmp[i];
};
