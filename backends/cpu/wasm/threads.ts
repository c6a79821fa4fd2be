/**
 * A one-worker pool that shares the kernel memory, so the calling thread
 * plus one worker run a big operation as two halves.
 *
 * Protocol: a control block of Int32/Float64 slots lives in the heap's
 * reserved bytes. The caller writes a {@link Task} ({@link encodeTask}:
 * opcode + arguments; the worker reads it with {@link decodeTask}), bumps
 * SEQ and notifies; the worker (spinning briefly, then parked in
 * `Atomics.waitAsync`) claims it by moving CLAIM from SEQ−1 to SEQ, runs it
 * and stores SEQ into DONE. The caller does its own part meanwhile; then,
 * if the worker has not claimed the task yet (it was asleep or descheduled),
 * the caller claims it back and does the rest itself, else it waits on
 * DONE. Everything is synchronous for the caller.
 *
 * Lifetime: under Deno/Node the worker is a `node:worker_threads` Worker
 * that is `unref()`ed, so it never keeps the process alive and `deno test`
 * sanitizers stay quiet. It is stopped *before* its owner goes away: on the
 * global `unload` event (process exit, and the end of each `deno test`
 * file, whose runtime owns its own heap and worker) {@link
 * ThreadPool.shutdown} posts the exit task and waits for the worker to confirm it
 * has left its loop and its wait. A worker torn down while parked in
 * `Atomics.waitAsync` on the shared memory of an isolate being destroyed
 * is the one path by which the engine's process-wide futex wait list could
 * be touched during teardown (the glibc "corrupted size vs. prev_size"
 * abort seen once at exit); no worker is ever left in that state now.
 *
 * @module
 */

import type { GemmShare } from "./gemm.ts";
import type { HeapGemmCall } from "../gemm_call.ts";
import { ADAM_CONSTS, type AdamConsts, type MapArgs } from "./exports.ts";

/** Byte address of the control block (inside the heap's reserved bytes). */
export const CTRL_PTR = 1024;
/** Int32 slots of the control block. */
export const SEQ = 0, DONE = 1, OP = 2, READY = 3, ERROR = 4;
/** Set to 1 by the worker once it has left its loop for good (exit task). */
export const STOPPED = 9;
/** The last task sequence number claimed (by the worker, or cancelled). */
export const CLAIM = 8;
/** First Int32 argument slot (5..7 are the GEMM driver's counters). */
export const ARGS = 12;
/** Number of Int32 argument slots. */
export const N_INT_ARGS = 24;
/** Byte offset of the Float64 argument slots from {@link CTRL_PTR}. */
export const F64_OFFSET = 256;
/** Number of Float64 slots. */
export const N_F64 = 16;
/** The Float64 slot where the worker leaves a task's result (a partial sum). */
export const RESULT_SLOT = 15;

/**
 * A task for the worker (or, the same object, for the calling thread's own
 * half): what {@link encodeTask} writes into the control block and
 * {@link decodeTask} reads back. Pointers are heap byte addresses.
 */
export type Task =
  /** One thread's part of a shared SGEMM (`gemm.ts`). */
  | { readonly op: "sgemm"; readonly call: HeapGemmCall; readonly share: GemmShare }
  /** A map kernel over n elements. */
  | { readonly op: "map" } & MapArgs
  /** The blocked sum of n floats at `ptr` (its result is the task's). */
  | { readonly op: "sum"; readonly ptr: number; readonly n: number }
  /** One Adam step over n floats at the four pointers. */
  | {
    readonly op: "adam";
    readonly param: number;
    readonly grad: number;
    readonly m: number;
    readonly v: number;
    readonly n: number;
    readonly consts: AdamConsts;
  }
  /** Leave the loop for good. */
  | { readonly op: "exit" };

/** A task's opcode in the OP slot (0 means none). */
const OPCODES: Readonly<Record<Task["op"], number>> = {
  sgemm: 1,
  map: 2,
  adam: 3,
  exit: 4,
  sum: 5,
};
const OPS = Object.fromEntries(Object.entries(OPCODES).map(([k, v]) => [v, k])) as Record<
  number,
  Task["op"]
>;

/** The control block's Int32 and Float64 slots. */
export interface ControlBlock {
  /** Int32 slots (see the constants above). */
  readonly ctrl: Int32Array;
  /** Float64 slots (scalars, Adam's constants, the result). */
  readonly f64: Float64Array;
}

/** Views of the control block in `memory` (one set per thread). */
export function controlBlock(memory: WebAssembly.Memory): ControlBlock {
  return {
    ctrl: new Int32Array(memory.buffer, CTRL_PTR, ARGS + N_INT_ARGS),
    f64: new Float64Array(memory.buffer, CTRL_PTR + F64_OFFSET, N_F64),
  };
}

/**
 * Writes `task` into the argument slots and its opcode into OP (the
 * caller then bumps SEQ). Integers go to the Int32 slots from ARGS, floats
 * to the Float64 slots from 0; {@link decodeTask} reads the same layout.
 */
export function encodeTask({ ctrl, f64 }: ControlBlock, task: Task): void {
  const ints = (...v: number[]) => v.forEach((x, i) => ctrl[ARGS + i] = x);
  switch (task.op) {
    case "sgemm": {
      const { call: { M, N, K, a, b, c, accumulate }, share } = task;
      // deno-fmt-ignore
      ints(M, N, K, a.data, a.offset, a.rowStride, a.colStride, b.data, b.offset, b.rowStride,
        b.colStride, c.data, c.offset, c.ld, +accumulate, share.buffer, +share.shareA, share.chunk);
      break;
    }
    case "map":
      ints(task.kernel, task.x, task.y, task.out, task.n);
      f64[0] = task.scalar;
      break;
    case "sum":
      ints(task.ptr, task.n);
      break;
    case "adam":
      ints(task.param, task.grad, task.m, task.v, task.n);
      ADAM_CONSTS.forEach((k, i) => f64[i] = task.consts[k]);
      break;
  }
  Atomics.store(ctrl, OP, OPCODES[task.op]);
}

/** Reads the task {@link encodeTask} wrote (addresses come back unsigned). */
export function decodeTask({ ctrl, f64 }: ControlBlock): Task {
  let i = ARGS;
  const int = () => ctrl[i++];
  const ptr = () => ctrl[i++] >>> 0;
  const op = OPS[Atomics.load(ctrl, OP)];
  switch (op) {
    case "sgemm": {
      const [M, N, K] = [int(), int(), int()];
      const operand = () => ({ data: ptr(), offset: int(), rowStride: int(), colStride: int() });
      const a = operand(), b = operand();
      const c = { data: ptr(), offset: int(), ld: int() };
      const call = { M, N, K, a, b, c, accumulate: int() !== 0 };
      return { op, call, share: { buffer: ptr(), shareA: int() !== 0, chunk: int() } };
    }
    case "map":
      return { op, kernel: int(), x: ptr(), y: ptr(), out: ptr(), n: int(), scalar: f64[0] };
    case "sum":
      return { op, ptr: ptr(), n: int() };
    case "adam": {
      const [param, grad, m, v, n] = [ptr(), ptr(), ptr(), ptr(), int()];
      const consts = Object.fromEntries(ADAM_CONSTS.map((k, j) => [k, f64[j]])) as AdamConsts;
      return { op, param, grad, m, v, n, consts };
    }
    case "exit":
      return { op };
  }
  throw new Error(`wasm worker: unknown task opcode ${Atomics.load(ctrl, OP)}`);
}

/** What a worker needs to start. */
export interface WorkerInit {
  /** The shared kernel memory. */
  memory: WebAssembly.Memory;
  /** The worker's private GEMM scratch block. */
  scratch: number;
  /** Whether to build the relaxed-SIMD module variant. */
  relaxed: boolean;
}

interface AnyWorker {
  postMessage(m: unknown): void;
  terminate(): unknown;
  unref?: () => void;
}

/**
 * The worker module: beside this file, as TypeScript in the source tree, or
 * as `worker.js` beside a bundle (a page's build emits both; see README).
 */
function workerUrl(): URL {
  const bundled = !import.meta.url.endsWith(".ts");
  return new URL(bundled ? "./worker.js" : "./worker.ts", import.meta.url);
}

let blocking: boolean | null = null;
/**
 * True where `Atomics.wait` may be called (not on a page's main thread);
 * `ctrl` is any shared Int32Array.
 */
function canBlock(ctrl: Int32Array): boolean {
  if (blocking === null) {
    try {
      // An expected value that differs returns "not-equal" at once where
      // waiting is allowed, and throws where it is not.
      Atomics.wait(ctrl, STOPPED, Atomics.load(ctrl, STOPPED) + 1, 0);
      blocking = true;
    } catch {
      blocking = false;
    }
  }
  return blocking;
}

/** The calling thread's side of the pool. */
export class ThreadPool {
  /** The control block's views. */
  readonly block: ControlBlock;
  #worker: AnyWorker | null = null;
  #failed = false;
  #seq = 0;

  /** Creates the (not yet started) pool over `memory`. */
  constructor(readonly memory: WebAssembly.Memory) {
    this.block = controlBlock(memory);
  }

  /** Int32 view of the control block. */
  get ctrl(): Int32Array {
    return this.block.ctrl;
  }

  /** The result the worker left for the last task it finished. */
  get result(): number {
    return this.block.f64[RESULT_SLOT];
  }

  /** True once the worker has instantiated the kernels and is idle. */
  get ready(): boolean {
    return this.#worker !== null && Atomics.load(this.ctrl, READY) === 1;
  }

  /** Starts the worker (once); resolves true when it is ready. */
  start(init: WorkerInit): Promise<boolean> {
    return Promise.resolve(this.startSync(init));
  }

  /**
   * Starts the worker and blocks until it serves tasks (tens of ms, once).
   * Blocking instead of polling leaves no timers or pending promises behind
   * (test sanitizers stay quiet), and the unref'd worker never keeps the
   * process alive. Where `node:worker_threads` is missing (a browser) the
   * pool stays single-threaded.
   */
  startSync(init: WorkerInit): boolean {
    if (this.#worker) return this.ready;
    if (this.#failed) return false;
    // deno-lint-ignore no-explicit-any
    const g = globalThis as any;
    const wt = g.process?.getBuiltinModule?.("node:worker_threads");
    if (!wt && (typeof g.Worker !== "function" || g.crossOriginIsolated !== true)) {
      // A page that is not cross-origin isolated cannot share the memory.
      this.#failed = true;
      g.console?.info?.(
        "cpu backend: running on one thread (the page is not cross-origin isolated, " +
          "so its Wasm memory cannot be shared with a worker)",
      );
      return false;
    }
    Atomics.store(this.ctrl, READY, 0);
    Atomics.store(this.ctrl, SEQ, 0);
    Atomics.store(this.ctrl, DONE, 0);
    Atomics.store(this.ctrl, CLAIM, 0);
    this.#seq = 0;
    if (!wt) {
      // A browser: a module Web Worker. A page's main thread may not block
      // (and the worker starts only once it yields), so this returns at
      // once and the pool serves from the first call after the worker
      // reported ready; until then calls run on this thread.
      const w = new g.Worker(workerUrl(), { type: "module" }) as AnyWorker & {
        onerror: ((e: unknown) => void) | null;
      };
      w.onerror = () => {
        this.#failed = true;
        this.shutdown();
      };
      this.#worker = w;
      w.postMessage(init);
      return false;
    }
    const w = new wt.Worker(workerUrl()) as AnyWorker;
    w.unref?.();
    this.#worker = w;
    w.postMessage(init);
    Atomics.wait(this.ctrl, READY, 0, 10000);
    if (!this.ready) {
      this.shutdown();
      this.#failed = true;
    }
    return this.ready;
  }

  /** Posts `task` to the worker (see {@link encodeTask}). */
  post(task: Task): void {
    encodeTask(this.block, task);
    Atomics.store(this.ctrl, SEQ, ++this.#seq);
    Atomics.notify(this.ctrl, SEQ);
  }

  /**
   * Withdraws the last posted task if the worker has not claimed it yet;
   * true means the caller must do that work itself (no waiting needed).
   */
  tryCancel(): boolean {
    const seq = this.#seq;
    return Atomics.compareExchange(this.ctrl, CLAIM, seq - 1, seq) === seq - 1;
  }

  /**
   * Blocks until the worker finished the last posted task: spins, then
   * sleeps in `Atomics.wait` where this thread may block (a page's main
   * thread may not: it keeps spinning; the worker's half is short).
   */
  wait(): void {
    const seq = this.#seq;
    for (let spin = 0;; spin++) {
      const done = Atomics.load(this.ctrl, DONE);
      if (done === seq) break;
      if (spin > 20000 && canBlock(this.ctrl)) Atomics.wait(this.ctrl, DONE, done, 1000);
    }
    if (Atomics.load(this.ctrl, ERROR) !== 0) {
      Atomics.store(this.ctrl, ERROR, 0);
      throw new Error("wasm worker task failed");
    }
  }

  /**
   * Stops the worker; a later {@link start} spawns a new one. Waits (up to
   * five seconds, where the thread may block; a loaded machine can take
   * seconds to schedule it) until the worker confirms it has
   * left its loop, so no wait of its is pending when it is terminated.
   *
   * @returns true when the worker confirmed (or there was none).
   */
  shutdown(): boolean {
    if (!this.#worker) return true;
    let confirmed = false;
    if (this.ready) {
      Atomics.store(this.ctrl, STOPPED, 0);
      this.post({ op: "exit" });
      try {
        Atomics.wait(this.ctrl, STOPPED, 0, 5000);
      } catch {
        // A browser's main thread may not block: terminate right away.
      }
      confirmed = Atomics.load(this.ctrl, STOPPED) === 1;
    }
    this.#worker.terminate();
    this.#worker = null;
    Atomics.store(this.ctrl, READY, 0);
    return confirmed;
  }
}
