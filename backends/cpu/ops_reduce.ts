/**
 * The CPU backend's reductions (sum, max, argmax over any axes) and the
 * fused row softmax, log-softmax and cross-entropy. Sums of dense float32
 * views over a leading or trailing block of axes run on the Wasm kernels;
 * everything else walks the views with f64 accumulators.
 *
 * @module
 */
import type { BufferHandle, ReduceOp, TypedArray, View } from "../backend.ts";
import { contiguousStrides, numel } from "../layout.ts";
import { arr, denseKind, walk3, ZERO } from "./_strided.ts";
import { heapPtr, inHeap, MIN_SIMD_ELEMS } from "./_simd.ts";
import * as K from "./wasm/mod.ts";

/**
 * Reduces `x` over sorted, unique `axes` into contiguous `out`; `simd`
 * lets the Wasm kernels take the sums they cover.
 */
export function reduce(
  simd: boolean,
  op: ReduceOp,
  x: View,
  axes: readonly number[],
  out: BufferHandle,
): void {
  const xs = arr(x.buffer), o = arr(out);
  if (simd && trySum(op, x, axes, o)) return;
  const outShape = x.shape.map((s, d) => (axes.includes(d) ? 1 : s));
  const os = contiguousStrides(outShape).map((s, d) => axes.includes(d) ? 0 : s);
  const n = numel(outShape);
  if (op === "argmax") return argmax(x, axes[0], os, n, o);
  const acc = new Float64Array(n);
  if (op === "max") acc.fill(-Infinity);
  if (op === "sum" && denseKind(x) === 1 && n === 1) {
    let s = 0;
    const m = numel(x.shape);
    for (let i = 0; i < m; i++) s += xs[x.offset + i];
    o[0] = s;
    return;
  }
  if (op === "sum") {
    walk3(x.shape, x.strides, x.offset, os, 0, ZERO, 0, (p, q) => {
      acc[q] += xs[p];
    });
  } else {
    walk3(x.shape, x.strides, x.offset, os, 0, ZERO, 0, (p, q) => {
      const v = xs[p];
      if (v > acc[q] || v !== v) acc[q] = v;
    });
  }
  for (let i = 0; i < n; i++) o[i] = acc[i];
}

/**
 * Sums of a dense float32 view over a leading or trailing block of axes
 * (the full sum, row sums, column sums) on the Wasm kernels.
 */
function trySum(op: ReduceOp, x: View, axes: readonly number[], out: TypedArray): boolean {
  if (op !== "sum" || x.dtype !== "float32" || denseKind(x) !== 1) return false;
  const xs = x.buffer as Float32Array;
  const n = numel(x.shape);
  if (n < MIN_SIMD_ELEMS || !inHeap(xs) || !inHeap(out)) return false;
  const nd = x.shape.length, r = axes.length;
  const trailing = axes.every((d, i) => d === nd - r + i);
  const leading = axes.every((d, i) => d === i);
  const inner = numel(axes.map((d) => x.shape[d]));
  if (trailing) {
    if (r === nd) {
      (out as Float32Array)[0] = K.sum(heapPtr(xs, x.offset), n);
    } else K.rowSum(heapPtr(xs, x.offset), n / inner, inner, heapPtr(out, 0));
    return true;
  }
  if (leading) {
    K.colSum(heapPtr(xs, x.offset), inner, n / inner, heapPtr(out, 0));
    return true;
  }
  return false;
}

/**
 * Index of the first maximum along `axis` (a NaN wins, as PyTorch's);
 * `os` are the output strides with the reduced axis at 0.
 */
function argmax(
  x: View,
  axis: number,
  os: readonly number[],
  n: number,
  o: TypedArray,
): void {
  const xs = arr(x.buffer);
  const best = new Float64Array(n).fill(-Infinity);
  const seen = new Uint8Array(n);
  const len = x.shape[axis];
  // Position along `axis` of each visited element, from a running counter.
  const inner = numel(x.shape.slice(axis + 1));
  let i = 0;
  walk3(x.shape, x.strides, x.offset, os, 0, ZERO, 0, (p, q) => {
    const k = Math.floor(i++ / inner) % len;
    const v = xs[p];
    if (!seen[q] || v > best[q] || (v !== v && best[q] === best[q])) {
      best[q] = v;
      o[q] = k;
      seen[q] = 1;
    }
  });
}

/** A dense view's storage, offset, and its rows and columns (last axis). */
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

/**
 * {@link softmaxRow} for all r rows on the Wasm kernels (rows of at least
 * {@link MIN_SIMD_ELEMS} in the heap): the row maxima here, then `x − m`,
 * exp, the row sums and the division as one kernel call each over all rows
 * (split with the worker when large). Returns each row's log-sum-exp, or
 * null when the arrays are not in the heap.
 */
function softmaxRowsSimd(
  xs: Float32Array,
  off: number,
  r: number,
  c: number,
  o: Float32Array,
): Float64Array | null {
  if (c < MIN_SIMD_ELEMS || r === 0 || !inHeap(xs) || !inHeap(o)) return null;
  const mp = K.alloc(r * 4), m = K.f32view(mp, r);
  try {
    const lse = new Float64Array(r);
    for (let i = 0; i < r; i++) {
      let mx = -Infinity;
      const base = off + i * c;
      for (let j = 0; j < c; j++) {
        const v = xs[base + j];
        if (v > mx || v !== v) mx = v;
      }
      m[i] = mx;
      lse[i] = mx;
    }
    const walk = { dims: [r], sx: [c], sy: [1], so: [c] };
    const op = heapPtr(o, 0);
    K.rows("sub", "vp", heapPtr(xs, off), mp, op, c, walk);
    K.rows("exp", "v", op, 0, op, c, walk);
    K.rowSum(op, r, c, mp);
    for (let i = 0; i < r; i++) lse[i] += Math.log(m[i]);
    K.rows("div", "vp", op, mp, op, c, walk);
    return lse;
  } finally {
    K.free(mp);
  }
}

/** Row softmax of a dense view over its last axis, max-shifted. */
export function softmax(x: View, out: BufferHandle): void {
  const [xs, off, r, c] = rows(x), o = out as Float32Array;
  if (softmaxRowsSimd(xs, off, r, c, o)) return;
  for (let i = 0; i < r; i++) softmaxRow(xs, off + i * c, o, i * c, c);
}

/** Row log-softmax of a dense view over its last axis: x − m − log Σe^(x−m). */
export function logSoftmax(x: View, out: BufferHandle): void {
  const [xs, off, r, c] = rows(x), o = out as Float32Array;
  for (let i = 0; i < r; i++) {
    const base = off + i * c, ob = i * c;
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, xs[base + j]);
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(xs[base + j] - m);
    // (x − m) − log s, not x − (m + log s): with |m| ≫ log s the sum
    // would round log s away (PyTorch's order).
    const ls = Math.log(s);
    for (let j = 0; j < c; j++) o[ob + j] = xs[base + j] - m - ls;
  }
}

/** Row-wise cross-entropy with softmax probabilities (see FusedOps). */
export function crossEntropy(
  x: View,
  targets: View,
  losses: BufferHandle,
  probs: BufferHandle,
): void {
  const [xs, off, r, c] = rows(x);
  const p = probs as Float32Array, l = losses as Float32Array;
  const ts = targets.buffer as Int32Array, tst = targets.strides[0] ?? 0;
  const all = softmaxRowsSimd(xs, off, r, c, p);
  for (let i = 0; i < r; i++) {
    const lse = all ? all[i] : softmaxRow(xs, off + i * c, p, i * c, c);
    const t = ts[targets.offset + i * tst];
    l[i] = t >= 0 && t < c ? lse - xs[off + i * c + t] : NaN;
  }
}
