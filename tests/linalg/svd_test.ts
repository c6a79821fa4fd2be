/**
 * `linalg.svd` and `linalg.svdvals` on every backend: singular values
 * against PyTorch 1.13 (fixtures), U's columns against PyTorch's up to
 * sign where they are unique, and the defining properties on seeded
 * random matrices of many shapes (tall, wide, 1×n, n×1, empty,
 * rank-deficient, zero, huge and tiny scales).
 */
import assert from "node:assert/strict";
import { linalg, memory, type Tensor, tensor } from "../../mod.ts";
import { backendTest, isCpu } from "../_backends.ts";
import { Rng } from "../fuzz/_gen.ts";
import { torchLinalg } from "./_fixture.ts";
import { assertAbsClose, checkSvd, lowRank, randomMatrix } from "./_props.ts";

const mat = (a: Float32Array | number[], m: number, n: number): Tensor =>
  tensor(Float32Array.from(a), { shape: [m, n] });

function disposeAll(r: object): void {
  for (const t of Object.values(r)) (t as Tensor).dispose();
}

for (const c of torchLinalg) {
  backendTest(`\`linalg.svd()\` of ${c.name} matches torch's singular values`, async () => {
    const [m, n] = c.shape;
    const a = Float32Array.from(c.a);
    const x = mat(a, m, n);
    const scale = Math.max(c.S[0] ?? 0, 1e-30);
    for (const full of [false, true]) {
      const r = await linalg.svd(x, { fullMatrices: full });
      assert.equal(r.U.backend, x.backend);
      const s = await checkSvd(a, m, n, r, full);
      assertAbsClose(s, c.S, 2e-6 * scale, 1e-5, "S");
      if (c.U) {
        const u = await r.U.data(), p = r.U.shape[1];
        c.U.forEach((col, i) => {
          const mine = col.map((_, row) => u[row * p + i]);
          assertAbsClose(mine, col, 1e-5, 1e-4, `U[:, ${i}] up to sign`);
        });
      }
      disposeAll(r);
    }
    const vals = await linalg.svdvals(x);
    assertAbsClose(await vals.data(), c.S, 2e-6 * scale, 1e-5, "svdvals");
    vals.dispose();
    x.dispose();
  });
}

/** Seeded shapes: edge sizes first, then random ones up to 24. */
function shapes(rng: Rng): [number, number][] {
  const edge: [number, number][] = [
    [1, 1],
    [1, 17],
    [17, 1],
    [0, 0],
    [0, 5],
    [5, 0],
    [2, 2],
    [64, 3],
    [3, 64],
  ];
  const random = Array.from({ length: 30 }, () => [rng.int(1, 24), rng.int(1, 24)]);
  return [...edge, ...random] as [number, number][];
}

/** A matrix of one of several kinds, seeded. */
function sample(rng: Rng, m: number, n: number): { a: Float32Array; kind: string } {
  const next = () => rng.next();
  const pick = rng.int(0, 6);
  const k = Math.min(m, n);
  if (pick === 0) {
    return { a: lowRank(next, m, n, rng.int(0, Math.max(k - 1, 0))), kind: "low rank" };
  }
  if (pick === 1) return { a: new Float32Array(m * n), kind: "zero" };
  if (pick === 2) return { a: randomMatrix(next, m, n, 1e30), kind: "huge" };
  if (pick === 3) return { a: randomMatrix(next, m, n, 1e-30), kind: "tiny" };
  if (pick === 4) {
    // Repeated singular values: a scaled partial identity, one row duplicated.
    const a = new Float32Array(m * n);
    for (let i = 0; i < k; i++) a[i * n + i] = 3;
    if (m > 1) a.set(a.subarray(0, n), (m - 1) * n);
    return { a, kind: "repeated" };
  }
  if (pick === 5) {
    const a = Float32Array.from({ length: m * n }, () => rng.int(-2, 2));
    return { a, kind: "small integers" };
  }
  return { a: randomMatrix(next, m, n), kind: "dense" };
}

backendTest("`linalg.svd()` is an SVD for seeded random matrices of many shapes", async () => {
  const rng = new Rng(20240601);
  for (const [m, n] of shapes(rng)) {
    const { a, kind } = sample(rng, m, n);
    const full = rng.chance(0.5);
    const x = mat(a, m, n);
    const r = await linalg.svd(x, { fullMatrices: full });
    try {
      await checkSvd(a, m, n, r, full);
    } catch (e) {
      throw new Error(`${kind} ${m}×${n} full=${full}: ${(e as Error).message}`);
    }
    disposeAll(r);
    x.dispose();
  }
});

backendTest("`linalg.svd()` follows its sign convention and matches the CPU's bits", async () => {
  const rng = new Rng(7);
  for (const [m, n] of [[6, 4], [4, 6], [5, 5]]) {
    const a = randomMatrix(() => rng.next(), m, n);
    const x = mat(a, m, n);
    const r = await linalg.svd(x);
    const u = await r.U.data(), k = Math.min(m, n);
    for (let c = 0; c < k; c++) {
      let big = 0, at = 0;
      for (let i = 0; i < m; i++) {
        if (Math.abs(u[i * k + c]) > big) [big, at] = [Math.abs(u[i * k + c]), i];
      }
      assert.ok(u[at * k + c] > 0, `U[:, ${c}]'s largest entry is negative`);
    }
    const xc = await x.to("cpu");
    const cpu = await linalg.svd(xc);
    for (const key of ["U", "S", "Vh"] as const) {
      assert.deepEqual(await r[key].data(), await cpu[key].data(), key);
    }
    disposeAll(r);
    disposeAll(cpu);
    xc.dispose();
    x.dispose();
  }
});

backendTest("`linalg.svd()` reads views and leaves its input and memory as they were", async () => {
  const base = mat([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13], 3, 4);
  const before = memory(base.backend).tensors;
  const view = base.transpose(0, 1); // 4×3, not contiguous
  const r = await linalg.svd(view);
  const a = Float32Array.from([1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 13]);
  await checkSvd(a, 4, 3, r, false);
  assert.deepEqual(Array.from(await base.data()), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13]);
  assert.equal(memory(base.backend).tensors, before + 4, "the view plus U, S, Vh");
  disposeAll(r);
  view.dispose();
  assert.equal(memory(base.backend).tensors, before);
  base.dispose();
});

backendTest("`linalg.svd()` of an n×1 and a 1×n matrix by hand", async () => {
  // [3, 4]ᵀ: S = 5, U = [0.6, 0.8]ᵀ (largest entry positive), Vh = [[1]].
  const col = await linalg.svd(mat([3, 4], 2, 1));
  assert.deepEqual(Array.from(await col.S.data()), [5]);
  assertAbsClose(await col.U.data(), [0.6, 0.8], 1e-7, 0, "U");
  assert.ok((await col.U.data())[1] > 0);
  assert.deepEqual(Array.from(await col.Vh.data()), [1]);
  // [−3, 0, 4]: S = 5, U = [[1]], Vh = [−0.6, 0, 0.8].
  const row = await linalg.svd(mat([-3, 0, 4], 1, 3));
  assert.deepEqual(Array.from(await row.S.data()), [5]);
  assert.deepEqual(Array.from(await row.U.data()), [1]);
  assertAbsClose(await row.Vh.data(), [-0.6, 0, 0.8], 1e-7, 0, "Vh");
  assert.ok((await row.Vh.data())[0] < 0);
  disposeAll(col);
  disposeAll(row);
});

backendTest("`linalg.svd()` rejects bad input naming it, and allocates nothing", async () => {
  const x = mat([1, 2, 3, 4], 2, 2);
  const ints = tensor([[1, 2]], { dtype: "int32" }), vec = tensor([1, 2, 3]);
  const cube = tensor([[[1]]]), nan = mat([1, NaN, 0, 1], 2, 2);
  const inf = mat([1, 0, -Infinity, 1], 2, 2), one = mat([Infinity], 1, 1);
  const cases: [() => unknown, ErrorConstructor, RegExp][] = [
    [() => linalg.svd([[1, 2]] as unknown as Tensor), TypeError, /svd: expected a Tensor/],
    [() => linalg.svd(ints), TypeError, /svd: .*int32 of shape \[1,2\]/],
    [() => linalg.svd(vec), RangeError, /svd: .*2-D.*shape \[3\]/],
    [() => linalg.svd(cube), RangeError, /shape \[1,1,1\]/],
    [() => linalg.svd(nan), RangeError, /NaN at \[0, 1\]/],
    [() => linalg.svd(inf), RangeError, /-Infinity at \[1, 0\]/],
    [() => linalg.svdvals(one), RangeError, /svdvals.*Infinity/],
    [() => linalg.svd(x, { fullMatrices: 1 as unknown as boolean }), TypeError, /fullMatrices/],
    [() => linalg.svd(x, { full: true } as unknown as linalg.SvdOptions), TypeError, /"full"/],
    [() => linalg.svd(x, 3 as unknown as linalg.SvdOptions), TypeError, /options/],
  ];
  const before = memory(x.backend);
  for (const [f, kind, msg] of cases) {
    await assert.rejects(
      async () => await f(),
      (e: Error) => e instanceof kind && msg.test(e.message),
    );
  }
  assert.deepEqual(memory(x.backend), before, "nothing allocated by the failed calls");
  assert.deepEqual(Array.from(await x.data()), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(await nan.data()), [1, NaN, 0, 1]);
  for (const t of [x, ints, vec, cube, nan, inf, one]) t.dispose();
});

backendTest(
  "`linalg.svd()`/`qr()` answer at once on a synchronous backend, and await anywhere",
  async (b) => {
    const x = mat([3, 1, 1, 3, 0, 2], 3, 2);
    const awaited = await linalg.svd(x);
    assert.deepEqual(Object.keys(awaited).sort(), ["S", "U", "Vh"]);
    assert.equal("then" in awaited, false, "the awaited value is plain");
    if (isCpu(b)) {
      // As torch.linalg: the factors are there without await.
      const { U, S, Vh } = linalg.svd(x);
      assert.deepEqual([U.shape, S.shape, Vh.shape], [[3, 2], [2], [2, 2]]);
      assert.deepEqual(Array.from(await S.data()), Array.from(await awaited.S.data()));
      const { R } = linalg.qr(x);
      assert.deepEqual(R.shape, [2, 2]);
      for (const t of [U, S, Vh, R]) t.dispose();
    } else {
      // Reading back is asynchronous here: a field read before await says so.
      const pending = linalg.svd(x);
      assert.throws(
        () => pending.U,
        (e: Error) => e instanceof TypeError && /await it/.test(e.message),
      );
      const { S } = await pending;
      assert.deepEqual(Array.from(await S.data()), Array.from(await awaited.S.data()));
      S.dispose();
    }
    for (const t of [x, awaited.U, awaited.S, awaited.Vh]) {
      t.dispose();
    }
  },
);
