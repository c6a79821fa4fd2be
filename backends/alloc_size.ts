/**
 * The allocation guard every backend's `alloc` runs first: a size must be a
 * non-negative safe integer within the backend's capacity, or the call is a
 * `RangeError` thrown before any state changes. A NaN or fractional size
 * that slipped past the tensor layer can therefore never reach an
 * allocator.
 *
 * @module
 */
import type { DType } from "./backend.ts";

/**
 * Throws unless `size` elements of `dtype` can be allocated.
 *
 * @param who The backend, for the message.
 * @param size Requested element count.
 * @param dtype Requested element type.
 * @param maxElements The backend's capacity in elements.
 * @throws {RangeError} for a size that is not a non-negative safe integer
 *   or exceeds `maxElements`.
 * @throws {TypeError} for an unknown dtype.
 */
export function checkAllocSize(
  who: string,
  size: number,
  dtype: DType,
  maxElements: number,
): void {
  if (dtype !== "float32" && dtype !== "int32") {
    throw new TypeError(`${who}: alloc of unknown dtype ${JSON.stringify(dtype)}`);
  }
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(
      `${who}: alloc size must be a non-negative safe integer, got ${String(size)} (${dtype})`,
    );
  }
  if (size > maxElements) {
    throw new RangeError(
      `${who}: alloc of ${size} ${dtype} elements exceeds this backend's limit of ${maxElements}`,
    );
  }
}
