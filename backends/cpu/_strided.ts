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
