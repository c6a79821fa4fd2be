/**
 * The CPU backend's matrix products: batched matmul, the fused linear layer
 * and the fused LoRA linear, all as {@link GemmCall}s run by the Wasm SGEMM
 * when the arrays are in its heap and by plain loops otherwise (the
 * reference).
 *
 * @module
 */
import type { BufferHandle, FusedArgs, View } from "../backend.ts";
import { arr, walk3, ZERO } from "./_strided.ts";
import { inHeap } from "./_simd.ts";
import { type GemmCall, type GemmOperand, type GemmOutput, operandOf } from "./gemm_call.ts";
import * as K from "./wasm/mod.ts";

let packed = new Float32Array(0);

/**
 * One {@link GemmCall} in plain loops, any strides. B is packed once
 * (row-major, into a reused scratch) when its columns are not unit-stride,
 * so the inner loop is; i-k-j order keeps the output row in cache. Each
 * row accumulates in f64 and is rounded to f32 once; with `accumulate` the
 * rounded product is added to C (one more f32 rounding, as a separate
 * add would).
 */
function gemmScalar(call: GemmCall): void {
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

/**
 * The call on the Wasm SGEMM when all three arrays live in the heap (as
 * the same call over their byte addresses); false otherwise.
 */
function tryGemmSimd(call: GemmCall): boolean {
  const { a, b, c } = call;
  if (!inHeap(a.data) || !inHeap(b.data) || !inHeap(c.data)) return false;
  // Literals, not spreads: this runs per matmul, and small ones are common.
  K.sgemm({
    M: call.M,
    N: call.N,
    K: call.K,
    a: heapOperand(a),
    b: heapOperand(b),
    c: { data: c.data.byteOffset, offset: c.offset, ld: c.ld },
    accumulate: call.accumulate,
  });
  return true;
}

/** The same operand by the byte address of its heap array. */
function heapOperand(x: GemmOperand<Float32Array>): GemmOperand<number> {
  return {
    data: x.data.byteOffset,
    offset: x.offset,
    rowStride: x.rowStride,
    colStride: x.colStride,
  };
}

/** One call: on the Wasm SGEMM where `simd` allows and it can, else the loops. */
export function gemm(simd: boolean, call: GemmCall): void {
  if (!(simd && tryGemmSimd(call))) gemmScalar(call);
}

/**
 * Batched `out = a · b`: batch dims already broadcast (stride 0), the last
 * two dims at any strides; one call per batch entry.
 */
export function matmul(simd: boolean, a: View, b: View, out: BufferHandle): void {
  const nd = a.shape.length;
  const M = a.shape[nd - 2], K = a.shape[nd - 1], N = b.shape[nd - 1];
  const o = arr(out) as Float32Array;
  const as = arr(a.buffer) as Float32Array, bs = arr(b.buffer) as Float32Array;
  const rsA = a.strides[nd - 2], csA = a.strides[nd - 1];
  const rsB = b.strides[nd - 2], csB = b.strides[nd - 1];
  let i = 0;
  const one = (pa: number, pb: number) =>
    gemm(simd, {
      M,
      N,
      K,
      a: { data: as, offset: pa, rowStride: rsA, colStride: csA },
      b: { data: bs, offset: pb, rowStride: rsB, colStride: csB },
      c: { data: o, offset: i++ * M * N, ld: N },
      accumulate: false,
    });
  const bsA = a.strides.slice(0, nd - 2), bsB = b.strides.slice(0, nd - 2);
  walk3(a.shape.slice(0, nd - 2), bsA, a.offset, bsB, b.offset, ZERO, 0, one);
}

/** A dense row-major output of `cols` columns from element 0. */
function rowMajor(data: Float32Array, cols: number): GemmOutput<Float32Array> {
  return { data, offset: 0, ld: cols };
}

/** Writes bias b [N] into each of the M rows of out [M, N]. */
function fillBiasRows(out: Float32Array, b: View, M: number, N: number): void {
  const bs = arr(b.buffer), st = b.strides[0];
  for (let j = 0; j < N; j++) out[j] = bs[b.offset + j * st];
  for (let i = 1; i < M; i++) out.copyWithin(i * N, 0, N);
}

/**
 * `out = x·Wᵀ + b` for x [M, K] (any strides), W [N, K], b [N] or null.
 * The Wasm path starts from the bias rows and accumulates x·Wᵀ on top; the
 * loops round the product, then add the bias.
 */
export function linear(simd: boolean, x: View, w: View, b: View | null, out: BufferHandle): void {
  const [M, K] = x.shape, N = w.shape[0];
  const o = arr(out) as Float32Array;
  const call = { M, N, K, a: operandOf(x), b: operandOf(w, true), c: rowMajor(o, N) };
  if (simd) {
    if (b) fillBiasRows(o, b, M, N);
    if (tryGemmSimd({ ...call, accumulate: b !== null })) return;
  }
  gemmScalar({ ...call, accumulate: false });
  if (!b) return;
  const bs = b.buffer as Float32Array, st = b.strides[0];
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) o[i * N + j] += bs[b.offset + j * st];
  }
}

/**
 * The LoRA linear (see `FusedOps.loraLinear`): out = x·Wᵀ + b +
 * s·(x·Aᵀ)·Bᵀ and down = x·Aᵀ, as three calls; `scaledDown` [M, r] is
 * scratch for s·down (in the heap, so the Wasm SGEMM can read it); the
 * rest are `FusedOps.loraLinear`'s arguments.
 */
export function loraLinear(
  simd: boolean,
  scaledDown: Float32Array,
  ...[x, w, b, a, bUp, scaling, out, down]: FusedArgs<"loraLinear">
): void {
  const [M, K] = x.shape, N = w.shape[0], r = a.shape[0];
  const o = rowMajor(arr(out) as Float32Array, N), d = arr(down) as Float32Array;
  const xa = operandOf(x);
  gemm(simd, { M, N: r, K, a: xa, b: operandOf(a, true), c: rowMajor(d, r), accumulate: false });
  if (b) fillBiasRows(o.data, b, M, N);
  gemm(simd, { M, N, K, a: xa, b: operandOf(w, true), c: o, accumulate: b !== null });
  for (let i = 0; i < M * r; i++) scaledDown[i] = d[i] * scaling;
  const sd = { data: scaledDown, offset: 0, rowStride: r, colStride: 1 };
  gemm(simd, { M, N, K: r, a: sd, b: operandOf(bUp, true), c: o, accumulate: true });
}
