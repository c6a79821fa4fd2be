/**
 * The pool worker: instantiates the kernel module over the shared memory
 * and serves tasks from the control block (see threads.ts) until OP_EXIT.
 *
 * @module
 */

import { sgemmParallelPart } from "./gemm.ts";
import { instantiateKernels } from "./wasm_module.ts";
import { mapKernel } from "./exports.ts";
import {
  ARGS,
  CLAIM,
  CTRL_PTR,
  DONE,
  ERROR,
  F64_OFFSET,
  N_INT_ARGS,
  OP,
  OP_ADAM,
  OP_EXIT,
  OP_MAP,
  OP_SGEMM,
  OP_SUM,
  READY,
  SEQ,
  STOPPED,
  SUM_SLOT,
  type WorkerInit,
} from "./threads.ts";
import { blockSum } from "./block_sum.ts";

type Fn = (...args: number[]) => unknown;

async function serve(init: WorkerInit): Promise<void> {
  const { memory, scratch } = init;
  const kernels = instantiateKernels(memory, init.relaxed);
  const ex = kernels as unknown as Record<string, Fn>;
  const ctrl = new Int32Array(memory.buffer, CTRL_PTR, ARGS + N_INT_ARGS);
  const f64 = new Float64Array(memory.buffer, CTRL_PTR + F64_OFFSET, 16);
  Atomics.store(ctrl, READY, 1);
  Atomics.notify(ctrl, READY); // the caller blocks in Atomics.wait for this
  let last = Atomics.load(ctrl, SEQ);
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
    const op = Atomics.load(ctrl, OP);
    if (op === OP_EXIT) {
      // Out of the loop, with no wait pending: tell the caller, then end.
      Atomics.store(ctrl, STOPPED, 1);
      Atomics.notify(ctrl, STOPPED);
      return;
    }
    // Claim the task unless the caller already took it back.
    if (Atomics.compareExchange(ctrl, CLAIM, seq - 1, seq) !== seq - 1) {
      continue;
    }
    const a = (i: number) => ctrl[ARGS + i];
    try {
      if (op === OP_SGEMM) {
        const call = {
          M: a(0),
          N: a(1),
          K: a(2),
          a: { data: a(3), offset: 0, rowStride: a(4), colStride: a(5) },
          b: { data: a(6), offset: 0, rowStride: a(7), colStride: a(8) },
          c: { data: a(9), offset: 0, ld: a(10) },
          accumulate: a(11) !== 0,
        };
        const share = { buffer: a(12), shareA: a(13) !== 0, chunk: a(14) };
        sgemmParallelPart(kernels, scratch, ctrl, call, share);
      } else if (op === OP_MAP) {
        // args: name index, then up to 4 ints; floats: scalar operand.
        const fn = mapKernel(kernels, a(0));
        const kind = a(1); // 0: (v,v) 1: (v,s) 2: (s,v) 3: unary
        if (kind === 0) fn(a(2), a(3), a(4), a(5));
        else if (kind === 1) fn(a(2), f64[0], a(4), a(5));
        else if (kind === 2) fn(f64[0], a(3), a(4), a(5));
        else fn(a(2), a(4), a(5));
      } else if (op === OP_SUM) {
        f64[SUM_SLOT] = blockSum(ex.sum as (p: number, n: number) => number, a(0), a(1));
      } else if (op === OP_ADAM) {
        // deno-fmt-ignore
        ex.adam(a(0), a(1), a(2), a(3), a(4), f64[0], f64[1], f64[2], f64[3],
          f64[4], f64[5], f64[6], f64[7], f64[8], a(5));
      }
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
async function parentPort(): Promise<Port | null> {
  try {
    const wt = await import("node:worker_threads");
    return wt.parentPort as unknown as Port | null;
  } catch {
    return null; // browsers: a plain web Worker
  }
}
const port = await parentPort();
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
