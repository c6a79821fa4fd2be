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

/**
 * A value as an error message quotes it: numbers and arrays as written
 * (holes shown as `<hole>`), strings quoted, other kinds by their type.
 */
export function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) {
    const parts: string[] = [];
    for (let i = 0; i < v.length && i < 16; i++) parts.push(i in v ? describe(v[i]) : "<hole>");
    return `[${parts.join(",")}${v.length > 16 ? ",…" : ""}]`;
  }
  if (typeof v === "function") return "a function";
  if (typeof v === "symbol") return "a symbol";
  const name = (v as object).constructor?.name;
  return name && name !== "Object" ? `a ${name}` : "an object";
}

/**
 * Validates a shape argument: an array (no holes) of non-negative safe
 * integers whose product is a safe integer. With `inferOne`, entries of −1
 * are let through for the caller to resolve.
 *
 * @param shape The argument.
 * @param what The op, for messages.
 * @param inferOne Allow −1 entries (reshape, expand).
 * @returns The shape as a plain array.
 * @throws {TypeError} when it is not an array or holds a hole or a non-number.
 * @throws {RangeError} when a size is fractional, NaN, infinite, negative, or
 *   the element count is not a safe integer.
 */
export function checkShape(shape: unknown, what: string, inferOne = false): number[] {
  if (!Array.isArray(shape)) {
    throw new TypeError(`${what}: shape must be an array of integers, got ${describe(shape)}`);
  }
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    const s = shape[i];
    if (!(i in shape) || typeof s !== "number") {
      throw new TypeError(
        `${what}: shape ${describe(shape)} has a non-number at index ${i}`,
      );
    }
    if (!Number.isSafeInteger(s) || s < (inferOne ? -1 : 0)) {
      throw new RangeError(`${what}: invalid size ${s} in shape ${describe(shape)}`);
    }
    if (s >= 0) n *= s;
  }
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(`${what}: shape ${describe(shape)} has too many elements (${n})`);
  }
  return [...shape];
}

// One home for the layout helpers the backends share too.
export { contiguousStrides, isContiguous, numel } from "../backends/layout.ts";

/**
 * NumPy/PyTorch broadcast of two shapes.
 *
 * @throws {RangeError} when a pair of sizes differs and neither is 1.
 */
export function broadcastShapes(
  a: readonly number[],
  b: readonly number[],
  what = "broadcast",
): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new RangeError(
        `${what}: cannot broadcast shapes ${fmtShape(a)} and ${fmtShape(b)}`,
      );
    }
    out[i] = x === 1 ? y : x;
  }
  return out;
}

/**
 * Normalises a possibly negative dim against a rank.
 *
 * @throws {TypeError} when it is not a number.
 * @throws {RangeError} when it is not an integer or out of range.
 */
export function normDim(dim: number, ndim: number, what = "dim"): number {
  if (typeof dim !== "number") {
    throw new TypeError(`${what} must be an integer, got ${describe(dim)}`);
  }
  if (!Number.isInteger(dim)) {
    throw new RangeError(`${what} must be an integer, got ${dim}`);
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

/**
 * Reads `keepdim` from a reduction's options (false when absent).
 *
 * @throws {TypeError} when the options are not an object or keepdim not a boolean.
 */
export function keepdimOf(opts: unknown, what: string): boolean {
  if (opts === undefined) return false;
  if (opts === null || typeof opts !== "object") {
    throw new TypeError(`${what}: options must be an object, got ${describe(opts)}`);
  }
  const k = (opts as { keepdim?: unknown }).keepdim;
  if (k !== undefined && typeof k !== "boolean") {
    throw new TypeError(`${what}: keepdim must be a boolean, got ${describe(k)}`);
  }
  return k ?? false;
}

/**
 * Normalises a list of dims: sorted, unique, in range.
 *
 * @throws {TypeError} when `dims` is not a number or an array of numbers.
 * @throws {RangeError} for a dim out of range or repeated.
 */
export function normDims(
  dims: number | readonly number[] | undefined,
  ndim: number,
  what = "dims",
): number[] {
  if (dims === undefined) return [...Array(ndim).keys()];
  if (typeof dims !== "number" && !Array.isArray(dims)) {
    throw new TypeError(
      `${what}: dim must be an integer or an array of integers, got ${describe(dims)}`,
    );
  }
  const list: number[] = typeof dims === "number" ? [dims] : [...dims];
  if (Array.isArray(dims)) {
    for (let i = 0; i < list.length; i++) {
      if (!(i in dims)) {
        throw new TypeError(`${what}: dims ${describe(dims)} have a hole at index ${i}`);
      }
    }
  }
  const norm = list.map((d) => normDim(d, ndim, `${what}: dim`));
  const out = [...new Set(norm)].sort((x, y) => x - y);
  if (out.length !== list.length) {
    throw new RangeError(`${what}: dims [${list.join(",")}] repeat a dimension`);
  }
  if (ndim === 0) return [];
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
