/**
 * The transcendental map kernels (exp, log, tanh, sigmoid; sqrt) against
 * float64 Math rounded to float32, in float32 ulp (see _math_ref.ts), and
 * their special values.
 */
import assert from "node:assert/strict";
import * as K from "../../../../backends/cpu/wasm/mod.ts";
import type { UnaryOp } from "../../../../backends/cpu/wasm/mod.ts";
import { MATH, mathInputs, worst } from "../_math_ref.ts";

const f = Math.fround;

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
