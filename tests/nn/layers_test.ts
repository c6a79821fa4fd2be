/**
 * Layers against PyTorch 1.13 (tests/fixtures/torch_nn.json): forward values
 * and gradients of Linear, LayerNorm and Embedding; init ranges; Dropout.
 */
import assert from "node:assert/strict";
import { assertClose, manualSeed, ones, randn, type Tensor, tensor } from "../../mod.ts";
import * as nn from "../../nn/mod.ts";
import { backendTest, deferredError, isCpu } from "../_backends.ts";
import { type Json, shapeOf, torchNn } from "./_fixture.ts";

const C = torchNn.cases;
const TOL = { atol: 1e-5, rtol: 1e-5 };

function t(a: Json, requiresGrad = false): Tensor {
  return tensor(a, { requiresGrad });
}

for (const name of ["linear2d", "linear3d", "linear_nobias"]) {
  backendTest(`\`Linear\` forward and gradients match torch (${name})`, async () => {
    const c = C[name];
    const [out, inF] = shapeOf(c.w);
    const lin = new nn.Linear(inF, out, { bias: c.b !== undefined });
    const sd: Record<string, Tensor> = { weight: t(c.w) };
    if (c.b) sd.bias = t(c.b);
    lin.loadStateDict(sd);
    const x = t(c.x, true);
    const y = lin.forward(x);
    await assertClose(y, c.y, TOL);
    y.mul(t(c.g)).sum().backward();
    await assertClose(x.grad!, c.dx, TOL);
    await assertClose(lin.weight.grad!, c.dw, TOL);
    if (c.b) await assertClose(lin.bias!.grad!, c.db, TOL);
  });
}

backendTest("`Linear` starts in U(−1/√in, 1/√in) and checks its input", async () => {
  manualSeed(3);
  const lin = new nn.Linear(16, 64);
  const w = await lin.weight.data(), b = await lin.bias!.data();
  const bound = 1 / Math.sqrt(16);
  assert.ok(w.every((v) => Math.abs(v) <= bound) && b.every((v) => Math.abs(v) <= bound));
  assert.ok(Math.max(...w) > 0.9 * bound && Math.min(...w) < -0.9 * bound);
  assert.deepEqual(lin.weight.shape, [64, 16]);
  assert.throws(() => lin.forward(ones([2, 15])), /\[2,15\].*16/);
  assert.throws(() => lin.forward(tensor([[1]], { dtype: "int32" })), TypeError);
  assert.throws(() => new nn.Linear(0, 2), RangeError);
  assert.throws(() => new nn.Linear("3" as unknown as number, 2), TypeError);
});

backendTest("`Linear` is reproducible under `manualSeed`", async () => {
  manualSeed(11);
  const a = new nn.Linear(5, 3);
  manualSeed(11);
  const b = new nn.Linear(5, 3);
  await assertClose(a.weight, b.weight, { atol: 0, rtol: 0 });
});

backendTest("`LayerNorm` forward and gradients match torch", async () => {
  const c = C.layernorm;
  const ln = new nn.LayerNorm(6);
  ln.loadStateDict({ weight: t(c.w), bias: t(c.b) });
  const x = t(c.x, true);
  const y = ln.forward(x);
  await assertClose(y, c.y, { atol: 2e-5, rtol: 1e-4 });
  y.mul(t(c.g)).sum().backward();
  await assertClose(x.grad!, c.dx, { atol: 1e-4, rtol: 1e-4 });
  await assertClose(ln.weight!.grad!, c.dw, { atol: 1e-4, rtol: 1e-4 });
  await assertClose(ln.bias!.grad!, c.db, TOL);
});

for (const name of ["layernorm_flat", "layernorm_eps"]) {
  backendTest(`\`LayerNorm\` where eps matters matches torch (${name})`, async () => {
    // Near-constant rows (variance ≤ eps) and a non-default eps: an eps
    // dropped, or moved outside the square root, changes these numbers.
    const c = C[name];
    const n = c.w.length;
    const ln = new nn.LayerNorm(n, { eps: c.eps });
    ln.loadStateDict({ weight: t(c.w), bias: t(c.b) });
    const x = t(c.x, true);
    const y = ln.forward(x);
    await assertClose(y, c.y, { atol: 1e-4, rtol: 1e-4 });
    y.mul(t(c.g)).sum().backward();
    await assertClose(x.grad!, c.dx, { atol: 1e-3, rtol: 1e-3 });
    await assertClose(ln.weight!.grad!, c.dw, { atol: 1e-4, rtol: 1e-4 });
    await assertClose(ln.bias!.grad!, c.db, TOL);
  });
}

backendTest("`LayerNorm` starts at weight 1, bias 0 and checks shapes", async () => {
  const ln = new nn.LayerNorm(4, { eps: 1e-3 });
  await assertClose(ln.weight!, [1, 1, 1, 1]);
  await assertClose(ln.bias!, [0, 0, 0, 0]);
  assert.equal(ln.eps, 1e-3);
  assert.throws(() => ln.forward(ones([2, 5])), /\[2,5\].*\[4\]/);
});

backendTest("`Embedding` forward and gradient (repeated rows add) match torch", async () => {
  const c = C.embedding;
  const emb = new nn.Embedding(7, 3);
  emb.loadStateDict({ weight: t(c.w) });
  const y = emb.forward(tensor(c.idx, { dtype: "int32" }));
  await assertClose(y, c.y, { atol: 0, rtol: 0 });
  y.mul(t(c.g)).sum().backward();
  await assertClose(emb.weight.grad!, c.dw, TOL);
});

backendTest("`Embedding` starts at N(0, 1) and rejects bad indices", async () => {
  manualSeed(5);
  const emb = new nn.Embedding(200, 50);
  const w = Array.from(await emb.weight.data());
  const mean = w.reduce((a, v) => a + v, 0) / w.length;
  const sd = Math.sqrt(w.reduce((a, v) => a + (v - mean) ** 2, 0) / w.length);
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(sd - 1) < 0.03, `mean ${mean} sd ${sd}`);
  assert.throws(() => emb.forward(tensor([1, 2])), TypeError);
}, {});

backendTest("`Embedding` names an out-of-range index (on WebGPU at the next read)", async (b) => {
  const emb = new nn.Embedding(4, 2);
  const idx = tensor([1, 4], { dtype: "int32" });
  const err = await deferredError(() => emb.forward(idx), (y) => y as Tensor);
  assert.ok(err instanceof RangeError, `expected a RangeError, got ${err}`);
  assert.match(err.message, /\[0, 4\)/);
  if (isCpu(b)) assert.match(err.message, /index 4 at position 1/);
  else assert.match(err.message, /indexSelect/);
  // The error was reported once; the backend goes on working.
  const ok = emb.forward(tensor([3, 0], { dtype: "int32" }));
  assert.deepEqual(
    [...await ok.data()],
    [...await emb.weight.data()].slice(6, 8).concat(
      [...await emb.weight.data()].slice(0, 2),
    ),
  );
});

backendTest("`Dropout` zeroes about p and scales the rest by 1/(1−p) in train mode", async () => {
  manualSeed(0);
  const d = new nn.Dropout(0.25);
  const y = await d.forward(ones([4000])).data();
  const kept = y.filter((v) => v !== 0);
  assert.ok(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6));
  const frac = 1 - kept.length / y.length;
  assert.ok(Math.abs(frac - 0.25) < 0.03, `dropped ${frac}`);
});

backendTest("`Dropout` is the identity in eval mode and reproducible by seed", async () => {
  const d = new nn.Dropout(0.5);
  const x = randn([64]);
  manualSeed(9);
  const a = await d.forward(x).data();
  manualSeed(9);
  const b = await d.forward(x).data();
  assert.deepEqual(a, b);
  d.eval();
  assert.equal(d.forward(x), x);
  assert.throws(() => new nn.Dropout(1.5), RangeError);
});

backendTest("`Dropout` passes gradients through the kept elements only", async () => {
  manualSeed(1);
  const d = new nn.Dropout(0.5);
  const x = ones([32], { requiresGrad: true });
  const y = d.forward(x);
  y.sum().backward();
  await assertClose(x.grad!, await y.data());
});

backendTest("`ReLU`, `GELU`, `Tanh`, `Sigmoid`, `Identity` apply their functions", async () => {
  const x = tensor([-1, 0, 2]);
  await assertClose(new nn.ReLU().forward(x), [0, 0, 2]);
  await assertClose(new nn.GELU().forward(x), [-0.15865525, 0, 1.9544997]);
  await assertClose(new nn.Tanh().forward(x), [Math.tanh(-1), 0, Math.tanh(2)]);
  await assertClose(new nn.Sigmoid().forward(x), [1 / (1 + Math.E), 0.5, 1 / (1 + Math.exp(-2))]);
  assert.equal(new nn.Identity().forward(x), x);
});

backendTest("`Sequential` chains its layers", async () => {
  const seq = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));
  const x = randn([5, 3]);
  const l0 = seq[0] as nn.Linear, l2 = seq[2] as nn.Linear;
  const want = l2.forward(l0.forward(x).relu());
  await assertClose(seq.forward(x), want, { atol: 0, rtol: 0 });
});
