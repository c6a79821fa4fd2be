/**
 * Walking strided views in plain TypeScript: the CPU backend's portable
 * path (private to `cpu/`; the op files build on it).
 *
 * @module
 */
import type { BufferHandle, TypedArray, View } from "../backend.ts";
import { isContiguous, numel } from "../layout.ts";

/** Strides (and shape) of no dimensions: a walk's unused operand. */
export const ZERO: readonly number[] = [];

/** A CPU buffer handle as the TypedArray it is. */
export function arr(b: BufferHandle): TypedArray {
  return b as TypedArray;
}

/** 1 if the view is dense row-major, 0 if every stride is 0, else -1. */
export function denseKind(v: View): number {
  if (isContiguous(v.shape, v.strides)) return 1;
  return v.shape.every((s, i) => s === 1 || v.strides[i] === 0) ? 0 : -1;
}

/**
 * Walks every index of `shape` in row-major order, calling `body` with the
 * storage position of each of up to three strided operands.
 */
export function walk3(
  shape: readonly number[],
  s0: readonly number[],
  o0: number,
  s1: readonly number[],
  o1: number,
  s2: readonly number[],
  o2: number,
  body: (p0: number, p1: number, p2: number) => void,
): void {
  const nd = shape.length;
  const total = numel(shape);
  if (total === 0) return;
  if (nd === 0) {
    body(o0, o1, o2);
    return;
  }
  const inner = shape[nd - 1];
  const i0 = s0[nd - 1], i1 = s1[nd - 1], i2 = s2[nd - 1];
  const idx = new Array<number>(nd).fill(0);
  let p0 = o0, p1 = o1, p2 = o2;
  for (let done = 0; done < total; done += inner) {
    for (let j = 0; j < inner; j++) body(p0 + j * i0, p1 + j * i1, p2 + j * i2);
    for (let d = nd - 2; d >= 0; d--) {
      p0 += s0[d];
      p1 += s1[d];
      p2 += s2[d];
      if (++idx[d] < shape[d]) break;
      p0 -= s0[d] * shape[d];
      p1 -= s1[d] * shape[d];
      p2 -= s2[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/**
 * A walk over a shape as rows: the innermost coalesced dimension is the
 * row, the others the outer index space. Every operand's layout is kept:
 * `outer[k]` are operand k's strides over `dims`, `inner[k]` its stride
 * along the row (1 dense, 0 broadcast, anything else strided).
 */
export interface Rows {
  /** Elements per row. */
  readonly n: number;
  /** Number of rows (the product of `dims`). */
  readonly count: number;
  /** Sizes of the outer dimensions, row-major. */
  readonly dims: number[];
  /** Per operand: its strides over `dims`. */
  readonly outer: number[][];
  /** Per operand: its stride along the row. */
  readonly inner: number[];
}

/**
 * Coalesces the layouts of operands that walk `shape` together (each with
 * its own `strides`): size-1 dimensions drop out, and neighbouring
 * dimensions merge where every operand steps over them as over one (stride
 * of the outer = stride of the inner × its size). A dense tensor becomes
 * one row, `a[R, C] * b[C]` R rows of C, `a[R, C] * b[R, 1]` R rows with b
 * broadcast along each. A rank-0 or size-0 shape is one row of `numel`.
 * `denseOut` appends one more operand: the dense output the op writes
 * (it merges wherever the others do, so it is laid out afterwards).
 */
export function rowsOf(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  denseOut = false,
): Rows {
  const total = numel(shape), k = strides.length;
  // Innermost first while collecting; a merged dimension keeps the stride
  // of its inner part.
  const sizes: number[] = [], st: number[][] = [];
  for (let j = 0; j < k; j++) st.push([]);
  for (let d = shape.length - 1; d >= 0 && total > 0; d--) {
    const s = shape[d], last = sizes.length - 1;
    if (s === 1) continue;
    let merge = last >= 0;
    for (let j = 0; j < k && merge; j++) merge = strides[j][d] === st[j][last] * sizes[last];
    if (merge) sizes[last] *= s;
    else {
      sizes.push(s);
      for (let j = 0; j < k; j++) st[j].push(strides[j][d]);
    }
  }
  if (sizes.length === 0) sizes.push(total);
  if (st.length && st[0].length < sizes.length) st.forEach((o) => o.push(1));
  if (denseOut) {
    const o: number[] = [];
    for (let d = 0, step = 1; d < sizes.length; step *= sizes[d++]) o.push(step);
    st.push(o);
  }
  const n = sizes[0];
  return {
    n,
    count: n === 0 ? 1 : total / n,
    dims: sizes.slice(1).reverse(),
    outer: st.map((o) => o.slice(1).reverse()),
    inner: st.map((o) => o[0]),
  };
}

/**
 * Calls `body` with the position of each row of `r` in operands 0..2
 * (their first elements at `o0`, `o1`, `o2`), rows [start, end) in
 * row-major order. Operands beyond those `r` was made with stay at 0.
 */
export function eachRow(
  r: Rows,
  o0: number,
  o1: number,
  o2: number,
  body: (p0: number, p1: number, p2: number) => void,
  start = 0,
  end: number = r.count,
): void {
  const { dims, outer } = r;
  const nd = dims.length;
  const none = new Array<number>(nd).fill(0);
  const s0 = outer[0] ?? none, s1 = outer[1] ?? none, s2 = outer[2] ?? none;
  const idx = new Array<number>(nd).fill(0);
  let p0 = o0, p1 = o1, p2 = o2;
  for (let d = nd - 1, q = start; d >= 0; d--) {
    const i = q % dims[d];
    q = (q - i) / dims[d];
    idx[d] = i;
    p0 += i * s0[d], p1 += i * s1[d], p2 += i * s2[d];
  }
  for (let row = start; row < end; row++) {
    body(p0, p1, p2);
    for (let d = nd - 1; d >= 0; d--) {
      p0 += s0[d], p1 += s1[d], p2 += s2[d];
      if (++idx[d] < dims[d]) break;
      const k = dims[d];
      p0 -= k * s0[d], p1 -= k * s1[d], p2 -= k * s2[d];
      idx[d] = 0;
    }
  }
}
