/**
 * Plain TypeScript loops over strided views: the CPU backend's portable
 * path, and the reference the SIMD paths are held to.
 *
 * @module
 */
import type { BinaryOp, TypedArray, UnaryOp, View } from "../backend.ts";
import { gelu, geluGrad, sigmoid } from "./_scalar_math.ts";
import { isContiguous, numel } from "../layout.ts";
import type { GemmCall } from "./gemm_call.ts";

type Fn1 = (x: number) => number;
type Fn2 = (x: number, y: number) => number;

/** Scalar form of every unary op. */
export const UNARY: Record<UnaryOp, Fn1> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  relu: (x) => (x <= 0 ? 0 : x),
  tanh: Math.tanh,
  sigmoid,
  gelu,
  geluGrad,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
};

/** Scalar form of every binary op. */
export const BINARY: Record<BinaryOp, Fn2> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  pow: Math.pow,
  // `+(x > y)` compiles branch-free: a data-dependent ?: mispredicts.
  eq: (x, y) => +(x === y),
  lt: (x, y) => +(x < y),
  gt: (x, y) => +(x > y),
};

/** 1 if the view is dense row-major, 0 if every stride is 0, else -1. */
export function denseKind(v: View): number {
  if (isContiguous(v.shape, v.strides)) return 1;
  return v.shape.every((s, i) => s === 1 || v.strides[i] === 0) ? 0 : -1;
}

/** Integer multiply that wraps like int32 instead of rounding. */
export const INT_MUL: Fn2 = Math.imul;

/**
 * Walks every index of `shape` in row-major order, calling `body` with the
 * storage position of each of up to three strided operands.
 */
export function walk3(
  shape: readonly number[],
  s0: readonly number[],
  o0: number,
  s1: readonly number[],
  o1: number,
  s2: readonly number[],
  o2: number,
  body: (p0: number, p1: number, p2: number) => void,
): void {
  const nd = shape.length;
  const total = numel(shape);
  if (total === 0) return;
  if (nd === 0) {
    body(o0, o1, o2);
    return;
  }
  const inner = shape[nd - 1];
  const i0 = s0[nd - 1], i1 = s1[nd - 1], i2 = s2[nd - 1];
  const idx = new Array<number>(nd).fill(0);
  let p0 = o0, p1 = o1, p2 = o2;
  for (let done = 0; done < total; done += inner) {
    for (let j = 0; j < inner; j++) body(p0 + j * i0, p1 + j * i1, p2 + j * i2);
    for (let d = nd - 2; d >= 0; d--) {
      p0 += s0[d];
      p1 += s1[d];
      p2 += s2[d];
      if (++idx[d] < shape[d]) break;
      p0 -= s0[d] * shape[d];
      p1 -= s1[d] * shape[d];
      p2 -= s2[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/**
 * Contiguous fast path: `sa`/`sb` are 1 (dense) or 0 (a broadcast scalar).
 * One tight loop per op, so V8 compiles each monomorphically; comparisons
 * use `+(x > y)`, which compiles branch-free (a `?:` on random data
 * mispredicts and runs ~7× slower).
 */
export function binaryDense(
  op: BinaryOp,
  a: TypedArray,
  oa: number,
  sa: number,
  b: TypedArray,
  ob: number,
  sb: number,
  o: TypedArray,
  n: number,
): boolean {
  if (sa === 0 && sb === 0) return false;
  switch (op) {
    case "add":
      for (let i = 0; i < n; i++) o[i] = a[oa + i * sa] + b[ob + i * sb];
      return true;
    case "sub":
      for (let i = 0; i < n; i++) o[i] = a[oa + i * sa] - b[ob + i * sb];
      return true;
    case "mul":
      for (let i = 0; i < n; i++) o[i] = a[oa + i * sa] * b[ob + i * sb];
      return true;
    case "div":
      for (let i = 0; i < n; i++) o[i] = a[oa + i * sa] / b[ob + i * sb];
      return true;
    case "gt":
      for (let i = 0; i < n; i++) o[i] = +(a[oa + i * sa] > b[ob + i * sb]);
      return true;
    case "lt":
      for (let i = 0; i < n; i++) o[i] = +(a[oa + i * sa] < b[ob + i * sb]);
      return true;
    case "eq":
      for (let i = 0; i < n; i++) o[i] = +(a[oa + i * sa] === b[ob + i * sb]);
      return true;
  }
  return false;
}

let packed = new Float32Array(0);

/**
 * One {@link GemmCall} in plain loops, any strides. B is packed once
 * (row-major, into a reused scratch) when its columns are not unit-stride,
 * so the inner loop is; i-k-j order keeps the output row in cache. Each
 * row accumulates in f64 and is rounded to f32 once; with `accumulate` the
 * rounded product is added to C (one more f32 rounding, as a separate
 * add would).
 */
export function gemmScalar(call: GemmCall): void {
  const { M, N, K, a, b, c } = call;
  let bb = b.data, bo = b.offset, brs = b.rowStride;
  if (b.colStride !== 1) {
    if (packed.length < K * N) packed = new Float32Array(K * N);
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < N; j++) packed[k * N + j] = bb[bo + k * brs + j * b.colStride];
    }
    bb = packed;
    bo = 0;
    brs = N;
  }
  const row = new Float64Array(N);
  const ad = a.data, acs = a.colStride, o = c.data;
  for (let i = 0; i < M; i++) {
    row.fill(0);
    const ai = a.offset + i * a.rowStride;
    for (let k = 0; k < K; k++) {
      const aik = ad[ai + k * acs];
      const bk = bo + k * brs;
      for (let j = 0; j < N; j++) row[j] += aik * bb[bk + j];
    }
    const oi = c.offset + i * c.ld;
    if (call.accumulate) { for (let j = 0; j < N; j++) o[oi + j] += Math.fround(row[j]); }
    else for (let j = 0; j < N; j++) o[oi + j] = row[j];
  }
}
