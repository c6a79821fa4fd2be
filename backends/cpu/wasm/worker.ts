/**
 * The pool worker: instantiates the kernel module over the shared memory
 * and serves tasks from the control block (decoded by threads.ts's
 * decodeTask, run by tasks.ts's runTask) until the exit task.
 *
 * @module
 */

import { instantiateKernels } from "./wasm_module.ts";
import {
  CLAIM,
  controlBlock,
  decodeTask,
  DONE,
  ERROR,
  READY,
  RESULT_SLOT,
  SEQ,
  STOPPED,
} from "./thread_messages.ts";
import type { WorkerInit } from "./threads.ts";
import { runTask } from "./tasks.ts";

async function serve(init: WorkerInit): Promise<void> {
  const { memory, scratch } = init;
  const kernels = instantiateKernels(memory, init.relaxed);
  const block = controlBlock(memory);
  const { ctrl, f64 } = block;
  // The last task seen is read before READY is set: the caller posts only
  // once it sees READY, so this is the sequence number it started from.
  // Read after READY, it could already count tasks the caller posted (and,
  // the worker being slow to start, took back and ran itself) and even the
  // exit task: the worker would then wait for a number that never comes,
  // and shutdown would have to terminate it while parked.
  let last = Atomics.load(ctrl, SEQ);
  Atomics.store(ctrl, READY, 1);
  Atomics.notify(ctrl, READY); // the caller blocks in Atomics.wait for this
  for (;;) {
    // Spin ~50 µs for back-to-back tasks, then park. Parking is
    // asynchronous (Atomics.waitAsync) so this worker's event loop keeps
    // running: V8 needs it to finish tiering the wasm code up to TurboFan.
    let seq = Atomics.load(ctrl, SEQ);
    const t0 = performance.now();
    while (seq === last && performance.now() - t0 < 0.05) {
      seq = Atomics.load(ctrl, SEQ);
    }
    if (seq === last) {
      const w = Atomics.waitAsync(ctrl, SEQ, last);
      if (w.async) await w.value;
      continue;
    }
    last = seq;
    const task = decodeTask(block);
    if (task.op === "exit") {
      // Out of the loop, with no wait pending: tell the caller, then end.
      Atomics.store(ctrl, STOPPED, 1);
      Atomics.notify(ctrl, STOPPED);
      return;
    }
    // Claim the task unless the caller already took it back.
    if (Atomics.compareExchange(ctrl, CLAIM, seq - 1, seq) !== seq - 1) {
      continue;
    }
    try {
      f64[RESULT_SLOT] = runTask(kernels, scratch, ctrl, task);
    } catch (_) {
      Atomics.store(ctrl, ERROR, 1);
    }
    Atomics.store(ctrl, DONE, seq);
    Atomics.notify(ctrl, DONE);
  }
}

interface Port {
  on(ev: string, f: (d: WorkerInit) => void): void;
}
/** Deno/Node's parent port, reached without an import (a page has none). */
function parentPort(): Port | null {
  // deno-lint-ignore no-explicit-any
  const wt = (globalThis as any).process?.getBuiltinModule?.("node:worker_threads");
  return (wt?.parentPort ?? null) as Port | null;
}
const port = parentPort();
if (port) {
  // A persistent listener keeps this worker's event loop alive while it is
  // parked in Atomics.waitAsync (which Deno does not count as pending work).
  let started = false;
  port.on("message", (d) => {
    if (!started) serve(d).then(() => (port as unknown as { close?(): void }).close?.());
    started = true;
  });
} else {
  const scope = globalThis as unknown as {
    onmessage: ((e: MessageEvent<WorkerInit>) => void) | null;
    close(): void;
  };
  scope.onmessage = async (e) => {
    await serve(e.data);
    scope.close();
  };
}
