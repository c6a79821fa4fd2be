/**
 * The fuzz suite's independent reference: dense row-major arrays in float64
 * on the host, with PyTorch's rules for shapes and validity written out
 * again from scratch (nothing here or in the other `_ref*.ts` files imports
 * the library). Every op either returns a {@link Ref} or throws
 * {@link Invalid} naming the error class the library must throw.
 *
 * This file holds the {@link Ref} class and what every reference shares:
 * indexing, float32 rounding, argument checks (dims, shapes, options),
 * broadcasting and casts. The ops themselves are in `_ref_math.ts`
 * (elementwise, `where`, `matmul`), `_ref_reduce.ts` (reductions, softmax),
 * `_ref_shape.ts` (views, copies, joins, `assign`), `_ref_nn.ts` and
 * `_ref_linalg.ts`.
 *
 * @module
 */

/** Element types, as the library names them. */
export type RDType = "float32" | "int32";

/** A dense host array: shape, float64 values, dtype. */
export class Ref {
  /** True for an expanded view: several elements share one location. */
  overlapping = false;
  constructor(
    readonly shape: readonly number[],
    readonly data: Float64Array,
    readonly dtype: RDType,
  ) {}
  get size(): number {
    return this.data.length;
  }
  get ndim(): number {
    return this.shape.length;
  }
}

/** The library must throw this class for this call. */
export class Invalid extends Error {
  constructor(readonly kind: "TypeError" | "RangeError", message: string) {
    super(message);
  }
}

/** Throws {@link Invalid} with a TypeError kind. */
export const typeErr = (m: string): never => {
  throw new Invalid("TypeError", m);
};
/** Throws {@link Invalid} with a RangeError kind. */
export const rangeErr = (m: string): never => {
  throw new Invalid("RangeError", m);
};

export function numel(shape: readonly number[]): number {
  return shape.reduce((p, s) => p * s, 1);
}

export function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

/** Calls `f(flatIndex, multiIndex)` for every position of `shape` in order. */
export function forEachIndex(
  shape: readonly number[],
  f: (i: number, idx: number[]) => void,
): void {
  const n = numel(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    f(i, idx);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

let exact = false;
/**
 * With `on`, float32 results are not rounded: the finite-difference
 * gradient check then differentiates the exact float64 function.
 */
export function setExact(on: boolean): void {
  exact = on;
}
/** float32 rounding (none in exact mode). */
export function f32(v: number): number {
  return exact ? v : Math.fround(v);
}

/** float32 or int32 rounding of a float64 value. */
export function roundTo(dtype: RDType, v: number): number {
  return dtype === "float32" ? f32(v) : v | 0;
}

export function make(shape: readonly number[], dtype: RDType, f: (idx: number[]) => number): Ref {
  const out = new Float64Array(numel(shape));
  forEachIndex(shape, (i, idx) => (out[i] = f(idx)));
  return new Ref([...shape], out, dtype);
}

/** Element at a multi-index (row-major). */
export function at(r: Ref, idx: readonly number[]): number {
  let p = 0, s = 1;
  for (let d = r.shape.length - 1; d >= 0; d--) {
    p += idx[d] * s;
    s *= r.shape[d];
  }
  return r.data[p];
}

// ---- argument checks (the spec of what is valid) ----

export function isIntNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v);
}

/** PyTorch's dim normalisation (a 0-d tensor takes 0 and −1). */
export function dimOf(dim: unknown, ndim: number): number {
  if (typeof dim !== "number") return typeErr(`dim ${String(dim)}`);
  if (!Number.isInteger(dim)) return rangeErr(`dim ${dim}`);
  const n = Math.max(ndim, 1);
  const d = dim < 0 ? dim + n : dim;
  if (d < 0 || d >= n) return rangeErr(`dim ${dim} out of range`);
  return d;
}

/** Sorted unique dims; a repeat is an error; undefined means all. */
export function dimsOf(dims: unknown, ndim: number): number[] {
  if (dims === undefined) return [...Array(ndim).keys()];
  if (typeof dims !== "number" && !Array.isArray(dims)) return typeErr("dims kind");
  const list = typeof dims === "number" ? [dims] : dims as unknown[];
  for (let i = 0; i < list.length; i++) if (!(i in list)) typeErr("dims hole");
  const norm = list.map((d) => dimOf(d, ndim));
  if (new Set(norm).size !== norm.length) rangeErr("repeated dim");
  return ndim === 0 ? [] : [...new Set(norm)].sort((a, b) => a - b);
}

/** A shape argument: array, no holes, numbers, non-negative safe integers (−1 where allowed). */
export function shapeOf(shape: unknown, inferOne = false): number[] {
  if (!Array.isArray(shape)) return typeErr("shape kind");
  for (let i = 0; i < shape.length; i++) {
    if (!(i in shape) || typeof shape[i] !== "number") typeErr("shape entry");
    const s = shape[i] as number;
    if (!Number.isSafeInteger(s) || s < (inferOne ? -1 : 0)) rangeErr("shape size");
  }
  return [...shape] as number[];
}

export function keepdimOf(opts: unknown): boolean {
  if (opts === undefined) return false;
  if (opts === null || typeof opts !== "object") return typeErr("options kind");
  const k = (opts as { keepdim?: unknown }).keepdim;
  if (k === undefined) return false;
  if (typeof k !== "boolean") return typeErr("keepdim kind");
  return k;
}

export function broadcast(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1, y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) rangeErr("broadcast");
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Reads `r` broadcast to `shape`. */
export function broadcastTo(r: Ref, shape: readonly number[]): Ref {
  const off = shape.length - r.ndim;
  return make(shape, r.dtype, (idx) => at(r, r.shape.map((s, d) => (s === 1 ? 0 : idx[off + d]))));
}

export function castTo(r: Ref, dtype: RDType): Ref {
  if (r.dtype === dtype) return r;
  const out = r.data.map((v) => dtype === "float32" ? f32(v) : v | 0 // JavaScript's ToInt32, as documented
  );
  return new Ref(r.shape, out, dtype);
}
