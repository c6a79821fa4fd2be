/**
 * A one-worker pool that shares the kernel memory, so the calling thread
 * plus one worker run a big operation as two halves.
 *
 * Protocol: a control block of Int32/Float64 slots lives in the heap's
 * reserved bytes. The caller writes a task (opcode + arguments), bumps SEQ
 * and notifies; the worker (spinning briefly, then parked in `Atomics.wait`)
 * runs it and stores SEQ into DONE. The caller does its own half meanwhile,
 * then spins/waits on DONE. Everything is synchronous for the caller.
 *
 * Lifetime: under Deno/Node the worker is a `node:worker_threads` Worker
 * that is `unref()`ed, so it never keeps the process alive and `deno test`
 * sanitizers stay quiet. In browsers a web Worker is used; call
 * {@link ThreadPool.shutdown} to stop it.
 *
 * @module
 */

/** Byte address of the control block (inside the heap's reserved bytes). */
export const CTRL_PTR = 1024;
/** Int32 slots of the control block. */
export const SEQ = 0, DONE = 1, OP = 2, READY = 3, ERROR = 4, ARGS = 8;
/** Number of Int32 argument slots. */
export const N_INT_ARGS = 24;
/** Byte offset of the Float64 argument slots from {@link CTRL_PTR}. */
export const F64_OFFSET = 256;
/** Task opcodes. */
export const OP_SGEMM = 1, OP_MAP = 2, OP_ADAM = 3, OP_EXIT = 4;

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
  private starting: Promise<boolean> | null = null;
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
    this.starting ??= this.spawn(init);
    return this.starting;
  }

  private async spawn(init: WorkerInit): Promise<boolean> {
    const url = new URL("./worker.ts", import.meta.url);
    let w: AnyWorker;
    try {
      const wt = await import("node:worker_threads");
      w = new wt.Worker(url) as unknown as AnyWorker;
      w.unref?.();
    } catch {
      w = new Worker(url.href, { type: "module" });
    }
    Atomics.store(this.ctrl, READY, 0);
    Atomics.store(this.ctrl, SEQ, 0);
    Atomics.store(this.ctrl, DONE, 0);
    this.seq = 0;
    this.worker = w;
    w.postMessage(init);
    for (let t = 0; t < 10000; t += 2) {
      if (Atomics.load(this.ctrl, READY) === 1) return true;
      await new Promise((r) => setTimeout(r, 2));
    }
    return false;
  }

  /** Posts a task whose arguments are already in the slots. */
  post(op: number): void {
    Atomics.store(this.ctrl, OP, op);
    Atomics.store(this.ctrl, SEQ, ++this.seq);
    Atomics.notify(this.ctrl, SEQ);
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

  /** Stops the worker; a later {@link start} spawns a new one. */
  shutdown(): void {
    if (!this.worker) return;
    if (this.ready) this.post(OP_EXIT);
    this.worker.terminate();
    this.worker = null;
    this.starting = null;
    Atomics.store(this.ctrl, READY, 0);
  }
}
