/**
 * The CPU backend's fused fast paths in plain TypeScript. Each matches the
 * composed primitives' numbers (tests hold them together).
 *
 * @module
 */
import type { AdamArgs, View } from "../backend.ts";
import { gemmScalar } from "./_kernels.ts";
import { type GemmCall, type GemmOutput, operandOf } from "./gemm_call.ts";
import { numel } from "../layout.ts";

/** out[M,N] = x[M,K]·W[N,K]ᵀ + b[N] (the product rounded, then the bias added). */
export function linearScalar(
  x: View,
  w: View,
  b: View | null,
  out: Float32Array,
): void {
  const [M, K] = x.shape, N = w.shape[0];
  gemmScalar({
    M,
    N,
    K,
    a: operandOf(x),
    b: operandOf(w, true),
    c: { data: out, offset: 0, ld: N },
    accumulate: false,
  });
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
 * The LoRA linear: out = x·Wᵀ + b + s·(x·Aᵀ)·Bᵀ, down = x·Aᵀ, as three
 * GEMM calls through `gemm` (the SIMD one, or the scalar loops);
 * `scaledDown` [M, r] is scratch for s·down.
 */
export function loraLinearWith(
  gemm: (call: GemmCall) => void,
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
  const xa = operandOf(x);
  gemm({ M, N: r, K, a: xa, b: operandOf(a, true), c: rowMajor(down, r), accumulate: false });
  if (b) {
    const bs = b.buffer as Float32Array, st = b.strides[0];
    for (let j = 0; j < N; j++) out[j] = bs[b.offset + j * st];
    for (let i = 1; i < M; i++) out.copyWithin(i * N, 0, N);
  }
  const o = rowMajor(out, N);
  gemm({ M, N, K, a: xa, b: operandOf(w, true), c: o, accumulate: b !== null });
  for (let i = 0; i < M * r; i++) scaledDown[i] = down[i] * scaling;
  const sd = { data: scaledDown, offset: 0, rowStride: r, colStride: 1 };
  gemm({ M, N, K: r, a: sd, b: operandOf(bUp, true), c: o, accumulate: true });
}

/** A dense row-major output of `cols` columns from element 0. */
function rowMajor(data: Float32Array, cols: number): GemmOutput<Float32Array> {
  return { data, offset: 0, ld: cols };
}
