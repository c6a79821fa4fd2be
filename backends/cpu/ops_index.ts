/**
 * The CPU backend's row indexing: gather (embedding lookups) and the
 * in-order scatter-add (their gradient).
 *
 * @module
 */
import type { BufferHandle, View } from "../backend.ts";
import { numel } from "../layout.ts";
import { arr, walk3, ZERO } from "./_strided.ts";

/**
 * Rows of x [R, …] picked by int32 `index` [n] into contiguous out [n, …].
 *
 * @throws {RangeError} for an index outside [0, R).
 */
export function gather(x: View, index: View, out: BufferHandle): void {
  const xs = arr(x.buffer), is = arr(index.buffer), o = arr(out);
  const rows = x.shape[0], rest = x.shape.slice(1);
  const n = index.shape[0], inner = numel(rest);
  for (let r = 0; r < n; r++) {
    const k = is[index.offset + r * (index.strides[0] ?? 0)];
    if (k < 0 || k >= rows) {
      throw new RangeError(`index ${k} is out of range for ${rows} rows`);
    }
    let j = r * inner;
    walk3(rest, x.strides.slice(1), x.offset + k * x.strides[0], ZERO, 0, ZERO, 0, (p) => {
      o[j++] = xs[p];
    });
  }
}

/** Adds the rows of src [n, …] into the rows `index` [n] of out, in order. */
export function scatterAdd(out: View, index: View, src: View): void {
  const o = arr(out.buffer), is = arr(index.buffer), ss = arr(src.buffer);
  const n = index.shape[0], rest = src.shape.slice(1);
  for (let r = 0; r < n; r++) {
    const k = is[index.offset + r * (index.strides[0] ?? 0)];
    walk3(
      rest,
      src.strides.slice(1),
      src.offset + r * src.strides[0],
      out.strides.slice(1),
      out.offset + k * out.strides[0],
      ZERO,
      0,
      (p, q) => {
        o[q] += ss[p];
      },
    );
  }
}
