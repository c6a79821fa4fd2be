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

import {
  CLAIM,
  type ControlBlock,
  controlBlock,
  DONE,
  encodeTask,
  ERROR,
  READY,
  RESULT_SLOT,
  SEQ,
  STOPPED,
  type Task,
} from "./thread_messages.ts";

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
