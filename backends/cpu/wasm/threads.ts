/**
 * A one-worker pool that shares the kernel memory, so the calling thread
 * plus one worker run a big operation as two halves.
 *
 * Protocol: a control block of Int32/Float64 slots lives in the heap's
 * reserved bytes. The caller writes a task (opcode + arguments), bumps SEQ
 * and notifies; the worker (spinning briefly, then parked in
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
 * ThreadPool.shutdown} posts OP_EXIT and waits for the worker to confirm it
 * has left its loop and its wait. A worker torn down while parked in
 * `Atomics.waitAsync` on the shared memory of an isolate being destroyed
 * is the one path by which the engine's process-wide futex wait list could
 * be touched during teardown (the glibc "corrupted size vs. prev_size"
 * abort seen once at exit); no worker is ever left in that state now.
 *
 * @module
 */

/** Byte address of the control block (inside the heap's reserved bytes). */
export const CTRL_PTR = 1024;
/** Int32 slots of the control block. */
export const SEQ = 0, DONE = 1, OP = 2, READY = 3, ERROR = 4;
/** Set to 1 by the worker once it has left its loop for good (OP_EXIT). */
export const STOPPED = 9;
/** The last task sequence number claimed (by the worker, or cancelled). */
export const CLAIM = 8;
/** First Int32 argument slot (5..7 are the GEMM driver's counters). */
export const ARGS = 12;
/** Number of Int32 argument slots. */
export const N_INT_ARGS = 24;
/** Byte offset of the Float64 argument slots from {@link CTRL_PTR}. */
export const F64_OFFSET = 256;
/** Task opcodes. */
export const OP_SGEMM = 1, OP_MAP = 2, OP_ADAM = 3, OP_EXIT = 4, OP_SUM = 5;
/** The f64 slot where the worker leaves its partial sum for OP_SUM. */
export const SUM_SLOT = 15;

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

/** The calling thread's side of the pool. */
export class ThreadPool {
  /** Int32 view of the control block. */
  readonly ctrl: Int32Array;
  /** Float64 argument slots. */
  readonly f64: Float64Array;
  private worker: AnyWorker | null = null;
  private failed = false;
  private seq = 0;

  /** Creates the (not yet started) pool over `memory`. */
  constructor(readonly memory: WebAssembly.Memory) {
    this.ctrl = new Int32Array(memory.buffer, CTRL_PTR, ARGS + N_INT_ARGS);
    this.f64 = new Float64Array(memory.buffer, CTRL_PTR + F64_OFFSET, 16);
  }

  /** True once the worker has instantiated the kernels and is idle. */
  get ready(): boolean {
    return this.worker !== null && Atomics.load(this.ctrl, READY) === 1;
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
    if (this.worker) return this.ready;
    if (this.failed) return false;
    // deno-lint-ignore no-explicit-any
    const wt = (globalThis as any).process?.getBuiltinModule?.("node:worker_threads");
    if (!wt) {
      this.failed = true;
      return false;
    }
    Atomics.store(this.ctrl, READY, 0);
    Atomics.store(this.ctrl, SEQ, 0);
    Atomics.store(this.ctrl, DONE, 0);
    Atomics.store(this.ctrl, CLAIM, 0);
    this.seq = 0;
    const w = new wt.Worker(new URL("./worker.ts", import.meta.url)) as AnyWorker;
    w.unref?.();
    this.worker = w;
    w.postMessage(init);
    Atomics.wait(this.ctrl, READY, 0, 10000);
    if (!this.ready) {
      this.shutdown();
      this.failed = true;
    }
    return this.ready;
  }

  /** Posts a task whose arguments are already in the slots. */
  post(op: number): void {
    Atomics.store(this.ctrl, OP, op);
    Atomics.store(this.ctrl, SEQ, ++this.seq);
    Atomics.notify(this.ctrl, SEQ);
  }

  /**
   * Withdraws the last posted task if the worker has not claimed it yet;
   * true means the caller must do that work itself (no waiting needed).
   */
  tryCancel(): boolean {
    const seq = this.seq;
    return Atomics.compareExchange(this.ctrl, CLAIM, seq - 1, seq) === seq - 1;
  }

  /** Blocks until the worker finished the last posted task. */
  wait(): void {
    const seq = this.seq;
    for (let spin = 0;; spin++) {
      const done = Atomics.load(this.ctrl, DONE);
      if (done === seq) break;
      if (spin > 20000) Atomics.wait(this.ctrl, DONE, done, 1000);
    }
    if (Atomics.load(this.ctrl, ERROR) !== 0) {
      Atomics.store(this.ctrl, ERROR, 0);
      throw new Error("wasm worker task failed");
    }
  }

  /**
   * Stops the worker; a later {@link start} spawns a new one. Waits (up to
   * a second, where the thread may block) until the worker confirms it has
   * left its loop, so no wait of its is pending when it is terminated.
   *
   * @returns true when the worker confirmed (or there was none).
   */
  shutdown(): boolean {
    if (!this.worker) return true;
    let confirmed = false;
    if (this.ready) {
      Atomics.store(this.ctrl, STOPPED, 0);
      this.post(OP_EXIT);
      try {
        Atomics.wait(this.ctrl, STOPPED, 0, 1000);
      } catch {
        // A browser's main thread may not block: terminate right away.
      }
      confirmed = Atomics.load(this.ctrl, STOPPED) === 1;
    }
    this.worker.terminate();
    this.worker = null;
    Atomics.store(this.ctrl, READY, 0);
    return confirmed;
  }
}
