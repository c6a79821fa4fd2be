/**
 * The CPU backend's `binary` and `where` on broadcast and strided views
 * (the row walk: Wasm kernels on dense/broadcast rows, TypeScript loops on
 * the rest, the element walk on short rows), on both the SIMD and the
 * scalar instance, held exactly to a float64 host reference: float32
 * add/sub/mul/div of float32 values rounded once equal the float64 result
 * rounded to float32, int32 results wrap (checked through BigInt).
 */
import {
  assertSame,
  BACKENDS,
  data,
  dense,
  denseLayout,
  type Layout,
  positions,
  read,
  release,
  span,
  upload,
} from "./_views.ts";
import type { BinaryOp, DType } from "../../../backends/mod.ts";

/** A pair of operand layouts over one shape. */
interface Case {
  name: string;
  a: Layout;
  b: Layout;
}

/** Layouts of `shape`: `sa`/`sb` strides and offsets. */
function pair(name: string, shape: number[], sa: number[], sb: number[], oa = 0, ob = 0): Case {
  return { name, a: { shape, strides: sa, offset: oa }, b: { shape, strides: sb, offset: ob } };
}

/** Small and large (worker-split) broadcast and strided layouts. */
function cases(): Case[] {
  const [R, C] = [37, 70];
  return [
    pair("dense", [R, C], [C, 1], [C, 1], 3, 1),
    pair("row broadcast", [R, C], [C, 1], [0, 1], 0, 2),
    pair("column broadcast", [R, C], [C, 1], [1, 0], 1, 0),
    pair("broadcast first operand", [R, C], [0, 1], [C, 1]),
    pair("row vector times column vector", [R, C], [0, 1], [1, 0], 2, 5),
    pair("both scalars", [R, C], [0, 0], [0, 0], 4, 7),
    pair("transposed first operand", [R, C], [1, R], [C, 1]),
    pair("strided rows", [R, C], [2 * C, 2], [0, 3], 1, 0),
    pair("short rows", [40, 3], [3, 1], [0, 1]),
    pair("short strided rows", [40, 3], [1, 40], [1, 0]),
    pair("heads, 4-D broadcast", [2, 3, 5, 64], dense([2, 3, 5, 64]), [15, 5, 1, 0]),
    pair("rank 6 with alternating broadcasts", [2, 3, 2, 3, 2, 20], dense([2, 3, 2, 3, 2, 20]), [
      0,
      40,
      0,
      20,
      0,
      1,
    ]),
    pair("size-1 dims and an empty row", [3, 1, 0], [0, 9, 1], [1, 1, 1]),
    pair("rank 0", [], [], [], 2, 0),
    pair("large row broadcast (split by rows)", [600, 576], [576, 1], [0, 1]),
    pair("large column broadcast (split by rows)", [600, 576], [576, 1], [1, 0]),
    pair(
      "large, five outer dims (one thread)",
      [2, 3, 4, 5, 6, 200],
      dense([2, 3, 4, 5, 6, 200]),
      [0, 1200, 0, 240, 0, 1].map((s, i) => i === 3 ? 0 : s),
    ),
  ];
}

const F32: Record<string, (x: number, y: number) => number> = {
  add: (x, y) => Math.fround(x + y),
  sub: (x, y) => Math.fround(x - y),
  mul: (x, y) => Math.fround(x * y),
  div: (x, y) => Math.fround(x / y),
  pow: (x, y) => Math.fround(Math.pow(x, y)),
  eq: (x, y) => +(x === y),
  lt: (x, y) => +(x < y),
  gt: (x, y) => +(x > y),
};

const big = (v: number) => BigInt(v);
const wrap = (v: bigint) => Number(BigInt.asIntN(32, v));
const I32: Record<string, (x: number, y: number) => number> = {
  add: (x, y) => wrap(big(x) + big(y)),
  sub: (x, y) => wrap(big(x) - big(y)),
  mul: (x, y) => wrap(big(x) * big(y)),
  eq: (x, y) => +(x === y),
  lt: (x, y) => +(x < y),
  gt: (x, y) => +(x > y),
};

/** Runs `op` on every backend and case in `dtype` and compares with `ref`. */
function check(dtype: DType, refs: Record<string, (x: number, y: number) => number>): void {
  for (const c of cases()) {
    const av = data(span(c.a), 1, dtype, true), bv = data(span(c.b), 2, dtype, true);
    const pa = positions(c.a), pb = positions(c.b);
    for (const [op, ref] of Object.entries(refs)) {
      const want = pa.map((p, i) => ref(av[p], bv[pb[i]]));
      for (const be of BACKENDS) {
        const a = upload(be, av, c.a, dtype), b = upload(be, bv, c.b, dtype);
        const out = be.alloc(want.length, dtype);
        be.binary(op as BinaryOp, a, b, out);
        assertSame(read(be, out, dtype, want.length), want, `${be.name} ${dtype} ${op} ${c.name}`);
        release(be, a, b, out);
      }
    }
  }
}

Deno.test("CPU binary() on broadcast and strided float32 views equals the float64 reference rounded", () => {
  check("float32", F32);
});

Deno.test("CPU binary() on broadcast and strided int32 views wraps like int32", () => {
  check("int32", I32);
});

Deno.test("CPU where() on broadcast and strided views picks bit for bit (NaN condition picks a, -0 picks b)", () => {
  for (const c of cases()) {
    const cond: Layout = { ...c.b, strides: c.b.strides.map((s) => s * 2), offset: 1 };
    for (const dtype of ["float32", "int32"] as const) {
      const cv = data(span(cond), 3, "float32", true);
      const av = data(span(c.a), 4, dtype, true), bv = data(span(c.b), 5, dtype, true);
      const [pc, pa, pb] = [cond, c.a, c.b].map(positions);
      const want = pc.map((p, i) => cv[p] !== 0 ? av[pa[i]] : bv[pb[i]]);
      for (const be of BACKENDS) {
        const cw = upload(be, cv, cond, "float32");
        const a = upload(be, av, c.a, dtype), b = upload(be, bv, c.b, dtype);
        const out = be.alloc(want.length, dtype);
        be.where(cw, a, b, out);
        assertSame(read(be, out, dtype, want.length), want, `${be.name} where ${dtype} ${c.name}`);
        release(be, cw, a, b, out);
      }
    }
  }
});

Deno.test("CPU binary() reads a dense prefix of a larger buffer at an offset", () => {
  const l = denseLayout([5, 64], 11);
  const av = data(400, 6, "float32"), bv = data(400, 7, "float32");
  const want = positions(l).map((p) => Math.fround(av[p] * bv[p]));
  for (const be of BACKENDS) {
    const a = upload(be, av, l, "float32"), b = upload(be, bv, l, "float32");
    const out = be.alloc(want.length, "float32");
    be.binary("mul", a, b, out);
    assertSame(read(be, out, "float32", want.length), want, `${be.name} offset mul`);
    release(be, a, b, out);
  }
});
