/**
 * Softmax and cross-entropy over rows wider than the CPU's SIMD threshold
 * (the path that runs on the Wasm kernels), with special values in some
 * rows, against float64 host references: a −∞ logit, a row of −∞ (NaN, as
 * PyTorch), a +∞ or a NaN (NaN row), large logits (stability), and a target
 * at −∞ (an infinite loss).
 */
import assert from "node:assert/strict";
import { nn, tensor } from "../../mod.ts";
import { backendTest } from "../_backends.ts";
import { Rng } from "../fuzz/_gen.ts";

const C = 97;

function rowsOf(rng: Rng): number[][] {
  const rows = Array.from(
    { length: 12 },
    () => Array.from({ length: C }, () => Math.fround((rng.next() * 2 - 1) * 6)),
  );
  rows[1][5] = -Infinity;
  rows[2].fill(-Infinity);
  rows[3][40] = Infinity;
  rows[4][7] = NaN;
  rows[5] = rows[5].map((v) => v + 85);
  rows[6][0] = -Infinity;
  return rows;
}

/** float64 log-sum-exp of a row (NaN in, NaN out; all −∞ gives NaN as the softmax does). */
function lse(row: number[]): number {
  let m = -Infinity;
  for (const v of row) if (v > m || v !== v) m = v;
  let s = 0;
  for (const v of row) s += Math.exp(v - m);
  return m + Math.log(s);
}

function close(got: ArrayLike<number>, want: number[], what: string): void {
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (Number.isNaN(w)) assert.ok(Number.isNaN(g), `${what}[${i}]: ${g}, expected NaN`);
    else if (!Number.isFinite(w)) assert.equal(g, w, `${what}[${i}]`);
    else assert.ok(Math.abs(g - w) <= 1e-6 + 2e-6 * Math.abs(w), `${what}[${i}]: ${g} vs ${w}`);
  }
}

backendTest("wide softmax and cross-entropy rows with special values match float64", async () => {
  const rows = rowsOf(new Rng(20261202));
  const targets = rows.map((_, i) => (i * 13) % C);
  targets[6] = 0; // the −∞ logit: an infinite loss
  const x = tensor(rows);
  const probs = await x.softmax(1).data();
  const want: number[] = [];
  for (const r of rows) {
    const l = lse(r);
    for (const v of r) want.push(Math.exp(v - l));
  }
  close(probs, want, "softmax");
  const losses = await nn.crossEntropy(x, tensor(targets, { dtype: "int32" }), {
    reduction: "none",
  }).data();
  close(losses, rows.map((r, i) => lse(r) - r[targets[i]]), "crossEntropy");
});
