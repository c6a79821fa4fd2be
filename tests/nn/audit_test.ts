/**
 * Gaps found by hand mutation testing of `nn`: state dicts of tied and
 * frozen parameters, `loadStateDict()`'s dtype check, LayerNorm's default
 * eps and `elementwiseAffine: false`, `Dropout(1)`, `mseLoss` reductions and
 * `crossEntropy`'s `"none"` shape over `[..., C]` and `"sum"` gradient.
 * Expected values are computed here on the host in float64 (or by hand),
 * never by the code under test.
 */
import assert from "node:assert/strict";
import { assertClose, type Tensor, tensor } from "../../mod.ts";
import * as nn from "../../nn/mod.ts";
import * as lora from "../../lora/mod.ts";
import { backendTest } from "../_backends.ts";

/** An embedding whose table is also the output projection (weight tying). */
class TiedLm extends nn.Module {
  emb = new nn.Embedding(5, 3);
  head = new nn.Linear(3, 5, { bias: false });
  constructor() {
    super();
    this.head.weight = this.emb.weight;
  }
  override forward(ids: Tensor): Tensor {
    return this.head.forward(this.emb.forward(ids));
  }
}

backendTest("`stateDict()` lists a tied tensor under each of its names", () => {
  // PyTorch: state_dict() keeps every path of a shared parameter, while
  // parameters() lists it once.
  const m = new TiedLm();
  assert.deepEqual([...m.namedParameters().keys()], ["emb.weight"]);
  const sd = m.stateDict();
  assert.deepEqual(Object.keys(sd), ["emb.weight", "head.weight"]);
  assert.equal(sd["head.weight"], sd["emb.weight"]);
});

backendTest("`stateDict()` lists a shared submodule under each path; a cycle ends", async () => {
  // PyTorch's state_dict() recurses into every child, so a module held by
  // two fields appears twice; parameters() still lists each tensor once.
  class Shared extends nn.Module {
    a = new nn.Linear(2, 2);
    b = this.a;
    override forward(x: Tensor): Tensor {
      return this.b.forward(this.a.forward(x));
    }
  }
  const m = new Shared();
  assert.deepEqual(Object.keys(m.stateDict()), ["a.weight", "a.bias", "b.weight", "b.bias"]);
  assert.deepEqual([...m.namedParameters().keys()], ["a.weight", "a.bias"]);
  // Loading a dict whose two paths carry the same values round-trips.
  const other = new Shared();
  other.loadStateDict(m.stateDict());
  assert.deepEqual(Array.from(await other.a.weight.data()), Array.from(await m.a.weight.data()));
  // A module that holds itself is walked once, not forever.
  const loop = new nn.Sequential(new nn.Linear(1, 1));
  (loop as unknown as { self: nn.Module }).self = loop;
  assert.deepEqual(Object.keys(loop.stateDict()), ["0.weight", "0.bias"]);
});

backendTest(
  "`loadStateDict()` rejects a wrong dtype naming key and dtypes, loads nothing",
  async () => {
    const lin = new nn.Linear(2, 2);
    const before = Array.from(await lin.weight.data());
    const sd = { ...lin.stateDict(), weight: tensor([[1, 2], [3, 4]], { dtype: "int32" }) };
    assert.throws(
      () => lin.loadStateDict(sd),
      (e: Error) =>
        e instanceof TypeError && e.message.includes('"weight"') && e.message.includes("int32") &&
        e.message.includes("float32"),
    );
    assert.deepEqual(Array.from(await lin.weight.data()), before);
    assert.equal(lin.weight.dtype, "float32");
  },
);

backendTest("`stateDict()` includes frozen parameters (requiresGrad false)", () => {
  const seq = new nn.Sequential(new nn.Linear(3, 2), new nn.Linear(2, 2));
  seq.parameters().forEach((p) => (p.requiresGrad = false));
  assert.deepEqual(Object.keys(seq.stateDict()), ["0.weight", "0.bias", "1.weight", "1.bias"]);
  // After lora.wrap the base weights are frozen but still part of the state.
  const wrapped = lora.wrap(new nn.Sequential(new nn.Linear(3, 2)), ["0"], 1, 1);
  assert.deepEqual(Object.keys(wrapped.stateDict()), [
    "0.base.weight",
    "0.base.bias",
    "0.loraA",
    "0.loraB",
  ]);
});

/** LayerNorm over the last dim in float64: (x − mean) / √(var + eps), biased var. */
function layerNormRows(rows: number[][], eps: number): number[][] {
  return rows.map((r) => {
    const x = r.map(Math.fround);
    const mean = x.reduce((a, v) => a + v, 0) / x.length;
    const v = x.reduce((a, t) => a + (t - mean) ** 2, 0) / x.length;
    return x.map((t) => (t - mean) / Math.sqrt(v + eps));
  });
}

backendTest("`LayerNorm` defaults to eps = 1e-5 (visible on a near-constant row)", async () => {
  // Row 0 has variance 1e-6, below eps: the default eps changes y by ~2×.
  const rows = [[0, 0.002], [3, 5]];
  const ln = new nn.LayerNorm(2);
  assert.equal(ln.eps, 1e-5);
  const y = ln.forward(tensor(rows));
  await assertClose(y, layerNormRows(rows, 1e-5), { atol: 1e-4, rtol: 1e-4 });
  // by hand: 0.001 / √(1e-6 + 1e-5) = 0.30151…
  await assertClose(y.narrow(0, 0, 1), [[-0.30151134, 0.30151134]], { atol: 1e-4, rtol: 1e-4 });
});

backendTest("`LayerNorm` with `elementwiseAffine: false` has no parameters", async () => {
  const ln = new nn.LayerNorm(3, { elementwiseAffine: false });
  assert.equal(ln.weight, null);
  assert.equal(ln.bias, null);
  assert.equal(ln.parameters().length, 0);
  assert.deepEqual(Object.keys(ln.stateDict()), []);
  const rows = [[1, 2, 3], [-4, 0, 10]];
  await assertClose(ln.forward(tensor(rows)), layerNormRows(rows, 1e-5), {
    atol: 1e-5,
    rtol: 1e-5,
  });
});

backendTest("`Dropout(1)` zeroes everything in train mode, gradient included", async () => {
  // torch.nn.functional.dropout(x, p=1, training=True) is all zeros.
  const d = new nn.Dropout(1);
  const x = tensor([1, -2, 3, 4], { requiresGrad: true });
  const y = d.forward(x);
  await assertClose(y, [0, 0, 0, 0], { atol: 0, rtol: 0 });
  y.mul(tensor([1, 2, 3, 4])).sum().backward();
  await assertClose(x.grad!, [0, 0, 0, 0], { atol: 0, rtol: 0 });
  d.eval();
  assert.equal(d.forward(x), x);
});

backendTest('`mseLoss()` reductions "sum" and "none", values and gradients', async () => {
  // d = input − target = [1, 2, −2]; d² = [1, 4, 4]: sum 9, mean 3.
  const target = tensor([0, 0, 5]);
  const a = tensor([1, 2, 3], { requiresGrad: true });
  const sum = nn.mseLoss(a, target, { reduction: "sum" });
  assert.deepEqual(sum.shape, []);
  await assertClose(sum, 9, { atol: 0, rtol: 0 });
  sum.backward();
  await assertClose(a.grad!, [2, 4, -4], { atol: 0, rtol: 0 }); // 2d

  const b = tensor([1, 2, 3], { requiresGrad: true });
  const each = nn.mseLoss(b, target, { reduction: "none" });
  assert.deepEqual(each.shape, [3]);
  await assertClose(each, [1, 4, 4], { atol: 0, rtol: 0 });
  each.backward(tensor([1, 10, 100]));
  await assertClose(b.grad!, [2, 40, -400], { atol: 0, rtol: 0 }); // 2d·g

  const c = tensor([1, 2, 3], { requiresGrad: true });
  const mean = nn.mseLoss(c, target, { reduction: "mean" });
  await assertClose(mean, 3, { atol: 0, rtol: 0 });
  mean.backward();
  await assertClose(c.grad!, [2 / 3, 4 / 3, -4 / 3], { atol: 1e-7, rtol: 1e-6 }); // 2d/n
});

backendTest('`crossEntropy()` with "none" keeps the leading shape of [..., C]', async () => {
  const logits = [
    [[1, 2, 3], [0, 0, 0], [-1, 5, 2]],
    [[4, 4, -4], [0.5, -0.5, 2], [3, 1, 0]],
  ];
  const targets = [[2, 0, 1], [1, 2, 0]];
  // float64: logsumexp(row) − row[target]
  const want = logits.map((r, i) =>
    r.map((row, j) => {
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      return lse - row[targets[i][j]];
    })
  );
  const x = tensor(logits, { requiresGrad: true });
  const each = nn.crossEntropy(x, tensor(targets, { dtype: "int32" }), { reduction: "none" });
  assert.deepEqual(each.shape, [2, 3]);
  await assertClose(each, want, { atol: 1e-5, rtol: 1e-5 });
  // Per-position weights reach the right rows: d/dx = w·(softmax − onehot).
  const w = [[1, 0, 2], [0, 3, 1]];
  each.backward(tensor(w));
  const grad = logits.map((r, i) =>
    r.map((row, j) => {
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const s = e.reduce((a, v) => a + v, 0);
      return e.map((v, k) => w[i][j] * (v / s - (k === targets[i][j] ? 1 : 0)));
    })
  );
  await assertClose(x.grad!, grad, { atol: 1e-6, rtol: 1e-5 });
});

backendTest(
  '`crossEntropy()` with "sum" has gradient softmax − onehot (not divided by n)',
  async () => {
    const logits = [[0, 0], [2, 0], [0, 1]];
    const targets = [0, 0, 1];
    const x = tensor(logits, { requiresGrad: true });
    nn.crossEntropy(x, tensor(targets, { dtype: "int32" }), { reduction: "sum" }).backward();
    const want = logits.map((row, i) => {
      const e = row.map(Math.exp), s = e[0] + e[1];
      return e.map((v, k) => v / s - (k === targets[i] ? 1 : 0));
    });
    await assertClose(x.grad!, want, { atol: 1e-6, rtol: 1e-5 });
    // The mean reduction divides the same gradient by n = 3.
    const z = tensor(logits, { requiresGrad: true });
    nn.crossEntropy(z, tensor(targets, { dtype: "int32" })).backward();
    await assertClose(z.grad!, want.map((r) => r.map((v) => v / 3)), { atol: 1e-6, rtol: 1e-5 });
  },
);
