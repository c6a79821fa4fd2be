/**
 * The vec4 matmul kernel: which products take it (`vec4Layout`), every
 * tuner candidate against a float64 host product (nn and nt layouts, row
 * and column edges, offsets, batches, bias, the accumulating up-projection,
 * int32), identical results across candidates, and the tuner itself.
 */
import assert from "node:assert/strict";
import {
  resetVec4Config,
  setVec4Config,
  VEC4_LAYOUTS,
  vec4Candidates,
  vec4Layout,
} from "../../../backends/webgpu/matmul_config.ts";
import type { WebGpuBackend } from "../../../backends/webgpu/mod.ts";
import { assertClose, gpuTest, hostMatmul, rand, readAll, upload, view } from "./helpers.ts";

Deno.test("vec4Layout: contiguous, 4-aligned operands only", () => {
  const d = { m: 33, n: 36, k: 20 }, nb = { a: [], b: [] };
  const a = { offset: 4, rs: 20, cs: 1 };
  assert.equal(vec4Layout(d, nb, a, { offset: 0, rs: 36, cs: 1 }), "nn");
  assert.equal(vec4Layout(d, nb, a, { offset: 0, rs: 1, cs: 20 }), "nt");
  assert.equal(vec4Layout({ ...d, n: 37 }, nb, a, { offset: 0, rs: 37, cs: 1 }), null);
  assert.equal(vec4Layout({ ...d, n: 37 }, nb, a, { offset: 0, rs: 1, cs: 20 }), "nt");
  assert.equal(vec4Layout({ ...d, k: 22 }, nb, a, { offset: 0, rs: 1, cs: 24 }), null);
  assert.equal(vec4Layout(d, nb, { ...a, offset: 1 }, { offset: 0, rs: 36, cs: 1 }), null);
  assert.equal(vec4Layout(d, nb, { offset: 0, rs: 1, cs: 33 }, { offset: 0, rs: 36, cs: 1 }), null);
  assert.equal(vec4Layout(d, nb, a, { offset: 2, rs: 36, cs: 1 }), null);
  assert.equal(vec4Layout(d, { a: [660], b: [2] }, a, { offset: 0, rs: 36, cs: 1 }), null);
  assert.equal(vec4Layout(d, { a: [660], b: [0] }, a, { offset: 0, rs: 36, cs: 1 }), "nn");
  assert.equal(vec4Layout({ ...d, k: 0 }, nb, a, { offset: 0, rs: 36, cs: 1 }), null);
});

/** Runs the checks of one candidate; returns the float outputs, for comparing candidates. */
async function checkAll(b: WebGpuBackend, what: string): Promise<number[][]> {
  const outs: number[][] = [];
  // nn (M not a multiple of any tile; a offset 4) and nt (N not a multiple of 4).
  for (
    const [m, k, n, t] of [[33, 20, 36, false], [70, 68, 44, false], [33, 20, 37, true]] as const
  ) {
    const ad = rand(m * k + 4, m + k).map(Math.fround), bd = rand(k * n, n).map(Math.fround);
    const ab = upload(b, ad), bb = upload(b, bd);
    const av = view(ab, [m, k], { offset: 4 });
    const bv = t ? view(bb, [k, n], { strides: [1, k] }) : view(bb, [k, n]);
    const out = b.alloc(m * n, "float32");
    b.matmul(av, bv, out);
    const got = await readAll(b, out, m * n);
    assertClose(got, hostMatmul(ad, av, bd, bv), 1e-5, 1e-5, `${what} ${m}x${k}x${n} t=${t}`);
    outs.push(got);
    [ab, bb, out].forEach((x) => b.free(x));
  }
  // batched a against a broadcast b
  {
    const [m, k, n] = [20, 24, 40];
    const ad = rand(3 * m * k, 7).map(Math.fround), bd = rand(k * n, 8).map(Math.fround);
    const ab = upload(b, ad), bb = upload(b, bd);
    const av = view(ab, [3, m, k]), bv = view(bb, [3, k, n], { strides: [0, n, 1] });
    const out = b.alloc(3 * m * n, "float32");
    b.matmul(av, bv, out);
    const got = await readAll(b, out, 3 * m * n);
    assertClose(got, hostMatmul(ad, av, bd, bv), 1e-5, 1e-5, `${what} batched`);
    outs.push(got);
    [ab, bb, out].forEach((x) => b.free(x));
  }
  // linear with a strided bias (nt with bias)
  {
    const [m, k, n] = [19, 32, 30];
    const xd = rand(m * k, 9).map(Math.fround), wd = rand(n * k, 10).map(Math.fround);
    const bd = rand(2 * n, 11).map(Math.fround);
    const xb = upload(b, xd), wb = upload(b, wd), bb = upload(b, bd);
    const out = b.alloc(m * n, "float32");
    b.fused.linear!(view(xb, [m, k]), view(wb, [n, k]), view(bb, [n], { strides: [2] }), out);
    const ref = hostMatmul(xd, view(xb, [m, k]), wd, view(wb, [k, n], { strides: [1, k] }));
    const got = await readAll(b, out, m * n);
    assertClose(got, ref.map((v, i) => v + bd[2 * (i % n)]), 1e-5, 1e-5, `${what} linear`);
    outs.push(got);
    [xb, wb, bb, out].forEach((x) => b.free(x));
  }
  // loraLinear with r = 24: the up-projection accumulates through the nt kernel
  {
    const [m, k, n, r, s] = [21, 36, 28, 24, 0.75];
    const xd = rand(m * k, 12).map(Math.fround), wd = rand(n * k, 13).map(Math.fround);
    const adn = rand(r * k, 14).map(Math.fround), bup = rand(n * r, 15).map(Math.fround);
    const [xb, wb, ab, bb] = [xd, wd, adn, bup].map((d) => upload(b, d));
    const out = b.alloc(m * n, "float32"), dn = b.alloc(m * r, "float32");
    b.fused.loraLinear!(
      view(xb, [m, k]),
      view(wb, [n, k]),
      null,
      view(ab, [r, k]),
      view(bb, [n, r]),
      s,
      out,
      dn,
    );
    const down = hostMatmul(xd, view(xb, [m, k]), adn, view(ab, [k, r], { strides: [1, k] }));
    const base = hostMatmul(xd, view(xb, [m, k]), wd, view(wb, [k, n], { strides: [1, k] }));
    const up = hostMatmul(
      down.map((v) => s * v),
      view(dn, [m, r]),
      bup,
      view(bb, [r, n], {
        strides: [1, r],
      }),
    );
    const got = await readAll(b, out, m * n);
    assertClose(got, base.map((v, i) => v + up[i]), 1e-4, 1e-4, `${what} loraLinear`);
    outs.push(got);
    [xb, wb, ab, bb, out, dn].forEach((x) => b.free(x));
  }
  // int32, exact
  {
    const [m, k, n] = [18, 20, 24];
    const ad = rand(m * k, 16, -5, 5).map(Math.trunc), bd = rand(k * n, 17, -5, 5).map(Math.trunc);
    const ab = upload(b, ad, "int32"), bb = upload(b, bd, "int32");
    const av = view(ab, [m, k], { dtype: "int32" }), bv = view(bb, [k, n], { dtype: "int32" });
    const out = b.alloc(m * n, "int32");
    b.matmul(av, bv, out);
    assert.deepEqual(
      await readAll(b, out, m * n, "int32"),
      hostMatmul(ad, av, bd, bv),
      `${what} int32`,
    );
    [ab, bb, out].forEach((x) => b.free(x));
  }
  return outs;
}

gpuTest(
  "vec4 matmul: every tuner candidate matches the host, with identical results",
  async (b) => {
    try {
      let first: number[][] | null = null;
      for (const [i, cfg] of vec4Candidates("nn").entries()) {
        for (const layout of VEC4_LAYOUTS) setVec4Config(b.ctx, { ...cfg, layout });
        const outs = await checkAll(b, `rows ${cfg.rows} ${cfg.wx}x${cfg.wy}`);
        if (first === null) first = outs;
        else assert.deepEqual(outs, first, `candidate ${i} differs from candidate 0`);
      }
    } finally {
      resetVec4Config(b.ctx);
    }
  },
);

gpuTest("tuneMatmul picks a candidate per layout; bad options are RangeErrors", async (b) => {
  try {
    const res = await b.tuneMatmul({ m: 32, k: 32, n: 32, reps: 1 });
    assert.deepEqual(res.map((r) => r.layout), [...VEC4_LAYOUTS]);
    for (const r of res) {
      assert.equal(r.timings.length, vec4Candidates(r.layout).length);
      assert.ok(r.timings.every((t) => t.ms >= 0));
      assert.deepEqual(r.chosen, r.timings.reduce((x, y) => (y.ms < x.ms ? y : x)).config);
    }
    await checkAll(b, "tuned");
    await assert.rejects(() => b.tuneMatmul({ m: 30 }), RangeError);
    await assert.rejects(() => b.tuneMatmul({ reps: 0 }), RangeError);
    assert.throws(
      () => setVec4Config(b.ctx, { layout: "nn", rows: 8, wx: 32, wy: 16 }),
      RangeError,
    );
    assert.throws(() => setVec4Config(b.ctx, { layout: "nn", rows: 0, wx: 8, wy: 8 }), RangeError);
  } finally {
    resetVec4Config(b.ctx);
  }
});
