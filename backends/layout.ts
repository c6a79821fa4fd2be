/**
 * Shape and stride arithmetic of row-major layouts: the one home of these
 * helpers inside `backends/` (the CPU and WebGPU backends import them from
 * here, and the tensor layer's `shape.ts` may re-export them). Pure
 * functions over element counts; no storage is touched.
 *
 * @module
 */

/**
 * Element count of a shape: the product of its sizes (1 for a scalar, 0
 * when any size is 0).
 *
 * @param shape Sizes per dimension.
 * @returns The number of elements.
 * @example
 * ```ts
 * import { numel } from "./layout.ts";
 * numel([2, 3, 4]); // 24
 * numel([]); // 1
 * ```
 */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/**
 * Row-major strides of a dense layout of `shape` (the last dimension steps
 * by 1).
 *
 * @param shape Sizes per dimension.
 * @returns One stride per dimension, in elements.
 * @example
 * ```ts
 * import { contiguousStrides } from "./layout.ts";
 * contiguousStrides([2, 3, 4]); // [12, 4, 1]
 * ```
 */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/**
 * True when `strides` lay `shape` out densely in row-major order. A
 * dimension of size 1 may have any stride (it is never stepped).
 *
 * @param shape Sizes per dimension.
 * @param strides Elements to step per index of each dimension.
 * @returns Whether the layout is dense row-major.
 * @example
 * ```ts
 * import { isContiguous } from "./layout.ts";
 * isContiguous([2, 3], [3, 1]); // true
 * isContiguous([2, 3], [1, 2]); // false (a transpose)
 * isContiguous([2, 1], [1, 7]); // true (size-1 dims are free)
 * ```
 */
export function isContiguous(
  shape: readonly number[],
  strides: readonly number[],
): boolean {
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== s) return false;
    s *= shape[i];
  }
  return true;
}
