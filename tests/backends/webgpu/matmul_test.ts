import assert from "node:assert/strict";
import type { View } from "../../../backends/backend.ts";
import {
  assertClose,
  gpuTest,
  hostMatmul,
  hostValues,
  rand,
  readAll,
  upload,
  view,
} from "./helpers.ts";

/** A [rows, cols] matrix view, stored transposed when `t`. */
function matrix(buf: unknown, rows: number, cols: number, t: boolean, offset = 0): View {
  return view(buf, [rows, cols], { strides: t ? [1, rows] : [cols, 1], offset });
}

const SIZES: [number, number, number][] = [
  [1, 1, 1],
  [1, 3, 17],
  [3, 17, 1],
  [17, 65, 3],
  [65, 17, 130],
  [130, 65, 65],
  [65, 130, 17],
  [17, 1, 65],
  [130, 3, 130],
  [65, 65, 65],
  [33, 130, 70],
];

gpuTest("matmul of sizes 1/3/17/65/130 with transposed operands", async (b) => {
  let seed = 1;
  for (const [m, k, n] of SIZES) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      if ((ta || tb) && m * k * n > 200_000) continue; // keep the software adapter fast
      const ad = rand(m * k + 1, seed++).map(Math.fround);
      const bd = rand(k * n, seed++).map(Math.fround);
      const ab = upload(b, ad), bb = upload(b, bd);
      const av = matrix(ab, m, k, ta, 1), bv = matrix(bb, k, n, tb);
      const out = b.alloc(m * n, "float32");
      b.matmul(av, bv, out);
      const what = `${m}x${k}x${n} ta=${ta} tb=${tb}`;
      assertClose(await readAll(b, out, m * n), hostMatmul(ad, av, bd, bv), 1e-5, 1e-5, what);
      [ab, bb, out].forEach((x) => b.free(x));
    }
  }
});

gpuTest("matmul with broadcast (stride-0) batch dims and a rank-2 operand", async (b) => {
  for (const [m, k, n] of [[3, 5, 4], [20, 70, 66]]) {
    // a: [1, 3, m, k] broadcast to [2, 3, m, k]; b: [2, 1, k, n] → [2, 3, k, n].
    const ad = rand(3 * m * k, m).map(Math.fround);
    const bd = rand(2 * k * n, n).map(Math.fround);
    const ab = upload(b, ad), bb = upload(b, bd);
    const av = view(ab, [2, 3, m, k], { strides: [0, m * k, k, 1] });
    const bv = view(bb, [2, 3, k, n], { strides: [k * n, 0, 1, k] }); // transposed inner
    const out = b.alloc(6 * m * n, "float32");
    b.matmul(av, bv, out);
    assertClose(await readAll(b, out, 6 * m * n), hostMatmul(ad, av, bd, bv), 1e-5, 1e-5);
    // rank-2 b against batched a: b is left-padded with a broadcast batch dim.
    const b2 = view(bb, [k, n]);
    b.matmul(view(ab, [3, m, k]), b2, out);
    const ref = hostMatmul(
      ad,
      view(ab, [3, m, k]),
      bd,
      view(bb, [3, k, n], { strides: [0, n, 1] }),
    );
    assertClose(await readAll(b, out, 3 * m * n), ref, 1e-5, 1e-5);
    [ab, bb, out].forEach((x) => b.free(x));
  }
});

gpuTest("int32 matmul (tiled and skinny) and K = 0", async (b) => {
  for (const [m, k, n] of [[2, 3, 2], [20, 19, 18]]) {
    const ad = rand(m * k, 5, -5, 5).map(Math.trunc);
    const bd = rand(k * n, 6, -5, 5).map(Math.trunc);
    const ab = upload(b, ad, "int32"), bb = upload(b, bd, "int32");
    const av = view(ab, [m, k], { dtype: "int32" }), bv = view(bb, [k, n], { dtype: "int32" });
    const out = b.alloc(m * n, "int32");
    b.matmul(av, bv, out);
    assert.deepEqual(await readAll(b, out, m * n, "int32"), hostMatmul(ad, av, bd, bv));
    [ab, bb, out].forEach((x) => b.free(x));
  }
  const e = b.alloc(0, "float32");
  const out = upload(b, [5, 5, 5, 5]);
  b.matmul(view(e, [2, 0]), view(e, [0, 2]), out);
  assert.deepEqual(await readAll(b, out, 4), [0, 0, 0, 0]);
  b.free(e);
  b.free(out);
});

gpuTest("fused linear x·Wᵀ + b with strided x, with and without bias", async (b) => {
  for (const [m, k, n] of [[5, 8, 3], [67, 33, 70], [4, 100, 8]]) {
    const xd = rand(m * (k + 2), 1).map(Math.fround);
    const wd = rand(n * k, 2).map(Math.fround);
    const bd = rand(2 * n, 3).map(Math.fround);
    const xb = upload(b, xd), wb = upload(b, wd), bb = upload(b, bd);
    const xv = view(xb, [m, k], { strides: [k + 2, 1], offset: 1 }); // padded rows
    const wv = view(wb, [n, k]);
    const biasV = view(bb, [n], { strides: [2] }); // every other element
    const wT = view(wb, [k, n], { strides: [1, k] });
    const ref = hostMatmul(xd, xv, wd, wT);
    const biasHost = hostValues(bd, biasV);
    const out = b.alloc(m * n, "float32");
    b.fused.linear!(xv, wv, biasV, out);
    const withBias = ref.map((v, i) => v + biasHost[i % n]);
    assertClose(await readAll(b, out, m * n), withBias, 1e-5, 1e-5, `${m}x${k}x${n}`);
    b.fused.linear!(xv, wv, null, out);
    assertClose(await readAll(b, out, m * n), ref, 1e-5, 1e-5, `${m}x${k}x${n} no bias`);
    [xb, wb, bb, out].forEach((x) => b.free(x));
  }
});

gpuTest(
  "split-K skinny products (K ≥ 256): layouts, edges, batches, bias, accumulate, int32",
  async (b) => {
    let seed = 900;
    const cases = [
      [8, 1100, 40, true, false],
      [40, 1024, 8, false, true],
      [3, 256, 5, false, false],
      [1, 333, 1, true, true],
      [9, 300, 13, false, false],
    ] as const;
    for (const [m, k, n, ta, tb] of cases) {
      const ad = rand(m * k + 1, seed++).map(Math.fround),
        bd = rand(k * n, seed++).map(Math.fround);
      const ab = upload(b, ad), bb = upload(b, bd);
      const av = matrix(ab, m, k, ta, 1), bv = matrix(bb, k, n, tb);
      const out = b.alloc(m * n, "float32");
      b.matmul(av, bv, out);
      const what = `${m}x${k}x${n} ta=${ta} tb=${tb}`;
      assertClose(await readAll(b, out, m * n), hostMatmul(ad, av, bd, bv), 1e-5, 1e-5, what);
      [ab, bb, out].forEach((x) => b.free(x));
    }
    { // batched, with a grid split into 2-D (limit lowered to 16 workgroups per dimension)
      const [m, k, n] = [10, 400, 9];
      const ad = rand(2 * m * k, 1).map(Math.fround), bd = rand(k * n, 2).map(Math.fround);
      const ab = upload(b, ad), bb = upload(b, bd);
      const av = view(ab, [2, m, k]), bv = view(bb, [2, k, n], { strides: [0, n, 1] });
      const out = b.alloc(2 * m * n, "float32");
      const limit = b.ctx.maxGroupsPerDim;
      b.ctx.maxGroupsPerDim = 16;
      try {
        b.matmul(av, bv, out);
      } finally {
        b.ctx.maxGroupsPerDim = limit;
      }
      assertClose(await readAll(b, out, 2 * m * n), hostMatmul(ad, av, bd, bv), 1e-5, 1e-5);
      [ab, bb, out].forEach((x) => b.free(x));
    }
    { // linear with a bias: x·Wᵀ with N = 8 (the LoRA down projection's shape)
      const [m, k, n] = [5, 1030, 8];
      const xd = rand(m * k, 3).map(Math.fround), wd = rand(n * k, 4).map(Math.fround);
      const bd = rand(n, 5).map(Math.fround);
      const xb = upload(b, xd), wb = upload(b, wd), bb = upload(b, bd);
      const out = b.alloc(m * n, "float32");
      b.fused.linear!(view(xb, [m, k]), view(wb, [n, k]), view(bb, [n]), out);
      const ref = hostMatmul(xd, view(xb, [m, k]), wd, view(wb, [k, n], { strides: [1, k] }));
      assertClose(await readAll(b, out, m * n), ref.map((v, i) => v + bd[i % n]), 1e-5, 1e-5);
      [xb, wb, bb, out].forEach((x) => b.free(x));
    }
    { // loraLinear with r = 260: the up-projection (5 × 260 by 260 × 24) accumulates split along K
      const [m, k, n, r, s] = [5, 20, 24, 260, 0.5];
      const xd = rand(m * k, 6).map(Math.fround), wd = rand(n * k, 7).map(Math.fround);
      const adn = rand(r * k, 8).map(Math.fround), bup = rand(n * r, 9).map(Math.fround);
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
      const xv = view(xb, [m, k]);
      const down = hostMatmul(xd, xv, adn, view(ab, [k, r], { strides: [1, k] }));
      const base = hostMatmul(xd, xv, wd, view(wb, [k, n], { strides: [1, k] }));
      const up = hostMatmul(
        down.map((v) => s * v),
        view(dn, [m, r]),
        bup,
        view(bb, [r, n], { strides: [1, r] }),
      );
      assertClose(await readAll(b, out, m * n), base.map((v, i) => v + up[i]), 1e-4, 1e-4);
      [xb, wb, ab, bb, out, dn].forEach((x) => b.free(x));
    }
    {
      const [m, k, n] = [6, 2000, 7];
      const ad = rand(m * k, 6, -3, 3).map(Math.trunc), bd = rand(k * n, 7, -3, 3).map(Math.trunc);
      const ab = upload(b, ad, "int32"), bb = upload(b, bd, "int32");
      const av = view(ab, [m, k], { dtype: "int32" }), bv = view(bb, [k, n], { dtype: "int32" });
      const out = b.alloc(m * n, "int32");
      b.matmul(av, bv, out);
      assert.deepEqual(await readAll(b, out, m * n, "int32"), hostMatmul(ad, av, bd, bv));
      [ab, bb, out].forEach((x) => b.free(x));
    }
  },
);
