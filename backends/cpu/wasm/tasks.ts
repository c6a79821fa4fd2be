/**
 * Runs a {@link Task} on the thread that calls it: the worker runs what it
 * decoded from the control block, and the calling thread runs its own half
 * through the same function, so both sides compute a split call the same
 * way.
 *
 * @module
 */

import { sgemmParallelPart } from "./gemm.ts";
import { type KernelExports, runAdamKernel, runMapKernel, runRowKernel } from "./exports.ts";
import type { Task } from "./thread_messages.ts";

/** Elements per f32-accumulated block of the sum kernel. */
export const SUM_BLOCK = 8192;

/**
 * Σ of `n` floats at byte address `p`: f32 partial sums inside blocks of
 * {@link SUM_BLOCK} elements (the kernel's 16 accumulators), block sums
 * added in f64 (the result is unrounded).
 */
function blockSum(ex: KernelExports, p: number, n: number): number {
  let total = 0;
  for (let i = 0; i < n; i += SUM_BLOCK) total += ex.sum(p + i * 4, Math.min(SUM_BLOCK, n - i));
  return total;
}

/**
 * Runs `task` with this thread's kernels and GEMM scratch block; `ctrl`
 * holds the shared SGEMM's counters.
 *
 * @returns The task's result (a `sum` task's partial sum), else 0.
 */
export function runTask(
  ex: KernelExports,
  scratch: number,
  ctrl: Int32Array,
  task: Task,
): number {
  switch (task.op) {
    case "sgemm":
      sgemmParallelPart(ex, scratch, ctrl, task.call, task.share);
      return 0;
    case "map":
      runMapKernel(ex, task);
      return 0;
    case "rows":
      runRowKernel(ex, task);
      return 0;
    case "sum":
      return blockSum(ex, task.ptr, task.n);
    case "adam":
      runAdamKernel(ex, task, task.n, task.consts);
      return 0;
    case "exit":
      return 0;
  }
}
