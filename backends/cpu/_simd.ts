/**
 * The CPU backend's WebAssembly SIMD paths. Each `try*` function serves the
 * cases its kernel covers (dense float32 views in the shared Wasm heap) and
 * returns false otherwise, so the caller falls back to the scalar loops in
 * `_kernels.ts`, which stay the reference.
 *
 * @module
 */
import type { AdamArgs, BinaryOp, ReduceOp, TypedArray, UnaryOp, View } from "../backend.ts";
import * as K from "./wasm/mod.ts";
import { WASM_BINARY_OPS, WASM_UNARY_OPS } from "./wasm/exports.ts";
import { denseKind } from "./_kernels.ts";
import { numel } from "../layout.ts";
import type { GemmCall } from "./gemm_call.ts";

/** True when this engine runs the SIMD kernels. */
export const simdAvailable: boolean = K.wasmSimdAvailable;

/** Allocates `n` elements in the shared Wasm heap. */
export function simdAlloc(n: number, int: boolean): TypedArray {
  const ptr = K.alloc(Math.max(n, 1) * 4);
  return int ? K.i32view(ptr, n) : K.f32view(ptr, n);
}

/** Returns a heap allocation to the free lists. */
export function simdFree(a: TypedArray): void {
  K.free(a.byteOffset);
}

function inHeap(a: TypedArray): boolean {
  // Only the Wasm heap hands out arrays over shared memory here.
  return a.buffer instanceof SharedArrayBuffer;
}

/** Byte address of element `i` of a heap array. */
function ptr(a: TypedArray, i: number): number {
  return a.byteOffset + i * 4;
}

const SIMD_BINARY: ReadonlySet<string> = new Set(WASM_BINARY_OPS);
const SIMD_UNARY: ReadonlySet<string> = new Set(WASM_UNARY_OPS);
/** Below this many elements the call overhead beats the SIMD gain. */
const MIN_ELEMS = 64;

/** Dense float32 binary ops (vector·vector, vector·scalar, scalar·vector). */
export function tryBinary(op: BinaryOp, a: View, b: View, out: TypedArray): boolean {
  if (a.dtype !== "float32" || !SIMD_BINARY.has(op)) return false;
  const n = numel(a.shape);
  if (n < MIN_ELEMS) return false;
  const as = a.buffer as Float32Array, bs = b.buffer as Float32Array;
  if (!inHeap(as) || !inHeap(bs) || !inHeap(out)) return false;
  const ka = denseKind(a), kb = denseKind(b);
  const o = ptr(out, 0);
  const kop = op as K.BinaryOp;
  if (ka === 1 && kb === 1) K.binaryVV(kop, ptr(as, a.offset), ptr(bs, b.offset), o, n);
  else if (ka === 1 && kb === 0) K.binaryVS(kop, ptr(as, a.offset), bs[b.offset], o, n);
  else if (ka === 0 && kb === 1) K.binarySV(kop, as[a.offset], ptr(bs, b.offset), o, n);
  else return false;
  return true;
}

/** Dense float32 relu / neg / abs. */
export function tryUnary(op: UnaryOp, x: View, out: TypedArray): boolean {
  if (x.dtype !== "float32" || !SIMD_UNARY.has(op)) return false;
  const n = numel(x.shape);
  const xs = x.buffer as Float32Array;
  if (n < MIN_ELEMS || denseKind(x) !== 1 || !inHeap(xs) || !inHeap(out)) return false;
  K.unary(op as K.UnaryOp, ptr(xs, x.offset), ptr(out, 0), n);
  return true;
}

/**
 * Sums of a dense float32 view over a leading or trailing block of axes
 * (the full sum, row sums, column sums).
 */
export function tryReduce(
  op: ReduceOp,
  x: View,
  axes: readonly number[],
  out: TypedArray,
): boolean {
  if (op !== "sum" || x.dtype !== "float32" || denseKind(x) !== 1) return false;
  const xs = x.buffer as Float32Array;
  const n = numel(x.shape);
  if (n < MIN_ELEMS || !inHeap(xs) || !inHeap(out)) return false;
  const nd = x.shape.length, r = axes.length;
  const trailing = axes.every((d, i) => d === nd - r + i);
  const leading = axes.every((d, i) => d === i);
  const inner = numel(axes.map((d) => x.shape[d]));
  if (trailing) {
    if (r === nd) {
      (out as Float32Array)[0] = K.sum(ptr(xs, x.offset), n);
    } else K.rowSum(ptr(xs, x.offset), n / inner, inner, ptr(out, 0));
    return true;
  }
  if (leading) {
    K.colSum(ptr(xs, x.offset), inner, n / inner, ptr(out, 0));
    return true;
  }
  return false;
}

/**
 * One {@link GemmCall} on the Wasm kernels when all three arrays live in
 * the heap (as the same call over their byte addresses).
 */
export function tryGemm(call: GemmCall): boolean {
  const { a, b, c } = call;
  if (!inHeap(a.data) || !inHeap(b.data) || !inHeap(c.data)) return false;
  K.sgemm({
    ...call,
    a: { ...a, data: a.data.byteOffset },
    b: { ...b, data: b.data.byteOffset },
    c: { ...c, data: c.data.byteOffset },
  });
  return true;
}

/** The fused Adam step on heap buffers with a dense gradient. */
export function tryAdam(
  p: Float32Array,
  grad: View,
  m: Float32Array,
  v: Float32Array,
  n: number,
  a: AdamArgs,
): boolean {
  const g = grad.buffer as Float32Array;
  if (denseKind(grad) !== 1 || ![p, g, m, v].every(inHeap)) return false;
  K.adam({ param: ptr(p, 0), grad: ptr(g, grad.offset), m: ptr(m, 0), v: ptr(v, 0) }, n, a);
  return true;
}
