/**
 * The messages between the calling thread and the worker: the control
 * block's layout (Int32 and Float64 slots in the heap's reserved bytes) and
 * the one pair of functions that write a {@link Task} into it
 * ({@link encodeTask}) and read it back ({@link decodeTask}). The protocol
 * around them is described in `threads.ts`.
 *
 * @module
 */

import type { GemmShare } from "./gemm.ts";
import type { HeapGemmCall } from "../gemm_call.ts";
import {
  ADAM_CONSTS,
  type AdamConsts,
  type MapArgs,
  MAX_ROW_DIMS,
  type RowArgs,
} from "./exports.ts";

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
  /** A map kernel over rows of a strided walk. */
  | { readonly op: "rows" } & RowArgs
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
  rows: 6,
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
    case "rows": {
      // 8 + 4 per dimension: at most MAX_ROW_DIMS dimensions fit the slots.
      const { dims, sx, sy, so } = task;
      if (dims.length > MAX_ROW_DIMS) {
        throw new RangeError(
          `wasm worker: a row task of ${dims.length} dims (at most ${MAX_ROW_DIMS})`,
        );
      }
      const per = dims.flatMap((s, d) => [s, sx[d], sy[d], so[d]]);
      ints(
        task.kernel,
        task.x,
        task.y,
        task.out,
        task.n,
        dims.length,
        task.start,
        task.end,
        ...per,
      );
      break;
    }
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
    case "rows": {
      const [kernel, x, y, out, n, nd, start, end] = [
        int(),
        ptr(),
        ptr(),
        ptr(),
        int(),
        int(),
        int(),
        int(),
      ];
      const dims: number[] = [], sx: number[] = [], sy: number[] = [], so: number[] = [];
      for (let d = 0; d < nd; d++) dims.push(int()), sx.push(int()), sy.push(int()), so.push(int());
      return { op, kernel, x, y, out, n, dims, sx, sy, so, start, end };
    }
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
