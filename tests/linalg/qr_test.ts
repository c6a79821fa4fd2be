/**
 * `linalg.qr` on every backend: |diag R| and R's rows (up to sign) against
 * PyTorch 1.13 (fixtures), LAPACK's signs on hand cases, and the defining
 * properties (Q orthonormal, R upper triangular, Q·R = A) on seeded random
 * matrices of many shapes in modes "reduced" and "complete".
 */
import assert from "node:assert/strict";
import { linalg, memory, type Tensor, tensor } from "../../mod.ts";
import { backendTest } from "../_backends.ts";
import { Rng } from "../fuzz/_gen.ts";
import { torchLinalg } from "./_fixture.ts";
import { assertAbsClose, checkQr, lowRank, randomMatrix } from "./_props.ts";

const mat = (a: Float32Array | number[], m: number, n: number): Tensor =>
  tensor(Float32Array.from(a), { shape: [m, n] });

for (const c of torchLinalg) {
  backendTest(`\`linalg.qr()\` of ${c.name} matches torch's R up to signs`, async () => {
    const [m, n] = c.shape;
    const a = Float32Array.from(c.a);
    const x = mat(a, m, n);
    const scale = Math.max(...c.a.map(Math.abs), 1e-30);
    for (const mode of ["reduced", "complete"] as const) {
      const r = await linalg.qr(x, { mode });
      assert.equal(r.Q.backend, x.backend);
      const { r: rr } = await checkQr(a, m, n, r, mode);
      const diag = c.absDiagR.map((_, i) => rr[i * n + i]);
      assertAbsClose(diag, c.absDiagR, 1e-5 * scale, 1e-5, "|diag R|");
      c.R?.forEach((row, i) => {
        const sign = Math.sign(rr[i * n + i]) * Math.sign(row[i]) || 1;
        const mine = row.map((_, j) => sign * rr[i * n + j]);
        for (let j = 0; j < n; j++) {
          assert.ok(
            Math.abs(mine[j] - row[j]) <= 1e-5 * scale + 1e-5 * Math.abs(row[j]),
            `R[${i}][${j}]: ${mine[j]} vs torch ${row[j]} (row sign ${sign})`,
          );
        }
      });
      r.Q.dispose();
      r.R.dispose();
    }
    x.dispose();
  });
}

backendTest("`linalg.qr()` makes LAPACK's (and torch's) sign choice", async () => {
  // torch.linalg.qr([[3], [4]]) = Q [[-0.6], [-0.8]], R [[-5]];
  // an upper triangular input comes back as Q = I, R = A (signs kept);
  // [[1, 2], [3, 4], [5, 6]]: R = [[-5.9161, -7.4374], [0, 0.8281]].
  const cases: [number[], number, number, number[], number[]][] = [
    [[3, 4], 2, 1, [-0.6, -0.8], [-5]],
    [[-2, 1, 0, -3], 2, 2, [1, 0, 0, 1], [-2, 1, 0, -3]],
    [[1, 2, 3, 4, 5, 6], 3, 2, [-0.169031, 0.897085, -0.507093, 0.276026, -0.845154, -0.345033], [
      -5.916080,
      -7.437357,
      0,
      0.828078,
    ]],
  ];
  for (const [a, m, n, q, r] of cases) {
    const res = await linalg.qr(mat(a, m, n));
    const [gq, gr] = [await res.Q.data(), await res.R.data()];
    q.forEach((v, i) => assert.ok(Math.abs(gq[i] - v) < 2e-6, `Q[${i}] ${gq[i]} vs ${v}`));
    r.forEach((v, i) => assert.ok(Math.abs(gr[i] - v) < 5e-6, `R[${i}] ${gr[i]} vs ${v}`));
    res.Q.dispose();
    res.R.dispose();
  }
});

backendTest("`linalg.qr()` factorises seeded random matrices of many shapes", async () => {
  const rng = new Rng(99);
  const next = () => rng.next();
  const shapes: [number, number][] = [[1, 1], [1, 9], [9, 1], [0, 4], [4, 0], [0, 0], [50, 3]];
  for (let i = 0; i < 30; i++) shapes.push([rng.int(1, 20), rng.int(1, 20)]);
  for (const [m, n] of shapes) {
    const kind = rng.int(0, 3);
    const a = kind === 0
      ? lowRank(next, m, n, rng.int(0, Math.min(m, n)))
      : kind === 1
      ? new Float32Array(m * n)
      : randomMatrix(next, m, n, kind === 2 ? 1e20 : 1);
    const x = mat(a, m, n);
    for (const mode of ["reduced", "complete"] as const) {
      const r = await linalg.qr(x, { mode });
      try {
        await checkQr(a, m, n, r, mode);
      } catch (e) {
        throw new Error(`kind ${kind} ${m}×${n} ${mode}: ${(e as Error).message}`);
      }
      r.Q.dispose();
      r.R.dispose();
    }
    x.dispose();
  }
});

backendTest('`linalg.qr()` mode "r" gives the reduced R and an empty Q', async () => {
  const x = mat([2, -1, 0, 4, 1, 1, 3, 0, 2, 5, 1, 1], 4, 3);
  const full = await linalg.qr(x);
  const only = await linalg.qr(x, { mode: "r" });
  assert.deepEqual(only.Q.shape, [0]);
  assert.deepEqual(Array.from(await only.R.data()), Array.from(await full.R.data()));
  for (const t of [full.Q, full.R, only.Q, only.R, x]) t.dispose();
});

backendTest("`linalg.qr()` rejects bad input naming it, and allocates nothing", async () => {
  const x = mat([1, 2, 3, 4], 2, 2);
  const ints = tensor([[1]], { dtype: "int32" }), vec = tensor([1, 2]);
  const nan = mat([0, 0, NaN, 0], 2, 2);
  const cases: [() => unknown, ErrorConstructor, RegExp][] = [
    [() => linalg.qr(null as unknown as Tensor), TypeError, /qr: expected a Tensor, got null/],
    [() => linalg.qr(ints), TypeError, /qr: .*int32 of shape \[1,1\]/],
    [() => linalg.qr(vec), RangeError, /qr: .*shape \[2\]/],
    [() => linalg.qr(nan), RangeError, /qr: .*NaN at \[1, 0\]/],
    [() => linalg.qr(x, { mode: "full" as linalg.QrMode }), TypeError, /mode.*"full"/],
    [() => linalg.qr(x, { pivot: true } as unknown as linalg.QrOptions), TypeError, /"pivot"/],
  ];
  const before = memory(x.backend);
  for (const [f, kind, msg] of cases) {
    await assert.rejects(
      async () => await f(),
      (e: Error) => e instanceof kind && msg.test(e.message),
    );
  }
  assert.deepEqual(memory(x.backend), before);
  assert.deepEqual(Array.from(await x.data()), [1, 2, 3, 4]);
  for (const t of [x, ints, vec, nan]) t.dispose();
});
