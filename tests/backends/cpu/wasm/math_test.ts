/**
 * The transcendental map kernels (exp, log, tanh, sigmoid; sqrt) against
 * float64 Math rounded to float32, measured in float32 ulp (the distance
 * between the two results in the ordered list of float32 values, so ±0 are
 * one value and the largest finite float is one ulp from infinity).
 */
import assert from "node:assert/strict";
import * as K from "../../../../backends/cpu/wasm/mod.ts";
import type { UnaryOp } from "../../../../backends/cpu/wasm/mod.ts";

const f = Math.fround;

/** Accurate float64 logistic (no overflow in either direction). */
export function sigmoid64(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** The float64 references, and the error each kernel is held to. */
export const MATH: Record<string, { ref: (x: number) => number; ulp: number }> = {
  exp: { ref: Math.exp, ulp: 2 },
  log: { ref: Math.log, ulp: 2 },
  tanh: { ref: Math.tanh, ulp: 3 },
  sigmoid: { ref: sigmoid64, ulp: 3 },
  sqrt: { ref: Math.sqrt, ulp: 0 },
};

const bits = new Int32Array(1), flt = new Float32Array(bits.buffer);

/** Position of float32 `v` in the ordered float32 values (±0 both 0). */
function ordinal(v: number): number {
  flt[0] = v;
  return bits[0] < 0 ? -(bits[0] & 0x7fffffff) : bits[0];
}

/** Float32 ulp between `got` and float64 `want` rounded (NaN only matches NaN). */
export function ulps(got: number, want: number): number {
  if (Number.isNaN(got) || Number.isNaN(want)) {
    return Number.isNaN(got) && Number.isNaN(want) ? 0 : Infinity;
  }
  return Math.abs(ordinal(got) - ordinal(f(want)));
}

/** Every 4099th float32 bit pattern (about a million values of every sign and exponent). */
export function sweepInputs(): Float32Array {
  const out = new Float32Array(Math.ceil(2 ** 32 / 4099));
  const b = new Int32Array(out.buffer);
  for (let i = 0; i < b.length; i++) b[i] = (i * 4099) | 0;
  return out;
}

/** `lo` to `hi` by `step`, as float32. */
export function grid(lo: number, hi: number, step: number): Float32Array {
  const n = Math.floor((hi - lo) / step) + 1;
  return Float32Array.from({ length: n }, (_, i) => lo + i * step);
}

/** Values at each op's edges: specials, overflow and underflow thresholds, subnormals. */
export const SPECIALS = [
  NaN,
  Infinity,
  -Infinity,
  0,
  -0,
  1,
  -1,
  2 ** -149,
  -(2 ** -149),
  2 ** -126,
  3.4028234663852886e38,
  -3.4028234663852886e38,
  88.7,
  88.72283,
  88.72284,
  88.8,
  89,
  100,
  -87.33,
  -88.8,
  -103.27,
  -103.97,
  -104,
  -120,
  1e-8,
  -1e-8,
  9,
  9.1,
  20,
  -20,
  0.5,
  Math.SQRT2,
  Math.SQRT1_2,
].map(f);

/** Runs kernel `op` over `xs` in chunks of odd lengths at odd addresses (the scalar tails run too). */
function runKernel(op: UnaryOp, xs: Float32Array): Float32Array {
  const chunk = 4093;
  const base = K.alloc((chunk + 4) * 4 * 2);
  const inp = base + 4, out = base + (chunk + 4) * 4 + 12;
  const iv = K.f32view(inp, chunk), ov = K.f32view(out, chunk);
  const res = new Float32Array(xs.length);
  for (let s = 0; s < xs.length; s += chunk) {
    const n = Math.min(chunk, xs.length - s);
    iv.set(xs.subarray(s, s + n));
    K.unary(op, inp, out, n);
    res.set(ov.subarray(0, n), s);
  }
  K.free(base);
  return res;
}

/** The largest ulp error of `got` against the reference on `xs`, and where. */
export function worst(
  xs: Float32Array,
  got: Float32Array,
  ref: (x: number) => number,
): { ulp: number; x: number } {
  let w = { ulp: 0, x: 0 };
  for (let i = 0; i < xs.length; i++) {
    const u = ulps(got[i], ref(xs[i]));
    if (u > w.ulp) w = { ulp: u, x: xs[i] };
  }
  return w;
}

/** Per op, the inputs its kernel is checked on. */
export function mathInputs(op: string): Float32Array[] {
  const common = [sweepInputs(), Float32Array.from(SPECIALS)];
  const extra: Record<string, Float32Array[]> = {
    exp: [grid(-105, 90, 2 ** -9), grid(-(2 ** -8), 2 ** -8, 2 ** -20)],
    log: [grid(0, 4, 2 ** -12), grid(1 - 2 ** -8, 1 + 2 ** -8, 2 ** -22)],
    tanh: [grid(-10, 10, 2 ** -11), grid(-(2 ** -6), 2 ** -6, 2 ** -18)],
    sigmoid: [grid(-110, 110, 2 ** -8), grid(-(2 ** -6), 2 ** -6, 2 ** -18)],
    sqrt: [grid(0, 16, 2 ** -10)],
  };
  return [...common, ...extra[op]];
}

Deno.test("exp, log, tanh, sigmoid and sqrt kernels are within their ulp bounds of float64 Math on a sweep of every float32 range", () => {
  for (const [op, { ref, ulp }] of Object.entries(MATH)) {
    for (const xs of mathInputs(op)) {
      const w = worst(xs, runKernel(op as UnaryOp, xs), ref);
      assert.ok(w.ulp <= ulp, `${op}: ${w.ulp} ulp at x = ${w.x} (bound ${ulp})`);
    }
  }
});

Deno.test("the math kernels give Math's special values exactly", () => {
  const cases: [UnaryOp, number, number][] = [
    ["exp", -Infinity, 0],
    ["exp", Infinity, Infinity],
    ["exp", 88.8, Infinity],
    ["exp", 89, Infinity],
    ["exp", -104, 0],
    ["exp", -120, 0],
    ["exp", 0, 1],
    ["exp", -0, 1],
    ["exp", NaN, NaN],
    ["sigmoid", Infinity, 1],
    ["sigmoid", -Infinity, 0],
    ["sigmoid", 200, 1],
    ["sigmoid", -200, 0],
    ["sigmoid", 0, 0.5],
    ["sigmoid", NaN, NaN],
    ["tanh", Infinity, 1],
    ["tanh", -Infinity, -1],
    ["tanh", 30, 1],
    ["tanh", -30, -1],
    ["tanh", -0, -0],
    ["tanh", 0, 0],
    ["tanh", NaN, NaN],
    ["log", 0, -Infinity],
    ["log", -0, -Infinity],
    ["log", -1, NaN],
    ["log", -Infinity, NaN],
    ["log", Infinity, Infinity],
    ["log", 1, 0],
    ["log", NaN, NaN],
    ["sqrt", -1, NaN],
    ["sqrt", Infinity, Infinity],
    ["sqrt", -0, -0],
  ];
  for (const [op, x, want] of cases) {
    const got = runKernel(op, Float32Array.of(x))[0];
    assert.ok(Object.is(got, want), `${op}(${x}) = ${got}, want ${want}`);
  }
  // exp near its subnormal end and just below overflow, log of subnormals.
  assert.equal(runKernel("exp", Float32Array.of(-103))[0], f(Math.exp(-103)));
  assert.equal(runKernel("exp", Float32Array.of(f(88.72283)))[0], f(Math.exp(f(88.72283))));
  assert.ok(Math.abs(runKernel("log", Float32Array.of(2 ** -149))[0] - Math.log(2 ** -149)) < 1e-4);
});

Deno.test("the math kernels split with the worker compute what one thread computes", async () => {
  assert.equal(await K.threadsReady(), true);
  const n = (1 << 17) + 13;
  const xs = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 30);
  for (const op of ["exp", "log", "tanh", "sigmoid"] as const) {
    K.setNumThreads(1);
    const one = runWhole(op, xs);
    K.setNumThreads(2);
    const two = runWhole(op, xs);
    assert.deepEqual(two, one, op);
    const w = worst(xs, two, MATH[op].ref);
    assert.ok(w.ulp <= MATH[op].ulp, `${op}: ${w.ulp} ulp at ${w.x}`);
  }
});

/** One kernel call over all of `xs` (large enough to be split). */
function runWhole(op: UnaryOp, xs: Float32Array): Float32Array {
  const p = K.alloc(xs.length * 4), o = K.alloc(xs.length * 4);
  K.f32view(p, xs.length).set(xs);
  K.unary(op, p, o, xs.length);
  const res = K.f32view(o, xs.length).slice();
  K.free(p), K.free(o);
  return res;
}
