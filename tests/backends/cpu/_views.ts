/**
 * Strided views for the CPU backend's elementwise tests, and the host
 * reference that walks them: the position of each logical element from its
 * index by division (independent of the backend's row walk).
 *
 * @module
 */
import assert from "node:assert/strict";
import { CpuBackend } from "../../../backends/mod.ts";
import type { Backend, DType, TypedArray, View } from "../../../backends/mod.ts";

/** The CPU backend with its Wasm kernels, and with its TypeScript loops only. */
export const BACKENDS: readonly CpuBackend[] = [
  new CpuBackend("cpu-rows-simd"),
  new CpuBackend("cpu-rows-scalar", { simd: false }),
];

/** A layout: logical shape, strides, offset, and the storage size it needs. */
export interface Layout {
  shape: number[];
  strides: number[];
  offset: number;
}

/** Dense row-major strides. */
export function dense(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  for (let i = shape.length - 1, k = 1; i >= 0; k *= shape[i--]) s[i] = k;
  return s;
}

/** `shape` dense at `offset`. */
export function denseLayout(shape: number[], offset = 0): Layout {
  return { shape, strides: dense(shape), offset };
}

/** Storage positions of every element of `l`, in row-major logical order. */
export function positions(l: Layout): number[] {
  const n = l.shape.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let rest = i, p = l.offset;
    for (let d = l.shape.length - 1; d >= 0; d--) {
      const k = rest % l.shape[d];
      rest = Math.floor(rest / l.shape[d]);
      p += k * l.strides[d];
    }
    out.push(p);
  }
  return out;
}

/** Elements of storage `l` reaches (at least 1). */
export function span(l: Layout): number {
  return positions(l).reduce((m, p) => Math.max(m, p + 1), 1);
}

/** Deterministic data: values in [-3, 3), with special values mixed in when `specials`. */
export function data(n: number, seed: number, dtype: DType, specials = false): TypedArray {
  let x = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  if (dtype === "int32") {
    const extremes = [2147483647, -2147483648, 65536, -65537, 0];
    return Int32Array.from(
      { length: n },
      () => next() < 0.05 ? extremes[Math.floor(next() * 5)] : Math.floor(next() * 200) - 100,
    );
  }
  const odd = [NaN, Infinity, -Infinity, 0, -0];
  return Float32Array.from(
    { length: n },
    () => specials && next() < 0.05 ? odd[Math.floor(next() * 5)] : next() * 6 - 3,
  );
}

/** Uploads `values` to backend `b` and views them as `l`. */
export function upload(b: Backend, values: TypedArray, l: Layout, dtype: DType): View {
  const buf = b.alloc(values.length, dtype);
  b.write(buf, values);
  return { buffer: buf, dtype, shape: l.shape, strides: l.strides, offset: l.offset };
}

/** Frees the buffers of views and raw handles. */
export function release(b: Backend, ...bufs: unknown[]): void {
  for (const x of bufs) b.free(ArrayBuffer.isView(x) ? x : (x as View).buffer);
}

/** Asserts `got` equals `want` element for element (NaN equals NaN, -0 is not 0). */
export function assertSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) {
      assert.fail(`${what}: element ${i} is ${got[i]}, want ${want[i]}`);
    }
  }
}

/** Reads a backend buffer of n elements. */
export function read(b: Backend, buf: unknown, dtype: DType, n: number): TypedArray {
  return b.readSync!(buf, dtype, n);
}
