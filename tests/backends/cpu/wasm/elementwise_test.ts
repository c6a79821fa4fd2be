import assert from "node:assert/strict";
import * as K from "../../../../backends/cpu/wasm/mod.ts";
import type { BinaryOp } from "../../../../backends/cpu/wasm/mod.ts";

const f = Math.fround;
const BIN: Record<BinaryOp, (x: number, y: number) => number> = {
  add: (x, y) => f(x + y),
  sub: (x, y) => f(x - y),
  mul: (x, y) => f(x * y),
  div: (x, y) => f(x / y),
  eq: (x, y) => +(x === y),
  lt: (x, y) => +(x < y),
  gt: (x, y) => +(x > y),
};
const SIZES = [0, 1, 3, 17, 1023];

/** Allocates n floats at a 4-byte offset `skew` past a 64-byte boundary. */
function buf(n: number, skew: number, seed: number) {
  const base = K.alloc((n + 8) * 4);
  const ptr = base + skew * 4;
  const v = K.f32view(ptr, n);
  for (let i = 0; i < n; i++) v[i] = f(Math.sin(i * 1.3 + seed) * 3);
  return { base, ptr, v };
}

Deno.test("binary ops (vv, vs, sv) at odd sizes and offsets", () => {
  for (const n of SIZES) {
    for (const skew of [0, 1, 3]) {
      const a = buf(n, skew, 1), b = buf(n, (skew + 2) % 4, 2);
      const o = buf(n, skew + 1, 3);
      for (const op of Object.keys(BIN) as BinaryOp[]) {
        const ref = BIN[op];
        K.binaryVV(op, a.ptr, b.ptr, o.ptr, n);
        for (let i = 0; i < n; i++) assert.equal(o.v[i], ref(a.v[i], b.v[i]));
        K.binaryVS(op, a.ptr, 0.75, o.ptr, n);
        for (let i = 0; i < n; i++) assert.equal(o.v[i], ref(a.v[i], 0.75));
        K.binarySV(op, -1.5, b.ptr, o.ptr, n);
        for (let i = 0; i < n; i++) assert.equal(o.v[i], ref(-1.5, b.v[i]));
      }
      K.free(a.base), K.free(b.base), K.free(o.base);
    }
  }
});

Deno.test("unary ops", () => {
  for (const n of SIZES) {
    const a = buf(n, 1, 4), o = buf(n, 2, 5);
    K.unary("relu", a.ptr, o.ptr, n);
    for (let i = 0; i < n; i++) assert.equal(o.v[i], Math.max(a.v[i], 0));
    K.unary("neg", a.ptr, o.ptr, n);
    for (let i = 0; i < n; i++) assert.equal(o.v[i], -a.v[i]);
    K.unary("abs", a.ptr, o.ptr, n);
    for (let i = 0; i < n; i++) assert.equal(o.v[i], Math.abs(a.v[i]));
    K.free(a.base), K.free(o.base);
  }
  const a = buf(2, 0, 0);
  a.v.set([NaN, -0]);
  K.unary("relu", a.ptr, a.ptr, 2);
  assert.ok(Number.isNaN(a.v[0]));
  assert.ok(Object.is(a.v[1], 0));
});

Deno.test("sum, rowSum, colSum", () => {
  for (const n of [...SIZES, 100_000]) {
    const a = buf(n, 3, 6);
    let ref = 0;
    for (let i = 0; i < n; i++) ref += a.v[i];
    assert.ok(Math.abs(K.sum(a.ptr, n) - ref) <= 1e-5 * Math.max(1, n));
    K.free(a.base);
  }
  for (const [rows, cols] of [[1, 1], [3, 17], [17, 3], [5, 1023]]) {
    const a = buf(rows * cols, 1, 7);
    const r = buf(rows, 2, 0), c = buf(cols, 3, 0);
    K.rowSum(a.ptr, rows, cols, r.ptr);
    K.colSum(a.ptr, rows, cols, c.ptr);
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let j = 0; j < cols; j++) s += a.v[i * cols + j];
      assert.ok(Math.abs(r.v[i] - s) < 1e-3);
    }
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let i = 0; i < rows; i++) s += a.v[i * cols + j];
      assert.ok(Math.abs(c.v[j] - s) < 1e-4);
    }
    K.free(a.base), K.free(r.base), K.free(c.base);
  }
});

Deno.test("threaded elementwise == unthreaded", async () => {
  assert.equal(await K.threadsReady(), true);
  const n = (1 << 19) + 5;
  const a = buf(n, 1, 8), b = buf(n, 0, 9), o = buf(n, 0, 0);
  K.setNumThreads(2);
  K.binaryVV("div", a.ptr, b.ptr, o.ptr, n);
  K.unary("relu", o.ptr, o.ptr, n);
  for (let i = 0; i < n; i += 97) {
    assert.equal(o.v[i], Math.max(f(a.v[i] / b.v[i]), 0));
  }
  assert.equal(o.v[n - 1], Math.max(f(a.v[n - 1] / b.v[n - 1]), 0));
  K.free(a.base), K.free(b.base), K.free(o.base);
});

Deno.test("allocator reuses freed blocks and aligns", () => {
  const p = K.alloc(1000);
  assert.equal(p % 64, 0);
  K.free(p);
  assert.equal(K.alloc(1000), p);
  K.free(p);
  assert.throws(() => K.free(p));
  const big = K.alloc(64 << 20); // forces the memory to grow
  K.f32view(big, 16 << 20).fill(1);
  assert.equal(K.f32view(big, 16 << 20)[(16 << 20) - 1], 1);
  K.free(big);
  assert.equal(K.alloc(64 << 20), big);
  K.free(big);
});

Deno.test("vp and pv forms read their scalar from memory; copy moves 32-bit patterns exactly", () => {
  for (const n of SIZES) {
    const a = buf(n, 1, 10), s = buf(1, 2, 0), o = buf(n, 3, 0);
    s.v[0] = -1.25;
    for (const op of Object.keys(BIN) as BinaryOp[]) {
      K.rows(op, "vp", a.ptr, s.ptr, o.ptr, n, { dims: [], sx: [], sy: [], so: [] });
      for (let i = 0; i < n; i++) assert.equal(o.v[i], BIN[op](a.v[i], -1.25));
      K.rows(op, "pv", s.ptr, a.ptr, o.ptr, n, { dims: [], sx: [], sy: [], so: [] });
      for (let i = 0; i < n; i++) assert.equal(o.v[i], BIN[op](-1.25, a.v[i]));
    }
    const ints = K.i32view(a.ptr, n);
    ints.forEach((_, i) => (ints[i] = [0x7fc00001, -1, 0x7f800001, -(2 ** 31)][i % 4] + i));
    K.rows("copy", "v", a.ptr, 0, o.ptr, n, { dims: [], sx: [], sy: [], so: [] });
    assert.deepEqual(K.i32view(o.ptr, n), ints);
    K.free(a.base), K.free(s.base), K.free(o.base);
  }
});

Deno.test("rows() runs the kernel on every row of a strided walk; split with the worker it equals one thread", async () => {
  assert.equal(await K.threadsReady(), true);
  // out[i, j, k] = x[i, j, k] * y[j] over x [3, 300, 400] viewed with its
  // two outer dims swapped, y a column broadcast along each row.
  const [I, J, Kn] = [3, 300, 400];
  const x = buf(I * J * Kn, 0, 11), y = buf(J, 1, 12);
  const walk = { dims: [J, I], sx: [Kn, J * Kn], sy: [1, 0], so: [I * Kn, Kn] };
  const results = [1, 2].map((threads) => {
    K.setNumThreads(threads);
    const o = buf(I * J * Kn, 2, 0);
    K.rows("mul", "vp", x.ptr, y.ptr, o.ptr, Kn, walk);
    const r = o.v.slice();
    K.free(o.base);
    return r;
  });
  for (let j = 0; j < J; j++) {
    for (let i = 0; i < I; i++) {
      for (let k = 0; k < Kn; k += 37) {
        assert.equal(results[1][(j * I + i) * Kn + k], f(x.v[(i * J + j) * Kn + k] * y.v[j]));
      }
    }
  }
  assert.deepEqual(results[1], results[0]);
  K.free(x.base), K.free(y.base);
});

Deno.test("comparison kernels give 1 and 0: NaN compares false, -0 equals 0", () => {
  const xs = [NaN, -0, 0, 1, -Infinity, Infinity, 2.5, -3, 7]; // 81 pairs: a scalar tail too
  const n = xs.length * xs.length;
  const a = buf(n, 1, 0), b = buf(n, 2, 0), o = buf(n, 3, 0);
  xs.forEach((x, i) =>
    xs.forEach((y, j) => (a.v[i * xs.length + j] = x, b.v[i * xs.length + j] = y))
  );
  for (const op of ["eq", "lt", "gt"] as const) {
    K.binaryVV(op, a.ptr, b.ptr, o.ptr, n);
    for (let i = 0; i < n; i++) assert.ok(Object.is(o.v[i], BIN[op](a.v[i], b.v[i])), `${op} ${i}`);
  }
  K.binaryVV("eq", a.ptr, a.ptr, o.ptr, n);
  assert.deepEqual([...o.v], [...a.v].map((x) => Number.isNaN(x) ? 0 : 1));
  K.free(a.base), K.free(b.base), K.free(o.base);
});
