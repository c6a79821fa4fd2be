/**
 * The WebAssembly speed core of the CPU backend: a shared-memory heap plus
 * SIMD kernels (SGEMM, elementwise maps, reductions, Adam), built at load
 * time by our own emitter, with large calls split across the calling thread
 * and one worker.
 *
 * All pointers are byte addresses returned by {@link alloc}; sizes and
 * strides are in elements. Every call is synchronous. When the engine lacks
 * WebAssembly SIMD, {@link wasmSimdAvailable} is false and every kernel call
 * throws; the higher layer must then use its scalar fallback.
 *
 * @module
 */

import {
  chunkSize,
  NEXT_CHUNK,
  NEXT_PACK,
  PACKED,
  SCRATCH_BYTES,
  sgemmBlocked,
  sgemmParallelPart,
  sharedBytes,
} from "./gemm.ts";
import { MAX_HEAP_BYTES, WasmHeap } from "./heap.ts";
import { byteAddress, type HeapGemmCall } from "../gemm_call.ts";
import { ARGS, OP_ADAM, OP_MAP, OP_SGEMM, OP_SUM, SUM_SLOT, ThreadPool } from "./threads.ts";
import { blockSum, SUM_BLOCK } from "./block_sum.ts";
import { detectRelaxedSimd, detectSimd, instantiateKernels } from "./wasm_module.ts";
import {
  type KernelExports,
  MAP_KERNELS,
  mapKernelName,
  type WasmBinaryOp,
  type WasmUnaryOp,
} from "./exports.ts";

/** True when WebAssembly SIMD works here (else use the scalar fallback). */
export const wasmSimdAvailable: boolean = typeof WebAssembly === "object" &&
  detectSimd();
/** True when `f32x4.relaxed_madd` is used by the GEMM micro-kernel. */
export const relaxedSimdUsed: boolean = wasmSimdAvailable &&
  detectRelaxedSimd();

/** Binary elementwise operators with a kernel. */
export type BinaryOp = WasmBinaryOp;
/** Unary elementwise operators with a kernel. */
export type UnaryOp = WasmUnaryOp;

type Fn = (...args: number[]) => number;
type Exports = KernelExports & Record<string, Fn>;

const heap: WasmHeap | null = wasmSimdAvailable ? new WasmHeap() : null;
const ex: Exports | null = heap
  ? instantiateKernels(heap.memory, relaxedSimdUsed) as Exports
  : null;
const mainScratch = heap ? heap.alloc(SCRATCH_BYTES) : 0;
const pool = heap ? new ThreadPool(heap.memory) : null;
let workerScratch = 0;
let sharedBuf = 0; // the parallel SGEMM's shared packed operand (grows)
let numThreads = 2;

function need(): Exports {
  if (!ex) throw new Error("WebAssembly SIMD is not available");
  return ex;
}

/** The shared memory every pointer refers to (null without SIMD). */
export const memory: WebAssembly.Memory | null = heap?.memory ?? null;

/** Allocates `bytes` bytes (64-byte aligned); returns a pointer. */
export function alloc(bytes: number): number {
  need();
  return heap!.alloc(bytes);
}

/**
 * Checks the heap's layout and that the worker's control block below it is
 * untouched by any block (see {@link WasmHeap.checkInvariants}); a no-op
 * without SIMD. Tests run it after every fuzzed call.
 *
 * @throws {Error} naming the broken invariant.
 */
export function checkHeap(): void {
  heap?.checkInvariants();
}

/** The heap's top, memory size, limit and live blocks (zeros without SIMD). */
export function heapStats(): { top: number; byteLength: number; limit: number; blocks: number } {
  if (!heap) return { top: 0, byteLength: 0, limit: 0, blocks: 0 };
  return {
    top: heap.top,
    byteLength: heap.byteLength,
    limit: heap.limit,
    blocks: heap.blocksInUse,
  };
}

/**
 * Lowers (or restores, with no argument) the heap's limit so tests can
 * exhaust it cheaply. A no-op without SIMD.
 */
export function setHeapLimit(bytes?: number): void {
  heap?.setLimit(bytes ?? MAX_HEAP_BYTES);
}

/** Frees a pointer from {@link alloc} for reuse. */
export function free(ptr: number): void {
  heap?.free(ptr);
}

/** A fresh Float32Array view of `n` floats at `ptr`. */
export function f32view(ptr: number, n: number): Float32Array {
  need();
  return heap!.f32view(ptr, n);
}

/** A fresh Int32Array view of `n` ints at `ptr`. */
export function i32view(ptr: number, n: number): Int32Array {
  need();
  return heap!.i32view(ptr, n);
}

/**
 * Sets how many threads big calls use (1 or 2). With 2, the worker is
 * started on the first big call (which blocks for it once, tens of ms).
 */
export function setNumThreads(n: number): void {
  numThreads = n >= 2 ? 2 : 1;
}

function startPool(): boolean {
  if (!pool) return false;
  workerScratch ||= heap!.alloc(SCRATCH_BYTES);
  return pool.startSync({
    memory: heap!.memory,
    scratch: workerScratch,
    relaxed: relaxedSimdUsed,
  });
}

/** Starts the worker if needed; resolves true once it serves tasks. */
export function threadsReady(): Promise<boolean> {
  return Promise.resolve(startPool());
}

/**
 * Stops the worker (it is unref'd under Deno/Node, so this is optional; it
 * also runs on the global `unload` event).
 *
 * @returns true when the worker confirmed it stopped (or none ran).
 */
export function shutdownThreads(): boolean {
  return pool?.shutdown() ?? true;
}

/** True while the worker is started and serving. */
export function workerRunning(): boolean {
  return pool?.ready ?? false;
}

// Stop the worker before whoever owns this module goes away (process exit,
// the end of a `deno test` file, a page unload): see threads.ts.
(globalThis as { addEventListener?: (t: string, f: () => void) => void })
  .addEventListener?.("unload", () => void shutdownThreads());

/** True when the worker may take half of a call of `work` units. */
function useWorker(big: boolean): boolean {
  if (!big || numThreads < 2 || !pool) return false;
  if (pool.ready) return true;
  return startPool(); // the first big call starts the worker, blocking once
}

function setInts(vals: number[]): void {
  for (let i = 0; i < vals.length; i++) pool!.ctrl[ARGS + i] = vals[i];
}

/**
 * One {@link HeapGemmCall}: C[M,N] (+)= A·B with operands at byte
 * addresses in the heap and any element strides. Calls of more than ~4
 * MFLOP are shared with the worker: the operand along the smaller of M/N
 * is packed once for both threads, and chunks of the other dimension are
 * handed out dynamically, so a late or descheduled thread just takes fewer
 * chunks.
 */
export function sgemm(call: HeapGemmCall): void {
  const e = need();
  const { M, N, K } = call;
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!call.accumulate) {
      const { c } = call;
      for (let i = 0; i < M; i++) heap!.f32view(byteAddress(c, i * c.ld), N).fill(0);
    }
    return;
  }
  const big = 2 * M * N * K > 4e6 && Math.max(M, N) >= 16;
  if (!useWorker(big)) {
    sgemmBlocked(e, mainScratch, call);
    return;
  }
  const shareA = N >= M;
  const bytes = sharedBytes(M, N, K, shareA);
  if (heap!.sizeOf(sharedBuf) < bytes) {
    free(sharedBuf);
    sharedBuf = heap!.alloc(bytes);
  }
  const share = { buffer: sharedBuf, shareA, chunk: chunkSize(M, N, shareA) };
  const ctrl = pool!.ctrl;
  for (const slot of [NEXT_PACK, PACKED, NEXT_CHUNK]) Atomics.store(ctrl, slot, 0);
  const { a, b, c } = call;
  // deno-fmt-ignore
  setInts([M, N, K, byteAddress(a), a.rowStride, a.colStride, byteAddress(b), b.rowStride,
    b.colStride, byteAddress(c), c.ld, call.accumulate ? 1 : 0, share.buffer, shareA ? 1 : 0,
    share.chunk]);
  pool!.post(OP_SGEMM);
  sgemmParallelPart(e, mainScratch, ctrl, call, share);
  if (!pool!.tryCancel()) pool!.wait();
}

/** Elementwise ops above this many elements are split with the worker. */
const SPLIT_ELEMS = 1 << 18;

/** Runs map kernel `name` of `kind` over [0, n), split when large. */
function map(
  name: string,
  kind: number,
  x: number,
  s: number,
  y: number,
  out: number,
  n: number,
) {
  const e = need();
  const fn = e[name];
  const call = (x: number, y: number, out: number, n: number) => {
    if (kind === 0) fn(x, y, out, n);
    else if (kind === 1) fn(x, s, out, n);
    else if (kind === 2) fn(s, y, out, n);
    else fn(x, out, n);
  };
  if (n <= 0) return;
  if (!useWorker(n > SPLIT_ELEMS)) return call(x, y, out, n);
  const h = (n >> 5) << 4; // half, a multiple of 16 elements
  const o = h * 4;
  setInts([MAP_KERNELS.indexOf(name), kind, x + o, y + o, out + o, n - h]);
  pool!.f64[0] = s;
  pool!.post(OP_MAP);
  call(x, y, out, h);
  if (pool!.tryCancel()) call(x + o, y + o, out + o, n - h);
  else pool!.wait();
}

/** out[i] = a[i] op b[i] for i < n (`out` may alias an input). */
export function binaryVV(
  op: BinaryOp,
  a: number,
  b: number,
  out: number,
  n: number,
): void {
  map(mapKernelName(op, "vv"), 0, a, 0, b, out, n);
}

/** out[i] = a[i] op s. */
export function binaryVS(
  op: BinaryOp,
  a: number,
  s: number,
  out: number,
  n: number,
): void {
  map(mapKernelName(op, "vs"), 1, a, s, 0, out, n);
}

/** out[i] = s op b[i]. */
export function binarySV(
  op: BinaryOp,
  s: number,
  b: number,
  out: number,
  n: number,
): void {
  map(mapKernelName(op, "sv"), 2, 0, s, b, out, n);
}

/** out[i] = op(a[i]); relu is max(x, 0) (NaN stays NaN). */
export function unary(op: UnaryOp, a: number, out: number, n: number): void {
  map(mapKernelName(op, "v"), 3, a, 0, 0, out, n);
}

/**
 * Σ a[0..n). Blocks of 8192 floats are summed in f32 with 16 partial sums;
 * block sums are added in f64 (result is returned unrounded).
 */
export function sum(a: number, n: number): number {
  const kernel = need().sum as (p: number, n: number) => number;
  // Large sums are split at a block boundary; the worker's half comes back
  // in an f64 slot.
  const h = Math.ceil(n / 2 / SUM_BLOCK) * SUM_BLOCK;
  if (h >= n || !useWorker(n > SPLIT_ELEMS)) return blockSum(kernel, a, n);
  setInts([a + h * 4, n - h]);
  pool!.post(OP_SUM);
  const first = blockSum(kernel, a, h);
  if (pool!.tryCancel()) return first + blockSum(kernel, a + h * 4, n - h);
  pool!.wait();
  return first + pool!.f64[SUM_SLOT];
}

/** out[r] = Σ_c a[r·cols + c] (f32 accumulation, 16 partial sums). */
export function rowSum(
  a: number,
  rows: number,
  cols: number,
  out: number,
): void {
  need().row_sum(a, rows, cols, out);
}

/** out[c] = Σ_r a[r·cols + c] (f32, accumulated row by row). */
export function colSum(
  a: number,
  rows: number,
  cols: number,
  out: number,
): void {
  need().col_sum(a, rows, cols, out);
}

/**
 * One in-place Adam/AdamW step over n floats, as PyTorch 1.13's
 * single-tensor Adam: g' = g + weightDecay·p; m = β1·m + (1−β1)·g';
 * v = β2·v + (1−β2)·g'·g'; p = p·(1 − lr·decoupledDecay);
 * p = p − (lr/bias1)·m / (√v/√bias2 + eps). `bias1`, `bias2` are
 * 1 − β^t. Scalars are rounded to f32 as PyTorch does.
 */
export function adam(
  param: number,
  grad: number,
  m: number,
  v: number,
  n: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  decoupledDecay: number,
  bias1: number,
  bias2: number,
): void {
  const e = need();
  if (n <= 0) return;
  const f = [
    weightDecay,
    beta1,
    1 - beta1,
    beta2,
    1 - beta2,
    1 - lr * decoupledDecay,
    -(lr / bias1),
    Math.sqrt(bias2),
    eps,
  ];
  const useWd = weightDecay !== 0 ? 1 : 0;
  const run = (o: number, len: number) =>
    // deno-fmt-ignore
    e.adam(param + o, grad + o, m + o, v + o, len, f[0], f[1], f[2], f[3],
      f[4], f[5], f[6], f[7], f[8], useWd);
  if (!useWorker(n > SPLIT_ELEMS / 2)) return void run(0, n);
  const h = (n >> 5) << 4, o = h * 4;
  setInts([param + o, grad + o, m + o, v + o, n - h, useWd]);
  for (let i = 0; i < 9; i++) pool!.f64[i] = f[i];
  pool!.post(OP_ADAM);
  run(0, h);
  if (pool!.tryCancel()) run(o, n - h);
  else pool!.wait();
}
