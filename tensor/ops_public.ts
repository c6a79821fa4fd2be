/**
 * The free-function ops of the public API, documented.
 *
 * @module
 */
import { failSafe } from "./memory.ts";
import * as elementwise from "./ops_elementwise.ts";
import * as joins from "./ops_matmul.ts";
import type { Tensor, TensorLike } from "./tensor.ts";

/**
 * Joins tensors along an existing dim.
 *
 * @param tensors Same dtype and backend; equal sizes outside `dim`.
 * @param dim The dim to join along (may be negative).
 * @returns A new tensor.
 * @throws {RangeError} when sizes outside `dim` differ.
 * @example
 * ```ts
 * import { cat, ones, zeros } from "../mod.ts";
 * cat([ones([2, 3]), zeros([1, 3])], 0); // [3, 3]
 * ```
 */
export function cat(tensors: readonly Tensor[], dim: number): Tensor {
  return failSafe(() => joins.cat(tensors, dim));
}

/**
 * Joins equal-shaped tensors along a new dim.
 *
 * @param tensors Equal shapes.
 * @param dim Where the new dim goes.
 * @returns A new tensor.
 * @throws {RangeError} when shapes differ.
 * @example
 * ```ts
 * import { ones, stack } from "../mod.ts";
 * stack([ones([3]), ones([3])], 0); // [2, 3]
 * ```
 */
export function stack(tensors: readonly Tensor[], dim: number): Tensor {
  return failSafe(() => joins.stack(tensors, dim));
}

/**
 * Picks `a` where `cond` is non-zero, else `b`, broadcasting all three.
 *
 * @param cond Condition (non-zero is true).
 * @param a Values where true (tensor or number).
 * @param b Values where false (tensor or number).
 * @returns A new tensor.
 * @example
 * ```ts
 * import { tensor, where } from "../mod.ts";
 * const x = tensor([-1, 2]);
 * where(x.gt(0), x, 0); // [0, 2]
 * ```
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  return failSafe(() => elementwise.where(cond, a, b));
}
