import assert from "node:assert/strict";
import type { BinaryOp, UnaryOp } from "../../../backends/backend.ts";
import { assertClose, gpuTest, hostValues, phi64, rand, readAll, upload, view } from "./helpers.ts";

const f = Math.fround;
const UNARY_REF: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  relu: (x) => Math.max(x, 0),
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  gelu: (x) => x * phi64(x),
  geluGrad: (x) => phi64(x) + x * Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI),
  sign: Math.sign,
};

gpuTest("unary float ops on a transposed, offset view match float64", async (b) => {
  // storage [5, 7] after 3 padding elements; view is its transpose [7, 5].
  const data = rand(3 + 35, 7, -4, 4).map(f);
  const buf = upload(b, data);
  const v = view(buf, [7, 5], { strides: [1, 7], offset: 3 });
  const xs = hostValues(data, v);
  for (const op of Object.keys(UNARY_REF) as UnaryOp[]) {
    const out = b.alloc(35, "float32");
    b.unary(op, v, out);
    const got = await readAll(b, out, 35);
    const ref = xs.map(UNARY_REF[op]);
    assertClose(got, ref, 2e-7, 2e-6, op);
    b.free(out);
  }
  b.free(buf);
});

gpuTest("unary special values: overflow, zero, negatives, NaN", async (b) => {
  const xs = [100, -200, 0, -1, Infinity, -Infinity, NaN, 1e-30];
  const buf = upload(b, xs);
  const cases: [UnaryOp, number[]][] = [
    ["exp", [Infinity, 0, 1, Math.exp(-1), Infinity, 0, NaN, 1]],
    ["log", [Math.log(100), NaN, -Infinity, NaN, Infinity, NaN, NaN, Math.log(1e-30)]],
    ["sqrt", [10, NaN, 0, NaN, Infinity, NaN, NaN, Math.sqrt(1e-30)]],
    ["tanh", [1, -1, 0, Math.tanh(-1), 1, -1, NaN, 1e-30]],
    ["sigmoid", [1, 0, 0.5, 1 / (1 + Math.E), 1, 0, NaN, 0.5]],
    ["gelu", [100, -0, 0, -phi64(-1), Infinity, NaN, NaN, 0.5e-30]],
    ["sign", [1, -1, 0, -1, 1, -1, NaN, 1]],
  ];
  for (const [op, ref] of cases) {
    const out = b.alloc(xs.length, "float32");
    b.unary(op, view(buf, [xs.length]), out);
    assertClose(await readAll(b, out, xs.length), ref, 1e-7, 2e-6, op);
    b.free(out);
  }
  // Signed zeros come out as Math.sign gives them.
  const zeros = upload(b, [0, -0]);
  const out = b.alloc(2, "float32");
  b.unary("sign", view(zeros, [2]), out);
  const [pz, nz] = await readAll(b, out, 2);
  assert.ok(Object.is(pz, 0) && Object.is(nz, -0), `sign(±0) = ${pz}, ${nz}`);
  [buf, zeros, out].forEach((x) => b.free(x));
});

gpuTest("gelu and geluGrad stay within ~1e-7 over [-10, 10]", async (b) => {
  const xs = Array.from({ length: 2001 }, (_, i) => f(-10 + i * 0.01));
  const buf = upload(b, xs);
  const worst: Record<string, number> = {};
  for (const op of ["gelu", "geluGrad"] as const) {
    const out = b.alloc(xs.length, "float32");
    b.unary(op, view(buf, [xs.length]), out);
    const got = await readAll(b, out, xs.length);
    worst[op] = Math.max(
      ...got.map((g, i) => Math.abs(g - UNARY_REF[op](xs[i])) / Math.max(1, Math.abs(xs[i]))),
    );
    b.free(out);
  }
  assert.ok(worst.gelu <= 2e-7, `gelu max error ${worst.gelu}`);
  assert.ok(worst.geluGrad <= 3e-7, `geluGrad max error ${worst.geluGrad}`);
  // The lower tail keeps its relative accuracy (no 1 + erf cancellation).
  const tail = b.alloc(1, "float32");
  const t = upload(b, [-6]);
  b.unary("gelu", view(t, [1]), tail);
  const [g] = await readAll(b, tail, 1);
  assert.ok(Math.abs(g / (-6 * phi64(-6)) - 1) < 1e-5, `gelu(-6) = ${g}`);
  [buf, tail, t].forEach((x) => b.free(x));
});

gpuTest("unary int32 ops", async (b) => {
  const xs = [-7, -1, 0, 2, 5, 2147483647];
  const buf = upload(b, xs, "int32");
  const v = view(buf, [6], { dtype: "int32" });
  const cases: [UnaryOp, number[]][] = [
    ["neg", [7, 1, 0, -2, -5, -2147483647]],
    ["abs", [7, 1, 0, 2, 5, 2147483647]],
    ["relu", [0, 0, 0, 2, 5, 2147483647]],
    ["sign", [-1, -1, 0, 1, 1, 1]],
    ["exp", [0, 0, 1, 7, 148, 0]],
  ];
  for (const [op, ref] of cases) {
    const out = b.alloc(6, "int32");
    b.unary(op, v, out);
    assert.deepEqual(await readAll(b, out, 6, "int32"), ref, op);
    b.free(out);
  }
  b.free(buf);
});

const BINARY_REF: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  eq: (a, b) => Number(a === b),
  lt: (a, b) => Number(a < b),
  gt: (a, b) => Number(a > b),
};

gpuTest("binary float ops on broadcast (stride-0) views", async (b) => {
  // a: [3, 1, 5] broadcast over dim 1; b: [4, 5] broadcast over dim 0, then
  // transposed storage. Output [3, 4, 5].
  const ad = rand(15, 3, 0.5, 3).map(f);
  const bd = rand(20, 4, 0.5, 3).map(f);
  bd[0] = ad[0]; // one equal pair for `eq`
  const ab = upload(b, ad), bb = upload(b, bd);
  const av = view(ab, [3, 4, 5], { strides: [5, 0, 1] });
  const bv = view(bb, [3, 4, 5], { strides: [0, 1, 4] }); // b stored as [5, 4]
  const as = hostValues(ad, av), bs = hostValues(bd, bv);
  for (const op of Object.keys(BINARY_REF) as BinaryOp[]) {
    const out = b.alloc(60, "float32");
    b.binary(op, av, bv, out);
    const ref = as.map((x, i) => BINARY_REF[op](x, bs[i]));
    assertClose(await readAll(b, out, 60), ref, 1e-7, 2e-6, op);
    b.free(out);
  }
  b.free(ab);
  b.free(bb);
});

gpuTest("binary float special cases follow Math semantics", async (b) => {
  const a = [-2, -2, 0, 2, 3, 1.5, NaN, 1, -8];
  const e = [3, 0.5, -1, 10, 2, -2, 1, NaN, 1 / 3];
  const ab = upload(b, a), eb = upload(b, e);
  const n = a.length;
  for (const op of ["pow", "div"] as BinaryOp[]) {
    const out = b.alloc(n, "float32");
    b.binary(op, view(ab, [n]), view(eb, [n]), out);
    const ref = a.map((x, i) => BINARY_REF[op](f(x), f(e[i])));
    assertClose(await readAll(b, out, n), ref, 1e-7, 2e-6, op);
    b.free(out);
  }
  b.free(ab);
  b.free(eb);
});

gpuTest("binary int32 ops truncate like an Int32Array", async (b) => {
  const a = [7, -7, 9, 0, 3, -2, 5, 2];
  const c = [2, 2, 0, 4, 3, 3, -1, 10];
  const ab = upload(b, a, "int32"), cb = upload(b, c, "int32");
  const av = view(ab, [8], { dtype: "int32" }), cv = view(cb, [8], { dtype: "int32" });
  for (const op of Object.keys(BINARY_REF) as BinaryOp[]) {
    const out = b.alloc(8, "int32");
    b.binary(op, av, cv, out);
    const ref = Array.from(Int32Array.from(a.map((x, i) => BINARY_REF[op](x, c[i]))));
    assert.deepEqual(await readAll(b, out, 8, "int32"), ref, op);
    b.free(out);
  }
  b.free(ab);
  b.free(cb);
});

gpuTest("where with float and int conditions, broadcast", async (b) => {
  const cond = upload(b, [1, 0, 2], "int32");
  const condF = upload(b, [0, 1.5, 0]);
  const a = upload(b, [1, 2, 3, 4, 5, 6]);
  const e = upload(b, [-1, -2]);
  const cv = view(cond, [2, 3], { strides: [0, 1], dtype: "int32" });
  const cfv = view(condF, [2, 3], { strides: [0, 1] });
  const av = view(a, [2, 3]);
  const ev = view(e, [2, 3], { strides: [1, 0] });
  const out = b.alloc(6, "float32");
  b.where(cv, av, ev, out);
  assert.deepEqual(await readAll(b, out, 6), [1, -1, 3, 4, -2, 6]);
  b.where(cfv, av, ev, out);
  assert.deepEqual(await readAll(b, out, 6), [-1, 2, -1, -2, 5, -2]);
  [cond, condF, a, e, out].forEach((x) => b.free(x));
});

gpuTest("cast float → int truncates toward zero; int → float", async (b) => {
  const xs = [1.9, -1.9, 0.5, -0.5, 1e3, NaN, 7, 3e9, -Infinity];
  const n = xs.length;
  const buf = upload(b, xs);
  const out = b.alloc(n, "int32");
  b.cast(view(buf, [n]), "int32", out);
  const ints = Array.from(Int32Array.from(xs));
  assert.deepEqual(await readAll(b, out, n, "int32"), ints);
  const back = b.alloc(n, "float32");
  b.cast(view(out, [n], { dtype: "int32" }), "float32", back);
  assert.deepEqual(await readAll(b, back, n), ints.map(Math.fround));
  [buf, out, back].forEach((x) => b.free(x));
});

gpuTest("copy strided → strided, and in place within one buffer", async (b) => {
  const src = upload(b, Array.from({ length: 12 }, (_, i) => i));
  const dst = upload(b, new Array(30).fill(-1));
  // x: transpose of [3, 4] → [4, 3]; out: every other element after offset 5.
  const xv = view(src, [4, 3], { strides: [1, 4] });
  const ov = view(dst, [4, 3], { strides: [6, 2], offset: 5 });
  b.copy(xv, ov);
  const got = await readAll(b, dst, 30);
  const expect = new Array(30).fill(-1);
  hostValues(Array.from({ length: 12 }, (_, i) => i), xv).forEach((v, i) => {
    expect[5 + Math.floor(i / 3) * 6 + (i % 3) * 2] = v;
  });
  assert.deepEqual(got, expect);
  // Overlapping shift right by one within the same buffer reads old values.
  b.copy(view(src, [11]), view(src, [11], { offset: 1 }));
  assert.deepEqual(await readAll(b, src, 12), [0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // int32 copy of a rank-5 view with a broadcast dim.
  const ib = upload(b, [1, 2, 3, 4], "int32");
  const io = b.alloc(16, "int32");
  b.copy(
    view(ib, [2, 1, 2, 2, 2], { strides: [2, 0, 0, 1, 0], dtype: "int32" }),
    view(io, [2, 1, 2, 2, 2], { dtype: "int32" }),
  );
  assert.deepEqual(await readAll(b, io, 16, "int32"), [
    1,
    1,
    2,
    2,
    1,
    1,
    2,
    2,
    3,
    3,
    4,
    4,
    3,
    3,
    4,
    4,
  ]);
  [src, dst, ib, io].forEach((x) => b.free(x));
});
