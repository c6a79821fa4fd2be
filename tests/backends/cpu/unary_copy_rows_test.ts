/**
 * The CPU backend's `unary`, `copy` and `cast` on dense, strided and
 * broadcast views, on the SIMD and the scalar instance, against host
 * references: float64 Math (in float32 ulp, with the bounds the Wasm
 * kernels are held to), exact results for the rest.
 */
import assert from "node:assert/strict";
import {
  assertSame,
  BACKENDS,
  data,
  denseLayout,
  type Layout,
  positions,
  read,
  release,
  span,
  upload,
} from "./_views.ts";
import { grid, MATH, SPECIALS, sweepInputs, ulps } from "./_math_ref.ts";
import type { DType, UnaryOp } from "../../../backends/mod.ts";

const wrap = (v: bigint) => Number(BigInt.asIntN(32, v));

/** Unary layouts: dense, transposed, strided, broadcast along the row, short rows, offsets. */
const LAYOUTS: Layout[] = [
  denseLayout([37, 70], 3),
  { shape: [37, 70], strides: [1, 37], offset: 0 },
  { shape: [37, 70], strides: [140, 2], offset: 1 },
  { shape: [37, 70], strides: [1, 0], offset: 2 },
  { shape: [50, 3], strides: [1, 50], offset: 0 },
  { shape: [2, 3, 5, 64], strides: [960, 64, 192, 1], offset: 0 },
  { shape: [], strides: [], offset: 4 },
];

/** Ops whose results are exact, with their host reference per dtype. */
const EXACT: Record<string, Partial<Record<DType, (x: number) => number>>> = {
  neg: { float32: (x) => -x, int32: (x) => wrap(-BigInt(x)) },
  abs: { float32: Math.abs, int32: (x) => wrap(BigInt(Math.abs(x))) },
  relu: { float32: (x) => (x > 0 || Number.isNaN(x) ? x : 0), int32: (x) => (x > 0 ? x : 0) },
  sign: { float32: (x) => (Number.isNaN(x) ? 0 : x > 0 ? 1 : x < 0 ? -1 : 0) },
};

Deno.test("CPU unary() neg/abs/relu/sign on strided and broadcast views are exact (float32 and int32)", () => {
  for (const l of LAYOUTS) {
    for (const dtype of ["float32", "int32"] as const) {
      const xv = data(span(l), 8, dtype, true), px = positions(l);
      for (const [op, refs] of Object.entries(EXACT)) {
        const ref = refs[dtype];
        if (!ref) continue;
        const want = px.map((p) => ref(xv[p]));
        for (const be of BACKENDS) {
          const x = upload(be, xv, l, dtype), out = be.alloc(want.length, dtype);
          be.unary(op as UnaryOp, x, out);
          const got = read(be, out, dtype, want.length);
          // relu(-0) may give either zero; everything else bit for bit.
          const norm = op === "relu" ? Array.from(got, (v) => v === 0 ? 0 : v) : got;
          assertSame(norm, want, `${be.name} ${op} ${dtype} ${JSON.stringify(l)}`);
          release(be, x, out);
        }
      }
    }
  }
});

/** Asserts every element of `got` is within `bound` ulp of `ref(xs[i])`. */
function assertUlps(
  got: ArrayLike<number>,
  xs: ArrayLike<number>,
  ref: (x: number) => number,
  bound: number,
  what: string,
): void {
  for (let i = 0; i < xs.length; i++) {
    const u = ulps(got[i], ref(xs[i]));
    if (u > bound) assert.fail(`${what}: ${u} ulp at x = ${xs[i]} (bound ${bound})`);
  }
}

Deno.test("CPU unary() exp/log/tanh/sigmoid/sqrt stay within their ulp bounds over a sweep of the float32 range, dense and transposed", () => {
  const sweep = sweepInputs();
  const inputs = [
    sweep,
    Float32Array.from(SPECIALS),
    grid(-105, 90, 2 ** -6),
    grid(-(2 ** -6), 2 ** -6, 2 ** -16),
  ];
  for (const [op, { ref, ulp }] of Object.entries(MATH)) {
    for (const be of BACKENDS) {
      for (const xs of inputs) {
        const x = upload(be, xs, denseLayout([xs.length]), "float32");
        const out = be.alloc(xs.length, "float32");
        be.unary(op as UnaryOp, x, out);
        assertUlps(read(be, out, "float32", xs.length), xs, ref, ulp, `${be.name} ${op} dense`);
        release(be, x, out);
      }
      // A transposed view of the first 1000×1000 sweep values (the SIMD
      // instance gathers it densely, then runs the kernel in place).
      const t: Layout = { shape: [1000, 1000], strides: [1, 1000], offset: 7 };
      const x = upload(be, sweep, t, "float32"), out = be.alloc(1e6, "float32");
      be.unary(op as UnaryOp, x, out);
      const xs = Float64Array.from(positions(t), (p) => sweep[p]);
      assertUlps(read(be, out, "float32", 1e6), xs, ref, ulp, `${be.name} ${op} transposed`);
      release(be, x, out);
    }
  }
});

Deno.test("CPU unary() math ops on small strided and broadcast views stay within their ulp bounds", () => {
  for (const l of LAYOUTS) {
    // Values over [-36, 36), specials included.
    const v = data(span(l), 9, "float32", true).map((x) => x * 12), px = positions(l);
    const want = px.map((p) => v[p]);
    for (const [op, { ref, ulp }] of Object.entries(MATH)) {
      for (const be of BACKENDS) {
        const x = upload(be, v, l, "float32"), out = be.alloc(px.length, "float32");
        be.unary(op as UnaryOp, x, out);
        assertUlps(read(be, out, "float32", px.length), want, ref, ulp, `${be.name} ${op}`);
        release(be, x, out);
      }
    }
  }
});

/** A copy case: source and destination layouts of one shape. */
interface CopyCase {
  name: string;
  x: Layout;
  out: Layout;
}

const HEADS = [4, 128, 9, 64];
const COPIES: CopyCase[] = [
  {
    name: "attention heads [2,8,3,64] → [2,3,8,64]",
    x: { shape: [2, 3, 8, 64], strides: [1536, 64, 192, 1], offset: 5 },
    out: denseLayout([2, 3, 8, 64]),
  },
  {
    name: "2-D transpose",
    x: { shape: [70, 37], strides: [1, 70], offset: 0 },
    out: denseLayout([70, 37], 2),
  },
  {
    name: "batched transpose (tiles) at an offset",
    x: { shape: [3, 70, 37], strides: [2600, 1, 70], offset: 9 },
    out: denseLayout([3, 70, 37], 1),
  },
  {
    name: "into a transposed destination",
    x: denseLayout([37, 70], 1),
    out: { shape: [37, 70], strides: [1, 37], offset: 3 },
  },
  {
    name: "expand a row",
    x: { shape: [37, 70], strides: [0, 1], offset: 1 },
    out: denseLayout([37, 70]),
  },
  {
    name: "strided rows into strided rows",
    x: { shape: [20, 30], strides: [90, 3], offset: 2 },
    out: { shape: [20, 30], strides: [60, 2], offset: 1 },
  },
  {
    name: "short rows",
    x: { shape: [40, 3], strides: [1, 40], offset: 0 },
    out: denseLayout([40, 3]),
  },
  { name: "rank 0", x: { shape: [], strides: [], offset: 3 }, out: denseLayout([], 1) },
  {
    name: "large heads [4,128,9,64] (split by rows)",
    x: { shape: [4, 9, 128, 64], strides: [73728, 64, 576, 1], offset: 0 },
    out: denseLayout([4, 9, 128, 64]),
  },
  {
    name: "large, six dims",
    x: { shape: [2, 2, 2, 2, 2, 8000], strides: [8000, 16000, 32000, 64000, 128000, 1], offset: 0 },
    out: denseLayout([2, 2, 2, 2, 2, 8000]),
  },
];

Deno.test("CPU copy() between strided views writes exactly the destination's elements (float32 and int32)", () => {
  assert.equal(HEADS.reduce((a, b) => a * b), 294912);
  for (const c of COPIES) {
    for (const dtype of ["float32", "int32"] as const) {
      const xv = data(span(c.x), 10, dtype, true);
      const ov = data(span(c.out), 11, dtype, true);
      const want = ov.slice();
      const po = positions(c.out);
      positions(c.x).forEach((p, i) => (want[po[i]] = xv[p]));
      for (const be of BACKENDS) {
        const x = upload(be, xv, c.x, dtype), out = upload(be, ov, c.out, dtype);
        be.copy(x, out);
        assertSame(read(be, out.buffer, dtype, ov.length), want, `${be.name} ${dtype} ${c.name}`);
        release(be, x, out);
      }
    }
  }
});

Deno.test("CPU copy() within one buffer goes element by element in row-major order", () => {
  // Destination one row below the source, rows overlapping: each element
  // read after the elements before it were written.
  const x: Layout = { shape: [8, 70], strides: [70, 1], offset: 0 };
  const out: Layout = { shape: [8, 70], strides: [70, 1], offset: 1 };
  const v = data(span(out), 12, "float32");
  const want = v.slice();
  const px = positions(x), po = positions(out);
  px.forEach((p, i) => (want[po[i]] = want[p]));
  for (const be of BACKENDS) {
    const buf = upload(be, v, x, "float32");
    be.copy(buf, { ...buf, offset: out.offset });
    assertSame(read(be, buf.buffer, "float32", v.length), want, `${be.name} overlapping copy`);
    release(be, buf);
  }
});

Deno.test("CPU cast() of strided views truncates float32 → int32 toward zero and widens int32 → float32", () => {
  const l: Layout = { shape: [37, 70], strides: [1, 37], offset: 1 };
  const fv = Float32Array.from(
    data(span(l), 13, "float32", true),
    (v, i) => i % 7 === 0 ? v * 1e9 : v,
  );
  const toInt = (v: number) => (Number.isFinite(v) ? wrap(BigInt(Math.trunc(v))) : 0);
  const iv = data(span(l), 14, "int32");
  const px = positions(l);
  for (const be of BACKENDS) {
    const x = upload(be, fv, l, "float32"), out = be.alloc(px.length, "int32");
    be.cast(x, "int32", out);
    assertSame(read(be, out, "int32", px.length), px.map((p) => toInt(fv[p])), `${be.name} f→i`);
    const y = upload(be, iv, l, "int32"), out2 = be.alloc(px.length, "float32");
    be.cast(y, "float32", out2);
    const want = px.map((p) => Math.fround(iv[p]));
    assertSame(read(be, out2, "float32", px.length), want, `${be.name} i→f`);
    release(be, x, out, y, out2);
  }
});
