/**
 * Shared helpers of the WebGPU backend tests: one backend per run (tests
 * are skipped with a notice when no adapter exists), uploads, strided host
 * references and tolerant comparisons.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { BufferHandle, DType, View } from "../../../backends/backend.ts";
import { createWebGpuBackend, type WebGpuBackend } from "../../../backends/webgpu/mod.ts";
import { skipUnlessRequired } from "../../_backends.ts";

let made: WebGpuBackend | null = null;
try {
  made = await createWebGpuBackend();
} catch (err) {
  skipUnlessRequired("webgpu", (err as Error).message);
  console.log(
    `%cwebgpu tests SKIPPED: ${(err as Error).message}`,
    "color: yellow",
  );
}

/** The shared backend, or null when there is no adapter. */
export const backend: WebGpuBackend | null = made;

/** Registers a test that is skipped (not failed) without an adapter. */
export function gpuTest(name: string, fn: (b: WebGpuBackend) => Promise<void> | void): void {
  Deno.test({
    name: `webgpu: ${name}`,
    ignore: backend === null,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () => fn(backend!),
  });
}

/** Row-major strides. */
export function strides(shape: readonly number[]): number[] {
  const out: number[] = [];
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = s;
    s *= shape[d];
  }
  return out;
}

/** Number of elements. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Uploads `data` into a fresh buffer. */
export function upload(
  b: WebGpuBackend,
  data: ArrayLike<number>,
  dtype: DType = "float32",
): BufferHandle {
  const buf = b.alloc(data.length, dtype);
  b.write(buf, dtype === "float32" ? Float32Array.from(data) : Int32Array.from(data));
  return buf;
}

/** A view; strides default to row-major. */
export function view(
  buffer: BufferHandle,
  shape: number[],
  opts: { strides?: number[]; offset?: number; dtype?: DType } = {},
): View {
  return {
    buffer,
    dtype: opts.dtype ?? "float32",
    shape,
    strides: opts.strides ?? strides(shape),
    offset: opts.offset ?? 0,
  };
}

/** Reads a whole buffer of `n` elements as numbers. */
export async function readAll(
  b: WebGpuBackend,
  buf: BufferHandle,
  n: number,
  dtype: DType = "float32",
): Promise<number[]> {
  return Array.from(await b.read(buf, dtype, n));
}

/** Values of a view of host `data`, row-major. */
export function hostValues(data: ArrayLike<number>, v: View): number[] {
  const out: number[] = [];
  const n = numel(v.shape);
  for (let i = 0; i < n; i++) {
    let rem = i, off = v.offset;
    for (let d = v.shape.length - 1; d >= 0; d--) {
      off += (rem % v.shape[d]) * v.strides[d];
      rem = Math.floor(rem / v.shape[d]);
    }
    out.push(data[off]);
  }
  return out;
}

/** Deterministic pseudo-random numbers in [lo, hi). */
export function rand(n: number, seed = 1, lo = -1, hi = 1): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(lo + (hi - lo) * (s / 2 ** 32));
  }
  return out;
}

/** Elementwise |a − e| ≤ atol + rtol·|e| (NaN matches NaN, inf matches inf). */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol = 1e-6,
  rtol = 1e-5,
  what = "",
): void {
  assert.equal(actual.length, expected.length, `${what} length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(a), `${what}[${i}]: expected NaN, got ${a}`);
    } else if (!Number.isFinite(e)) {
      assert.equal(a, e, `${what}[${i}]`);
    } else {
      assert.ok(
        Math.abs(a - e) <= atol + rtol * Math.abs(e),
        `${what}[${i}]: got ${a}, expected ${e} (diff ${Math.abs(a - e)})`,
      );
    }
  }
}

/** float64 erfc: series below 2, continued fraction above. */
export function erfc64(x: number): number {
  if (x < 0) return 2 - erfc64(-x);
  if (x < 2) return 1 - erf64(x);
  let k = x;
  for (let n = 300; n >= 1; n--) k = x + (n / 2) / k;
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * k);
}

/** float64 erf by its positive-term series `2/√π·e^{-x²}·Σ 2ⁿx^{2n+1}/(2n+1)!!`. */
export function erf64(x: number): number {
  if (x < 0) return -erf64(-x);
  if (x >= 2) return 1 - erfc64(x);
  let term = x, sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
    if (term < 1e-18 * sum) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

/** float64 standard normal CDF. */
export function phi64(x: number): number {
  return 0.5 * erfc64(-x / Math.SQRT2);
}

/** float64 batched matmul of two (already broadcast) views of host data. */
export function hostMatmul(ad: number[], a: View, bd: number[], b: View): number[] {
  const av = hostValues(ad, a), bv = hostValues(bd, b);
  const [m, k] = a.shape.slice(-2), n = b.shape[b.shape.length - 1];
  const batches = numel(a.shape.slice(0, -2));
  const out: number[] = [];
  for (let z = 0; z < batches; z++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += av[z * m * k + i * k + p] * bv[z * k * n + p * n + j];
        out.push(s);
      }
    }
  }
  return out;
}
