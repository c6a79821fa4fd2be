/**
 * Shape and stride arithmetic shared by the tensor layer: broadcasting,
 * dims, contiguous strides. Pure functions; no storage is touched.
 *
 * @module
 */

/** Formats a shape the way error messages quote it: `[2,3]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** Product of a shape's sizes (1 for a scalar). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Row-major strides of a contiguous tensor of this shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** True when shape/strides describe a row-major dense layout. */
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

/**
 * NumPy/PyTorch broadcast of two shapes.
 *
 * @throws {RangeError} when a pair of sizes differs and neither is 1.
 */
export function broadcastShapes(
  a: readonly number[],
  b: readonly number[],
): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new RangeError(
        `Cannot broadcast shapes ${fmtShape(a)} and ${fmtShape(b)}`,
      );
    }
    out[i] = x === 1 ? y : x;
  }
  return out;
}

/**
 * Normalises a possibly negative dim against a rank.
 *
 * @throws {RangeError} when it is out of range.
 */
export function normDim(dim: number, ndim: number, what = "dim"): number {
  if (!Number.isInteger(dim)) {
    throw new TypeError(`${what} must be an integer, got ${dim}`);
  }
  // A 0-d tensor accepts dim 0 and -1, as in PyTorch (callers treat it as 1-D).
  const n = Math.max(ndim, 1);
  const d = dim < 0 ? dim + n : dim;
  if (d < 0 || d >= n) {
    throw new RangeError(
      `${what} ${dim} is out of range for a tensor of rank ${ndim} (expected ${-n}..${n - 1})`,
    );
  }
  return d;
}

/** Normalises a list of dims: sorted, unique, in range. */
export function normDims(
  dims: number | readonly number[] | undefined,
  ndim: number,
): number[] {
  if (dims === undefined) return [...Array(ndim).keys()];
  const list = typeof dims === "number" ? [dims] : dims;
  if (ndim === 0) {
    list.forEach((d) => normDim(d, 0));
    return [];
  }
  const out = [...new Set(list.map((d) => normDim(d, ndim)))].sort((x, y) => x - y);
  if (out.length !== list.length) {
    throw new RangeError(`dims [${list.join(",")}] repeat a dimension`);
  }
  return out;
}

/** Strides of a view broadcast (stride 0) from `shape` to `target`. */
export function broadcastStrides(
  shape: readonly number[],
  strides: readonly number[],
  target: readonly number[],
): number[] {
  const off = target.length - shape.length;
  const out = new Array<number>(target.length).fill(0);
  for (let i = 0; i < shape.length; i++) {
    out[off + i] = shape[i] === 1 && target[off + i] !== 1 ? 0 : strides[i];
  }
  return out;
}

/** True when two shapes are equal. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}
