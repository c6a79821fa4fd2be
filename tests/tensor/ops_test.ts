/**
 * Forward values of every op in API.md's Tensors section: hand-computed
 * cases first, then every case of the torch fixture, on every backend.
 */
import assert from "node:assert/strict";
import { arange, assertClose, cat, linear, stack, tensor, where } from "../../mod.ts";
import { backendTest } from "../_backends.ts";
import { applyOp, describe, fixtureOps, makeInputs, mismatch, torchCases } from "./_torch_cases.ts";

// ---- hand-computed cases ----

backendTest("`add()` broadcasts a row over a matrix", async () => {
  const a = tensor([[1, 2, 3], [4, 5, 6]]);
  const b = tensor([10, 20, 30]);
  const c = a.add(b);
  assert.deepEqual(c.shape, [2, 3]);
  assert.deepEqual(await c.toArray(), [[11, 22, 33], [14, 25, 36]]);
});

backendTest("`add()` broadcasts [4,1,3] with [2,1] to [4,2,3]", async () => {
  const a = arange(12).float().reshape([4, 1, 3]);
  const b = tensor([[100], [200]]);
  const c = a.add(b);
  assert.deepEqual(c.shape, [4, 2, 3]);
  const d = await c.data();
  assert.equal(d[0], 100);
  assert.equal(d[3], 200);
  assert.equal(d[23], 211);
});

backendTest("binary ops take a number on the right", async () => {
  const a = tensor([1, 2, 4]);
  assert.deepEqual(await a.add(1).toArray(), [2, 3, 5]);
  assert.deepEqual(await a.sub(1).toArray(), [0, 1, 3]);
  assert.deepEqual(await a.mul(3).toArray(), [3, 6, 12]);
  assert.deepEqual(await a.div(2).toArray(), [0.5, 1, 2]);
  assert.deepEqual(await a.pow(2).toArray(), [1, 4, 16]);
});

backendTest("`div()` by zero gives ±Infinity and NaN like IEEE", async () => {
  const out = await tensor([1, -1, 0]).div(0).data();
  assert.equal(out[0], Infinity);
  assert.equal(out[1], -Infinity);
  assert.ok(Number.isNaN(out[2]));
});

backendTest("unary ops compute their textbook values", async () => {
  const x = tensor([-1, 0.5, 2]);
  await assertClose(x.neg(), [1, -0.5, -2]);
  await assertClose(x.exp(), [Math.exp(-1), Math.exp(0.5), Math.exp(2)]);
  await assertClose(x.abs(), [1, 0.5, 2]);
  await assertClose(x.relu(), [0, 0.5, 2]);
  await assertClose(x.tanh(), [Math.tanh(-1), Math.tanh(0.5), Math.tanh(2)]);
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  await assertClose(x.sigmoid(), [sig(-1), sig(0.5), sig(2)], { atol: 1e-6 });
  const p = tensor([0.25, 1, 4]);
  await assertClose(p.sqrt(), [0.5, 1, 2]);
  await assertClose(p.log(), [Math.log(0.25), 0, Math.log(4)]);
});

backendTest("`gelu()` is the exact erf form", async () => {
  // torch.nn.functional.gelu(torch.tensor([-1., 0., 1., 3.]))
  await assertClose(
    tensor([-1, 0, 1, 3]).gelu(),
    [-0.15865525, 0, 0.84134475, 2.99595031],
    { atol: 1e-6 },
  );
});

backendTest(
  "`log()` and `sqrt()` follow IEEE at the domain's edge",
  async () => {
    const l = await tensor([0, -1]).log().data();
    assert.equal(l[0], -Infinity);
    assert.ok(Number.isNaN(l[1]));
    assert.ok(Number.isNaN((await tensor([-4]).sqrt().data())[0]));
  },
);

backendTest("`matmul()` multiplies 2-D matrices", async () => {
  const a = tensor([[1, 2], [3, 4]]);
  const b = tensor([[5, 6], [7, 8]]);
  assert.deepEqual(await a.matmul(b).toArray(), [[19, 22], [43, 50]]);
});

backendTest("`matmul()` broadcasts batch dims", async () => {
  const a = arange(2 * 1 * 3 * 4).float().reshape([2, 1, 3, 4]);
  const b = arange(5 * 4 * 2).float().reshape([5, 4, 2]);
  const c = a.matmul(b);
  assert.deepEqual(c.shape, [2, 5, 3, 2]);
  const ref = a.expand([2, 5, 3, 4]).matmul(b.expand([2, 5, 4, 2]));
  await assertClose(c, ref);
});

backendTest(
  "`matmul()` of vectors follows torch.matmul's 1-D rules",
  async () => {
    const v = tensor([1, 2, 3]);
    const m = tensor([[1, 0], [0, 1], [1, 1]]);
    const dot = v.matmul(v);
    assert.deepEqual(dot.shape, []);
    assert.equal(await dot.item(), 14);
    assert.deepEqual(v.matmul(m).shape, [2]);
    assert.deepEqual(await v.matmul(m).toArray(), [4, 5]);
    assert.deepEqual(m.transpose(0, 1).matmul(v).shape, [2]);
  },
);

backendTest("`matmul()` reads transposed operands", async () => {
  const a = tensor([[1, 2, 3], [4, 5, 6]]); // [2,3]
  assert.deepEqual(await a.transpose(0, 1).matmul(a).toArray(), [
    [17, 22, 27],
    [22, 29, 36],
    [27, 36, 45],
  ]);
});

backendTest("`sum()` reduces all, one, negative and several dims", async () => {
  const x = arange(24).float().reshape([2, 3, 4]);
  assert.equal(await x.sum().item(), 276);
  assert.deepEqual(x.sum().shape, []);
  assert.deepEqual(x.sum(-1).shape, [2, 3]);
  assert.deepEqual(await x.sum(-1).toArray(), [[6, 22, 38], [54, 70, 86]]);
  assert.deepEqual(x.sum([0, 2]).shape, [3]);
  assert.deepEqual(await x.sum([0, 2]).toArray(), [60, 92, 124]);
  assert.deepEqual(x.sum(1, { keepdim: true }).shape, [2, 1, 4]);
  assert.deepEqual(x.sum(undefined, { keepdim: true }).shape, [1, 1, 1]);
});

backendTest("`mean()` divides by the reduced count", async () => {
  const x = tensor([[1, 2], [3, 6]]);
  assert.equal(await x.mean().item(), 3);
  assert.deepEqual(await x.mean(0).toArray(), [2, 4]);
  assert.deepEqual(await x.mean(-1, { keepdim: true }).toArray(), [
    [1.5],
    [4.5],
  ]);
});

backendTest("`max()` returns values; `argmax()` int32 indices", async () => {
  const x = tensor([[1, 7, 3], [9, -2, 4]]);
  assert.equal(await x.max().item(), 9);
  assert.deepEqual(await x.max(1).toArray(), [7, 9]);
  assert.deepEqual(x.max(0, { keepdim: true }).shape, [1, 3]);
  const i = x.argmax(1);
  assert.equal(i.dtype, "int32");
  assert.deepEqual(await i.toArray(), [1, 0]);
  assert.deepEqual(await x.argmax(-2).toArray(), [1, 0, 1]);
});

backendTest("`softmax()` is stable for logits of ±1000", async () => {
  const x = tensor([[1000, 0, -1000], [-1000, -1000, -1000]]);
  const s = await x.softmax(-1).toArray() as number[][];
  assert.ok(s.flat().every(Number.isFinite), `not finite: ${s}`);
  await assertClose(x.softmax(-1), [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]]);
  await assertClose(x.logSoftmax(-1), [
    [0, -1000, -2000],
    [-Math.log(3), -Math.log(3), -Math.log(3)],
  ], { atol: 1e-4, rtol: 1e-5 });
});

backendTest("`softmax()` over a middle dim sums to one along it", async () => {
  const x = arange(24).float().reshape([2, 3, 4]).mul(0.3);
  await assertClose(x.softmax(1).sum(1), tensor(1).expand([2, 4]), {
    atol: 1e-5,
  });
});

backendTest("comparisons return float32 0/1 and broadcast", async () => {
  const a = tensor([[1, 2, 3], [3, 2, 1]]);
  const eq = a.eq(tensor([1, 2, 1]));
  assert.equal(eq.dtype, "float32");
  assert.deepEqual(await eq.toArray(), [[1, 1, 0], [0, 1, 1]]);
  assert.deepEqual(await a.lt(2).toArray(), [[1, 0, 0], [0, 0, 1]]);
  assert.deepEqual(await a.gt(2).toArray(), [[0, 0, 1], [1, 0, 0]]);
});

backendTest("`where()` picks from a where cond is nonzero", async () => {
  const cond = tensor([1, 0, 1]);
  const out = where(cond, tensor([1, 2, 3]), tensor([[10], [20]]));
  assert.deepEqual(out.shape, [2, 3]);
  assert.deepEqual(await out.toArray(), [[1, 10, 3], [1, 20, 3]]);
  const x = tensor([-1, 2, -3]);
  assert.deepEqual(await where(x.gt(0), x, x.neg()).toArray(), [1, 2, 3]);
});

backendTest("`cat()` and `stack()` join along any dim", async () => {
  const a = tensor([[1, 2]]);
  const b = tensor([[3, 4], [5, 6]]);
  assert.deepEqual(await cat([a, b], 0).toArray(), [[1, 2], [3, 4], [5, 6]]);
  assert.deepEqual(await cat([b, b], -1).toArray(), [
    [3, 4, 3, 4],
    [5, 6, 5, 6],
  ]);
  const s = stack([a, a.mul(2)], 1);
  assert.deepEqual(s.shape, [1, 2, 2]);
  assert.deepEqual(await s.toArray(), [[[1, 2], [2, 4]]]);
});

backendTest("int32 arithmetic stays int32", async () => {
  const a = tensor([1, 2, 3], { dtype: "int32" });
  const b = a.add(tensor([10, 20, 30], { dtype: "int32" }));
  assert.equal(b.dtype, "int32");
  assert.deepEqual(await b.toArray(), [11, 22, 33]);
  assert.equal(a.sum().dtype, "int32");
  assert.equal(await a.sum().item(), 6);
});

backendTest("`float()` and `int()` convert; `int()` truncates", async () => {
  const x = tensor([1.7, -1.7, 2]);
  const i = x.int();
  assert.equal(i.dtype, "int32");
  assert.deepEqual(await i.toArray(), [1, -1, 2]);
  assert.equal(i.float().dtype, "float32");
});

backendTest("`linear()` computes x·Wᵀ + b on leading dims", async () => {
  const x = arange(12).float().reshape([2, 2, 3]);
  const w = tensor([[1, 0, 1], [0, 1, 0]]);
  const b = tensor([0.5, -0.5]);
  const y = linear(x, w, b);
  assert.deepEqual(y.shape, [2, 2, 2]);
  await assertClose(y, x.matmul(w.transpose(0, 1)).add(b));
  await assertClose(linear(x, w), x.matmul(w.transpose(0, 1)));
});

backendTest("`narrow()` takes a slice along a dim", async () => {
  const x = arange(12).float().reshape([3, 4]);
  assert.deepEqual(await x.narrow(1, 1, 2).toArray(), [[1, 2], [5, 6], [
    9,
    10,
  ]]);
  assert.deepEqual(await x.narrow(-2, 2, 1).toArray(), [[8, 9, 10, 11]]);
});

backendTest("int32 `div()` promotes to float32 like torch", async () => {
  const i = tensor([1, 2, 3], { dtype: "int32" });
  const d = i.div(2);
  assert.equal(d.dtype, "float32");
  assert.deepEqual(await d.toArray(), [0.5, 1, 1.5]);
  const q = i.div(tensor([2, 2, 2], { dtype: "int32" }));
  assert.equal(q.dtype, "float32");
  assert.deepEqual(await q.toArray(), [0.5, 1, 1.5]);
});

backendTest("int32 mixed with float32 promotes to float32", async () => {
  const i = tensor([1, 2], { dtype: "int32" });
  const f = i.add(0.5);
  assert.equal(f.dtype, "float32");
  assert.deepEqual(await f.toArray(), [1.5, 2.5]);
  assert.equal(i.add(1).dtype, "int32");
  const g = i.mul(tensor([0.5, 0.25]));
  assert.equal(g.dtype, "float32");
  assert.deepEqual(await g.toArray(), [0.5, 0.5]);
  assert.deepEqual(await i.eq(tensor([1, 5], { dtype: "int32" })).toArray(), [1, 0]);
});

backendTest("`max()` and `argmax()` work on int32", async () => {
  const i = tensor([[3, 9], [7, 1]], { dtype: "int32" });
  assert.equal(i.max().dtype, "int32");
  assert.equal(await i.max().item(), 9);
  assert.deepEqual(await i.argmax(0).toArray(), [1, 0]);
});

backendTest("`pow()` of a negative base with an integer exponent", async () => {
  assert.deepEqual(await tensor([-2, 3]).pow(3).toArray(), [-8, 27]);
  assert.deepEqual(await tensor([-2, 3]).pow(2).toArray(), [4, 9]);
  assert.deepEqual(await tensor([-2, 4]).pow(tensor([2, 0.5])).toArray(), [4, 2]);
});

backendTest("`where()` takes numbers for either branch", async () => {
  const x = tensor([-1, 2, -3]);
  assert.deepEqual(await where(x.gt(0), x, 0).toArray(), [0, 2, 0]);
  assert.deepEqual(await where(x.lt(0), -1, x).toArray(), [-1, 2, -1]);
});

backendTest("reductions of an empty tensor follow torch", async () => {
  const e = tensor([], { shape: [0, 3] });
  assert.deepEqual(await e.sum(0).toArray(), [0, 0, 0]);
  assert.equal(await e.sum().item(), 0);
  assert.deepEqual(e.sum(1).shape, [0]);
});

backendTest("scalars squeeze, unsqueeze and reduce", async () => {
  const s = tensor(5);
  assert.deepEqual(s.squeeze().shape, []);
  assert.deepEqual(s.unsqueeze(0).shape, [1]);
  assert.equal(await s.sum().item(), 5);
  assert.deepEqual(s.reshape([1, 1]).shape, [1, 1]);
  assert.equal(await s.reshape([1, 1]).squeeze().item(), 5);
});

backendTest("NaN propagates through unary ops and reductions like torch", async () => {
  const x = tensor([NaN, 1]);
  for (const op of ["neg", "exp", "abs", "relu", "gelu", "tanh", "sigmoid"] as const) {
    const d = await x[op]().data();
    assert.ok(Number.isNaN(d[0]), `${op}(NaN) gave ${d[0]}`);
  }
  assert.ok(Number.isNaN(await x.max().item()));
  assert.ok(Number.isNaN(await x.sum().item()));
});

backendTest("a scalar accepts dim 0 and -1 like torch", async () => {
  const s = tensor(3);
  assert.equal(await s.sum(0).item(), 3);
  assert.equal(await s.mean(-1).item(), 3);
  assert.equal(await s.softmax(0).item(), 1);
});

// ---- the torch fixture ----

for (const op of fixtureOps()) {
  const cases = torchCases.filter((c) => c.op === op);
  backendTest(
    `\`${op}()\` matches torch forward on ${cases.length} cases`,
    async () => {
      const failures: string[] = [];
      for (const c of cases) {
        try {
          const { xs } = makeInputs(c);
          const out = applyOp(c.op, xs, c.args);
          if (out.dtype !== c.out.dtype) {
            failures.push(
              `${c.name}: dtype ${out.dtype}, torch ${c.out.dtype}`,
            );
            continue;
          }
          const why = mismatch(
            await out.data(),
            out.shape,
            c.out.data,
            c.out.shape,
          );
          if (why) failures.push(`${c.name} ${describe(c)}: ${why}`);
        } catch (e) {
          failures.push(`${c.name} ${describe(c)}: threw ${e}`);
        }
      }
      assert.equal(failures.length, 0, "\n" + failures.join("\n"));
    },
  );
}
