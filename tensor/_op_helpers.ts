/**
 * Helpers shared by the op files of this folder (private to `tensor/`):
 * allocation of outputs (always through the checked {@link empty}), views,
 * argument checks and number operands.
 *
 * @module
 */
import type { Backend, DType, TypedArray } from "../backends/backend.ts";
import { Storage } from "./memory.ts";
import { broadcastStrides, checkShape, describe, fmtShape, numel } from "./shape.ts";
import { Tensor, type TensorLike } from "./tensor.ts";

/**
 * A fresh contiguous tensor on `backend`. The shape is checked again here,
 * whatever the op computed, so no NaN or fractional size reaches storage.
 */
export function empty(shape: readonly number[], dtype: DType, backend: Backend): Tensor {
  checkShape(shape, "alloc");
  return new Tensor(Storage.alloc(backend, numel(shape), dtype), shape);
}

/** A tensor holding `data` on `backend`. */
export function fromData(
  data: TypedArray,
  shape: readonly number[],
  backend: Backend,
): Tensor {
  const t = empty(shape, data instanceof Int32Array ? "int32" : "float32", backend);
  if (data.length > 0) backend.write(t._storage.buffer, data);
  return t;
}

/**
 * A fresh tensor whose values `fill` makes on the host. The storage is
 * allocated first, so a request the backend refuses costs no host array
 * (and `fill`, e.g. the seeded generator, does not run).
 */
export function filledBy(
  shape: readonly number[],
  dtype: DType,
  backend: Backend,
  fill: (n: number) => TypedArray,
): Tensor {
  const t = empty(shape, dtype, backend);
  try {
    const data = fill(t.size);
    if (data.length > 0) backend.write(t._storage.buffer, data);
  } catch (e) {
    t.dispose();
    throw e;
  }
  return t;
}

/** A tensor of one repeated value. */
export function full(
  shape: readonly number[],
  value: number,
  dtype: DType,
  backend: Backend,
): Tensor {
  return filledBy(
    shape,
    dtype,
    backend,
    (n) => (dtype === "int32" ? new Int32Array(n) : new Float32Array(n)).fill(value),
  );
}

/** A view of `t`'s storage with new metadata. */
export function view(
  t: Tensor,
  shape: readonly number[],
  strides: readonly number[],
  offset = t.offset,
): Tensor {
  return new Tensor(t._storage, shape, strides, offset);
}

/** Throws a TypeError naming both backends when `a` and `b` live on different ones. */
export function sameBackend(a: Tensor, b: Tensor, what: string): void {
  if (a._backend !== b._backend) {
    throw new TypeError(
      `${what}: tensors are on different backends ("${a.backend}" and "${b.backend}"); move one with await t.to("${a.backend}")`,
    );
  }
}

/** Throws a TypeError unless `t` is float32. */
export function requireFloat(t: Tensor, what: string): void {
  if (t.dtype !== "float32") {
    throw new TypeError(
      `${what} needs a float32 tensor, got ${t.dtype} of shape ${fmtShape(t.shape)}`,
    );
  }
}

const INT32_MIN = -2147483648, INT32_MAX = 2147483647;

/** True for a number an int32 tensor holds exactly (−0 is a float: its sign matters). */
export function isInt32(x: number): boolean {
  return Number.isInteger(x) && x >= INT32_MIN && x <= INT32_MAX && !Object.is(x, -0);
}

/** Checks an operand is a tensor or a number (before anything is made). */
export function checkOperand(x: unknown, what: string): void {
  if (!(x instanceof Tensor) && typeof x !== "number") {
    throw new TypeError(`${what}: expected a Tensor or a number, got ${describe(x)}`);
  }
}

/**
 * Turns a number into a scalar tensor beside `like`: int32 when `like` is
 * int32 and the number is an int32 value, else float32.
 */
export function lift(x: TensorLike, like: Tensor, what: string): Tensor {
  checkOperand(x, what);
  if (x instanceof Tensor) return x;
  const dtype = like.dtype === "int32" && isInt32(x) ? "int32" : "float32";
  return full([], x, dtype, like._backend);
}

/** `t`'s view with strides broadcast to `shape` (stride 0 on new or size-1 dims). */
export function broadcastView(t: Tensor, shape: readonly number[]) {
  return {
    ...t._view(),
    shape,
    strides: broadcastStrides(t.shape, t.strides, shape),
  };
}
