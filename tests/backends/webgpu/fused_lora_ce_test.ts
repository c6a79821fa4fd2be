/**
 * The fused LoRA linear and row cross-entropy of the WebGPU backend against
 * float64 host references.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { View } from "../../../backends/backend.ts";
import { assertClose, gpuTest, hostValues, rand, readAll, upload, view } from "./helpers.ts";

/** float64 `x·Wᵀ` of host matrices x [m, k] and w [n, k] (row-major arrays). */
function hostLinear(x: number[], w: number[], m: number, n: number, k: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += x[i * k + p] * w[j * k + p];
      out.push(s);
    }
  }
  return out;
}

interface LoraCase {
  m: number;
  k: number;
  n: number;
  r: number;
  bias: boolean;
  /** x is a transposed view of a [K, M] buffer. */
  xT: boolean;
}

const LORA_CASES: LoraCase[] = [
  { m: 5, k: 7, n: 3, r: 1, bias: true, xT: false },
  { m: 5, k: 7, n: 3, r: 2, bias: false, xT: true },
  { m: 17, k: 33, n: 19, r: 8, bias: true, xT: true },
  { m: 67, k: 70, n: 65, r: 8, bias: false, xT: false }, // tiled base linear
  { m: 67, k: 70, n: 65, r: 2, bias: true, xT: true },
  { m: 1, k: 3, n: 130, r: 1, bias: true, xT: false },
  { m: 33, k: 20, n: 40, r: 24, bias: true, xT: false }, // r > 16: tiled accumulate
];

gpuTest("fused loraLinear matches x·Wᵀ + b + s·(x·Aᵀ)·Bᵀ (odd sizes, r = 1/2/8/24)", async (b) => {
  let seed = 11;
  for (const c of LORA_CASES) {
    const { m, k, n, r } = c;
    const scaling = 16 / r;
    const xd = rand(m * k + 1, seed++).map(Math.fround);
    const wd = rand(n * k, seed++).map(Math.fround);
    const bd = rand(n, seed++).map(Math.fround);
    const ad = rand(r * k, seed++).map(Math.fround);
    const ud = rand(n * r, seed++).map(Math.fround);
    const xb = upload(b, xd), wb = upload(b, wd), bb = upload(b, bd);
    const ab = upload(b, ad), ub = upload(b, ud);
    const xv: View = c.xT
      ? view(xb, [m, k], { strides: [1, m], offset: 1 })
      : view(xb, [m, k], { offset: 1 });
    const x = hostValues(xd, xv);
    const down = hostLinear(x, ad, m, r, k);
    const base = hostLinear(x, wd, m, n, k);
    const up = hostLinear(down, ud, m, n, r);
    const expected = base.map((v, i) => v + (c.bias ? bd[i % n] : 0) + scaling * up[i]);
    const out = b.alloc(m * n, "float32"), dn = b.alloc(m * r, "float32");
    b.fused.loraLinear!(
      xv,
      view(wb, [n, k]),
      c.bias ? view(bb, [n]) : null,
      view(ab, [r, k]),
      view(ub, [n, r]),
      scaling,
      out,
      dn,
    );
    const what = `${m}x${k}x${n} r=${r} bias=${c.bias} xT=${c.xT}`;
    assertClose(await readAll(b, dn, m * r), down, 1e-5, 1e-5, `${what} down`);
    assertClose(await readAll(b, out, m * n), expected, 1e-4, 1e-5, `${what} out`);
    [xb, wb, bb, ab, ub, out, dn].forEach((h) => b.free(h));
  }
});

gpuTest("fused loraLinear: transposed B view, zero B, and shape errors", async (b) => {
  const [m, k, n, r] = [4, 6, 5, 2];
  const xd = rand(m * k, 1).map(Math.fround), wd = rand(n * k, 2).map(Math.fround);
  const ad = rand(r * k, 3).map(Math.fround), ud = rand(n * r, 4).map(Math.fround);
  const xb = upload(b, xd), wb = upload(b, wd), ab = upload(b, ad), ub = upload(b, ud);
  const out = b.alloc(m * n, "float32"), dn = b.alloc(m * r, "float32");
  // B [n, r] stored as its transpose [r, n].
  const bv = view(ub, [n, r], { strides: [1, n] });
  b.fused.loraLinear!(view(xb, [m, k]), view(wb, [n, k]), null, view(ab, [r, k]), bv, 0.5, out, dn);
  const down = hostLinear(xd, ad, m, r, k);
  const bRows = hostValues(ud, bv);
  const up = hostLinear(down, bRows, m, n, r);
  const expected = hostLinear(xd, wd, m, n, k).map((v, i) => v + 0.5 * up[i]);
  assertClose(await readAll(b, out, m * n), expected, 1e-5, 1e-5, "transposed B");
  // B = 0 (a fresh adapter): out is exactly the base linear.
  const zb = upload(b, new Array(n * r).fill(0));
  const base = b.alloc(m * n, "float32");
  b.fused.linear!(view(xb, [m, k]), view(wb, [n, k]), null, base);
  b.fused.loraLinear!(
    view(xb, [m, k]),
    view(wb, [n, k]),
    null,
    view(ab, [r, k]),
    view(zb, [n, r]),
    2,
    out,
    dn,
  );
  assert.deepEqual(await readAll(b, out, m * n), await readAll(b, base, m * n));
  assert.throws(
    () =>
      b.fused.loraLinear!(
        view(xb, [m, k]),
        view(wb, [n, k]),
        null,
        view(ab, [r, k]),
        view(ub, [r, n]),
        1,
        out,
        dn,
      ),
    /loraLinear B must be/,
  );
  assert.throws(
    () =>
      b.fused.loraLinear!(
        view(xb, [m, k]),
        view(wb, [n, k]),
        null,
        view(ab, [r, k - 1]),
        view(ub, [n, r]),
        1,
        out,
        dn,
      ),
    /K differs/,
  );
  [xb, wb, ab, ub, zb, out, dn, base].forEach((h) => b.free(h));
});

/** float64 cross-entropy rows and softmax of host logits [rows, c]. */
function hostCrossEntropy(
  x: number[],
  t: number[],
  rows: number,
  c: number,
): { losses: number[]; probs: number[] } {
  const losses: number[] = [], probs: number[] = [];
  for (let i = 0; i < rows; i++) {
    const row = x.slice(i * c, (i + 1) * c);
    const mx = Math.max(...row);
    const sum = row.reduce((s, v) => s + Math.exp(v - mx), 0);
    const lse = mx + Math.log(sum);
    probs.push(...row.map((v) => Math.exp(v - mx) / sum));
    losses.push(t[i] >= 0 && t[i] < c ? lse - row[t[i]] : NaN);
  }
  return { losses, probs };
}

gpuTest("fused crossEntropy matches float64 (odd sizes, ±1000 logits)", async (b) => {
  let seed = 3;
  for (const [rows, c] of [[1, 1], [3, 2], [5, 7], [17, 33], [9, 300], [2, 1000]]) {
    const xd = rand(rows * c, seed++, -4, 4).map(Math.fround);
    // Large logits: a few ±1000 entries per row (exp of the raw value overflows).
    for (let i = 0; i < rows; i++) {
      xd[i * c + ((i * 7) % c)] = i % 2 ? 1000 : -1000;
      if (c > 2) xd[i * c + ((i * 7 + 1) % c)] = 999.5;
    }
    const td = Array.from({ length: rows }, (_, i) => (i * 5 + 1) % c);
    const xb = upload(b, xd), tb = upload(b, td, "int32");
    const losses = b.alloc(rows, "float32"), probs = b.alloc(rows * c, "float32");
    b.fused.crossEntropy!(view(xb, [rows, c]), view(tb, [rows], { dtype: "int32" }), losses, probs);
    const ref = hostCrossEntropy(xd, td, rows, c);
    const what = `${rows}x${c}`;
    assertClose(await readAll(b, losses, rows), ref.losses, 1e-4, 1e-5, `${what} losses`);
    assertClose(await readAll(b, probs, rows * c), ref.probs, 1e-6, 1e-5, `${what} probs`);
    [xb, tb, losses, probs].forEach((h) => b.free(h));
  }
});

gpuTest(
  "fused crossEntropy: an out-of-range target gives NaN for that row only and a RangeError at the next read",
  async (b) => {
    const [rows, c] = [4, 5];
    const xd = rand(rows * c, 9).map(Math.fround);
    const td = [2, 5, -1, 0]; // rows 1 and 2 are out of range
    // Targets as a strided view with an offset.
    const tStore = [7, ...td.flatMap((t) => [t, 99])];
    const xb = upload(b, xd), tb = upload(b, tStore, "int32");
    const tv = view(tb, [rows], { strides: [2], offset: 1, dtype: "int32" });
    const losses = b.alloc(rows, "float32"), probs = b.alloc(rows * c, "float32");
    b.fused.crossEntropy!(view(xb, [rows, c]), tv, losses, probs);
    const ref = hostCrossEntropy(xd, td, rows, c);
    await assert.rejects(
      () => b.sync(),
      (e: Error) => e instanceof RangeError && /crossEntropy/.test(e.message),
    );
    const got = await readAll(b, losses, rows);
    assert.ok(Number.isNaN(got[1]) && Number.isNaN(got[2]), `NaN rows: ${got}`);
    assertClose(got, ref.losses, 1e-5, 1e-5, "losses");
    assertClose(await readAll(b, probs, rows * c), ref.probs, 1e-6, 1e-5, "probs (all rows)");
    assert.throws(
      () => b.fused.crossEntropy!(view(xb, [rows, c]), view(xb, [rows]), losses, probs),
      /int32/,
    );
    [xb, tb, losses, probs].forEach((h) => b.free(h));
  },
);
