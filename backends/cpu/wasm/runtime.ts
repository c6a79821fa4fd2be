/**
 * The WebAssembly speed core of the CPU backend: one shared-memory heap,
 * the kernel module instantiated over it (built at load time by our own
 * emitter, see wasm_module.ts) and the worker that takes half of large
 * calls (threads.ts). The kernel calls themselves are in calls.ts; both
 * files are re-exported by mod.ts.
 *
 * All pointers are byte addresses returned by {@link alloc}; sizes are in
 * elements. When the engine lacks WebAssembly SIMD,
 * {@link wasmSimdAvailable} is false and every allocation or kernel call
 * throws; the CPU backend then uses its scalar loops.
 *
 * Exports whose names start with `_` are package-internal: calls.ts's
 * access to the runtime's state; mod.ts does not re-export them.
 *
 * @module
 */

import { SCRATCH_BYTES } from "./gemm.ts";
import { MAX_HEAP_BYTES, WasmHeap } from "./heap.ts";
import type { Task } from "./thread_messages.ts";
import { ThreadPool } from "./threads.ts";
import { runTask } from "./tasks.ts";
import { detectRelaxedSimd, detectSimd, instantiateKernels } from "./wasm_module.ts";
import type { KernelExports } from "./exports.ts";

/** True when WebAssembly SIMD works here (else use the scalar fallback). */
export const wasmSimdAvailable: boolean = typeof WebAssembly === "object" &&
  detectSimd();
/** True when `f32x4.relaxed_madd` is used by the GEMM micro-kernel. */
export const relaxedSimdUsed: boolean = wasmSimdAvailable &&
  detectRelaxedSimd();

const heap: WasmHeap | null = wasmSimdAvailable ? new WasmHeap() : null;
const ex: KernelExports | null = heap ? instantiateKernels(heap.memory, relaxedSimdUsed) : null;
/** The calling thread's GEMM scratch block (package-internal, for calls.ts). */
export const _mainScratch: number = heap ? heap.alloc(SCRATCH_BYTES) : 0;
const pool = heap ? new ThreadPool(heap.memory) : null;
let workerScratch = 0;
let numThreads = 2;

/**
 * This thread's kernel exports (package-internal, for calls.ts).
 *
 * @throws {Error} when the engine lacks WebAssembly SIMD.
 */
export function _kernels(): KernelExports {
  if (!ex) throw new Error("WebAssembly SIMD is not available");
  return ex;
}

/** The heap (package-internal, for calls.ts); throws without SIMD. */
export function _wasmHeap(): WasmHeap {
  _kernels();
  return heap!;
}

/** The shared memory every pointer refers to (null without SIMD). */
export const memory: WebAssembly.Memory | null = heap?.memory ?? null;

/** Allocates `bytes` bytes (64-byte aligned); returns a pointer. */
export function alloc(bytes: number): number {
  return _wasmHeap().alloc(bytes);
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
  return _wasmHeap().f32view(ptr, n);
}

/** A fresh Int32Array view of `n` ints at `ptr`. */
export function i32view(ptr: number, n: number): Int32Array {
  return _wasmHeap().i32view(ptr, n);
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

let workerTaskCount = 0;
/** How many tasks (halves of calls) the worker has run since load. */
export function workerTasks(): number {
  return workerTaskCount;
}

// Stop the worker before whoever owns this module goes away (process exit,
// the end of a `deno test` file, a page unload): see threads.ts.
(globalThis as { addEventListener?: (t: string, f: () => void) => void })
  .addEventListener?.("unload", () => void shutdownThreads());

/**
 * True when the worker may take part of a call (`big`: worth sharing);
 * the first big call starts the worker. Package-internal, for calls.ts.
 */
export function _useWorker(big: boolean): boolean {
  if (!big || numThreads < 2 || !pool) return false;
  if (pool.ready) return true;
  return startPool(); // the first big call starts the worker, blocking once
}

/** Runs `task` on this thread (package-internal, for calls.ts). */
export function _runHere(task: Task): number {
  return runTask(_kernels(), _mainScratch, pool!.ctrl, task);
}

/**
 * Runs `mine` here while the worker runs `theirs` (or this thread runs it
 * too, when the worker has not claimed it by then); returns the sum of
 * both results. Call only after {@link _useWorker} said yes.
 * Package-internal, for calls.ts.
 */
export function _runSplit(mine: Task, theirs: Task): number {
  pool!.post(theirs);
  const first = _runHere(mine);
  if (pool!.tryCancel()) return first + _runHere(theirs);
  pool!.wait();
  workerTaskCount++;
  return first + pool!.result;
}

/**
 * Runs `task` on both threads at once (the shared SGEMM, whose parts take
 * work from common counters, so a task the worker never claimed is already
 * done here). Call only after {@link _useWorker} said yes.
 * Package-internal, for calls.ts.
 */
export function _runShared(task: Task): void {
  pool!.post(task);
  _runHere(task);
  if (!pool!.tryCancel()) {
    pool!.wait();
    workerTaskCount++;
  }
}

/** The control block's Int32 slots (package-internal, for calls.ts). */
export function _controlSlots(): Int32Array {
  return pool!.ctrl;
}
