/**
 * The Wasm kernels as synchronous calls on heap byte addresses (see
 * runtime.ts for the heap and the worker): SGEMM, elementwise maps (over
 * one run of elements, or row by row over a strided walk), sums and the
 * Adam step. Large calls are split with the worker (maps in halves, row
 * walks by rows), each thread running its part through tasks.ts's runTask.
 *
 * @module
 */

import type { AdamArgs } from "../../backend.ts";
import { byteAddress, type HeapGemmCall } from "../gemm_call.ts";
import { chunkSize, NEXT_CHUNK, NEXT_PACK, PACKED, sgemmBlocked, sharedBytes } from "./gemm.ts";
import {
  type AdamConsts,
  HEAVY_UNARY_OPS,
  type MapForm,
  mapKernelIndex,
  type MapOp,
  MAX_ROW_DIMS,
  type WasmBinaryOp,
  type WasmUnaryOp,
} from "./exports.ts";
import {
  _controlSlots,
  _kernels,
  _mainScratch,
  _runHere,
  _runShared,
  _runSplit,
  _useWorker,
  _wasmHeap,
  free,
} from "./runtime.ts";
import { SUM_BLOCK } from "./tasks.ts";

/** Binary elementwise operators with a kernel. */
export type BinaryOp = WasmBinaryOp;
/** Unary elementwise operators with a kernel. */
export type UnaryOp = WasmUnaryOp;

/** Elementwise ops above this many elements are split with the worker. */
const SPLIT_ELEMS = 1 << 18;
/**
 * The same for the heavy unary ops (exp, log, tanh, sigmoid: ~10× the
 * work per element, so far less data pays for the hand-off).
 */
const SPLIT_HEAVY = 1 << 15;

/** True when a map of `op` over `n` elements is worth splitting with the worker. */
function worthSplitting(op: MapOp, n: number): boolean {
  return _useWorker(n > (HEAVY_UNARY_OPS.has(op) ? SPLIT_HEAVY : SPLIT_ELEMS));
}
/** The parallel SGEMM's shared packed operand (grows, never shrinks). */
let sharedBuf = 0;

/**
 * One {@link HeapGemmCall}: C[M,N] (+)= A·B with operands at byte
 * addresses in the heap and any element strides. Calls of more than ~4
 * MFLOP are shared with the worker: the operand along the smaller of M/N
 * is packed once for both threads, and chunks of the other dimension are
 * handed out dynamically, so a late or descheduled thread just takes fewer
 * chunks.
 */
export function sgemm(call: HeapGemmCall): void {
  const e = _kernels();
  const { M, N, K } = call;
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!call.accumulate) {
      const { c } = call;
      for (let i = 0; i < M; i++) _wasmHeap().f32view(byteAddress(c, i * c.ld), N).fill(0);
    }
    return;
  }
  const big = 2 * M * N * K > 4e6 && Math.max(M, N) >= 16;
  if (!_useWorker(big)) return sgemmBlocked(e, _mainScratch, call);
  const shareA = N >= M;
  const bytes = sharedBytes(M, N, K, shareA);
  if (_wasmHeap().sizeOf(sharedBuf) < bytes) {
    free(sharedBuf);
    sharedBuf = _wasmHeap().alloc(bytes);
  }
  const ctrl = _controlSlots();
  for (const slot of [NEXT_PACK, PACKED, NEXT_CHUNK]) Atomics.store(ctrl, slot, 0);
  const share = { buffer: sharedBuf, shareA, chunk: chunkSize(M, N, shareA) };
  _runShared({ op: "sgemm", call, share });
}

/**
 * Runs the map kernel of `op` in `form` over [0, n): `x`, `y` vector
 * operands (byte addresses; unused ones ignored), `scalar` the scalar one.
 */
function map(
  op: MapOp,
  form: MapForm,
  x: number,
  y: number,
  scalar: number,
  out: number,
  n: number,
): void {
  _kernels();
  if (n <= 0) return;
  const task = { op: "map", kernel: mapKernelIndex(op, form), x, y, scalar, out, n } as const;
  if (!worthSplitting(op, n)) return void _runHere(task);
  const h = (n >> 5) << 4, o = h * 4; // half, a multiple of 16 elements
  // A "p" operand points at one scalar: it stays where it is.
  const [ox, oy] = [form === "pv" ? 0 : o, form === "vp" ? 0 : o];
  _runSplit({ ...task, n: h }, { ...task, x: x + ox, y: y + oy, out: out + o, n: n - h });
}

/** A walk of strided rows for {@link rows}: outer sizes and element strides. */
export interface RowWalk {
  /** Sizes of the outer dimensions (row-major). */
  readonly dims: readonly number[];
  /** Element strides of the first operand over `dims`. */
  readonly sx: readonly number[];
  /** Element strides of the second operand over `dims` (unused by unary forms). */
  readonly sy: readonly number[];
  /** Element strides of the output over `dims`. */
  readonly so: readonly number[];
}

/**
 * Runs the map kernel of `op` in `form` ("vv", "vp", "pv" or "v") once per
 * row of `walk`: each row is `n` elements at byte addresses `x`, `y`, `out`
 * plus the row's offsets (a "p" operand is the row's one broadcast value).
 * One row is a plain map; more are split by rows with the worker when the
 * whole call is large enough.
 */
export function rows(
  op: MapOp,
  form: MapForm,
  x: number,
  y: number,
  out: number,
  n: number,
  walk: RowWalk,
): void {
  _kernels();
  let count = 1;
  for (const s of walk.dims) count *= s;
  if (n <= 0 || count <= 0) return;
  if (count === 1) return map(op, form, x, y, 0, out, n);
  const task = { op: "rows", kernel: mapKernelIndex(op, form), x, y, out, n, ...walk } as const;
  const all = { ...task, start: 0, end: count };
  if (walk.dims.length > MAX_ROW_DIMS || !worthSplitting(op, n * count)) {
    return void _runHere(all);
  }
  const h = count >> 1;
  _runSplit({ ...all, end: h }, { ...all, start: h });
}

/** out[i] = a[i] op b[i] for i < n (`out` may alias an input). */
export function binaryVV(op: BinaryOp, a: number, b: number, out: number, n: number): void {
  map(op, "vv", a, b, 0, out, n);
}

/** out[i] = a[i] op s. */
export function binaryVS(op: BinaryOp, a: number, s: number, out: number, n: number): void {
  map(op, "vs", a, 0, s, out, n);
}

/** out[i] = s op b[i]. */
export function binarySV(op: BinaryOp, s: number, b: number, out: number, n: number): void {
  map(op, "sv", 0, b, s, out, n);
}

/**
 * out[i] = op(a[i]); relu is max(x, 0) (NaN stays NaN); exp, log, tanh and
 * sigmoid are f32 polynomial approximations within a few ulp (emit_math.ts).
 */
export function unary(op: UnaryOp, a: number, out: number, n: number): void {
  map(op, "v", a, 0, 0, out, n);
}

/**
 * Σ a[0..n). Blocks of 8192 floats are summed in f32 with 16 partial sums;
 * block sums are added in f64 (result is returned unrounded).
 */
export function sum(a: number, n: number): number {
  _kernels();
  // Large sums are split at a block boundary, so both halves add the same
  // blocks a one-thread sum adds.
  const h = Math.ceil(n / 2 / SUM_BLOCK) * SUM_BLOCK;
  const task = { op: "sum", ptr: a, n } as const;
  if (h >= n || !_useWorker(n > SPLIT_ELEMS)) return _runHere(task);
  return _runSplit({ ...task, n: h }, { ...task, ptr: a + h * 4, n: n - h });
}

/** out[r] = Σ_c a[r·cols + c] (f32 accumulation, 16 partial sums). */
export function rowSum(a: number, rows: number, cols: number, out: number): void {
  _kernels().row_sum(a, rows, cols, out);
}

/** out[c] = Σ_r a[r·cols + c] (f32, accumulated row by row). */
export function colSum(a: number, rows: number, cols: number, out: number): void {
  _kernels().col_sum(a, rows, cols, out);
}

/** The byte addresses of one Adam step's buffers. */
export interface AdamPointers {
  /** The parameter (updated in place). */
  readonly param: number;
  /** Its gradient. */
  readonly grad: number;
  /** First moment (updated in place). */
  readonly m: number;
  /** Second moment (updated in place). */
  readonly v: number;
}

/**
 * The adam kernel's constants for `a`, each rounded to f32 when passed, as
 * PyTorch rounds its scalars.
 */
function adamConsts(a: AdamArgs): AdamConsts {
  return {
    wd: a.weightDecay,
    b1: a.beta1,
    omb1: 1 - a.beta1,
    b2: a.beta2,
    omb2: 1 - a.beta2,
    decay: 1 - a.lr * a.decoupledDecay,
    negStep: -(a.lr / a.bias1),
    sqrtBc2: Math.sqrt(a.bias2),
    eps: a.eps,
  };
}

/**
 * One in-place Adam/AdamW step over n floats, as PyTorch 1.13's
 * single-tensor Adam: g' = g + weightDecay·p; m = β1·m + (1−β1)·g';
 * v = β2·v + (1−β2)·g'·g'; p = p·(1 − lr·decoupledDecay);
 * p = p − (lr/bias1)·m / (√v/√bias2 + eps), where `bias1`, `bias2` are
 * 1 − β^t.
 */
export function adam(p: AdamPointers, n: number, args: AdamArgs): void {
  _kernels();
  if (n <= 0) return;
  const task = { op: "adam", ...p, n, consts: adamConsts(args) } as const;
  if (!_useWorker(n > SPLIT_ELEMS / 2)) return void _runHere(task);
  const h = (n >> 5) << 4, o = h * 4;
  const { param, grad, m, v } = p;
  const theirs = { param: param + o, grad: grad + o, m: m + o, v: v + o };
  _runSplit({ ...task, n: h }, { ...task, ...theirs, n: n - h });
}
