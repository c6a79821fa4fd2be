/**
 * Package-internal: argument checks shared by the layers (and by `lora/`'s
 * LoraLinear, which checks its input as a Linear does); messages quote the
 * values. Not exported from `nn/mod.ts`.
 *
 * @module
 */

import type { Tensor } from "../tensor/mod.ts";

/** Formats a shape as `[2,3]`. */
export function _fmt(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** Throws unless `v` is a positive integer. */
export function _checkSize(who: string, what: string, v: unknown): void {
  if (typeof v !== "number") {
    throw new TypeError(`${who}: ${what} must be a number, got ${typeof v}`);
  }
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`${who}: ${what} must be a positive integer, got ${v}`);
  }
}

/** Throws a TypeError unless `x` is a float32 tensor. */
export function _checkFloat(who: string, x: Tensor): void {
  if (x.dtype !== "float32") {
    throw new TypeError(`${who}: expected a float32 input, got ${x.dtype}`);
  }
}

/** Throws a RangeError unless `x`'s last dimension is `n`. */
export function _checkLastDim(who: string, x: Tensor, n: number, what: string): void {
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== n) {
    throw new RangeError(
      `${who}: input shape ${_fmt(x.shape)} does not end in ${what} = ${n}`,
    );
  }
}

/** Throws a RangeError unless `p` is a probability in [0, 1]. */
export function _checkProb(who: string, p: unknown): void {
  if (typeof p !== "number") {
    throw new TypeError(`${who}: p must be a number, got ${typeof p}`);
  }
  if (!(p >= 0 && p <= 1)) {
    throw new RangeError(`${who}: p must be in [0, 1], got ${p}`);
  }
}

/**
 * Throws a RangeError naming the first index outside [0, n), when the
 * values can be read synchronously (the CPU backends); other backends skip
 * the check.
 *
 * @param who The caller and what the values are, for the message.
 * @param indices int32 tensor.
 * @param n Exclusive upper bound.
 */
export function _checkIndexRange(who: string, indices: Tensor, n: number): void {
  const data = _tryReadSync(indices);
  if (data === null) return;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!(v >= 0 && v < n)) {
      throw new RangeError(
        `${who} ${v} at position ${i} is out of range [0, ${n}) ` +
          `(shape ${_fmt(indices.shape)})`,
      );
    }
  }
}

/** The values when the backend reads synchronously, else `null`. */
export function _tryReadSync(t: Tensor): Float32Array | Int32Array | null {
  try {
    return t.dataSync();
  } catch {
    return null; // this backend reads back asynchronously only
  }
}
