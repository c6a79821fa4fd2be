/**
 * Optimizers against PyTorch 1.13: five steps of SGD (plain, momentum,
 * Nesterov + weight decay), Adam (with L2) and AdamW on the same problem.
 */
import assert from "node:assert/strict";
import { assertClose, memory, ones, scope, type Tensor, tensor } from "../../mod.ts";
import * as nn from "../../nn/mod.ts";
import * as optim from "../../optim/mod.ts";
import { backendTest } from "../_backends.ts";
import { type Json, torchNn } from "../nn/_fixture.ts";

const O = torchNn.optim;

function make(name: string, params: Tensor[]): optim.Optimizer {
  const kw: Json = O.runs[name].kwargs;
  if (name.startsWith("sgd")) {
    return new optim.SGD(params, {
      lr: kw.lr,
      momentum: kw.momentum,
      nesterov: kw.nesterov,
      weightDecay: kw.weight_decay,
    });
  }
  const opts = { lr: kw.lr, betas: kw.betas, eps: kw.eps, weightDecay: kw.weight_decay };
  return name.startsWith("adamw") ? new optim.AdamW(params, opts) : new optim.Adam(params, opts);
}

for (const name of Object.keys(O.runs)) {
  backendTest(`\`${name}\` matches torch over 5 steps`, async () => {
    const lin = new nn.Linear(4, 3);
    lin.loadStateDict({ weight: tensor(O.weight), bias: tensor(O.bias) });
    const x = tensor(O.x), y = tensor(O.y);
    const opt = make(name, lin.parameters());
    const scale: number = O.runs[name].loss_scale;
    for (const want of O.runs[name].steps as Json[]) {
      opt.zeroGrad();
      nn.mseLoss(lin.forward(x), y).mul(scale).backward();
      opt.step();
      await assertClose(lin.weight, want.weight, { atol: 1e-5, rtol: 1e-5 });
      await assertClose(lin.bias!, want.bias, { atol: 1e-5, rtol: 1e-5 });
    }
  });
}

backendTest("`step()` skips parameters whose grad is null", async () => {
  const a = ones([2], { requiresGrad: true }), b = ones([2], { requiresGrad: true });
  for (const opt of [new optim.SGD([a, b], { lr: 0.5, momentum: 0.9 }), new optim.AdamW([a, b])]) {
    a.mul(2).sum().backward();
    opt.step();
    opt.zeroGrad();
  }
  await assertClose(b, [1, 1], { atol: 0, rtol: 0 });
  assert.notDeepEqual(Array.from(await a.data()), [1, 1]);
});

backendTest("`zeroGrad()` sets grads to null", () => {
  const a = ones([2], { requiresGrad: true });
  const opt = new optim.Adam([a], { lr: 0.1 });
  a.sum().backward();
  assert.ok(a.grad);
  opt.zeroGrad();
  assert.equal(a.grad, null);
});

backendTest("optimizers reject bad hyper-parameters", () => {
  const a = ones([2], { requiresGrad: true });
  assert.throws(() => new optim.SGD([a], { lr: -1 }), RangeError);
  assert.throws(() => new optim.SGD([a], { lr: "0.1" as unknown as number }), TypeError);
  assert.throws(() => new optim.Adam([a], { betas: [0.9, 1] }), /betas\[1\]/);
  assert.throws(() => new optim.AdamW([a], { eps: NaN }), RangeError);
  assert.throws(() => new optim.SGD([a], { lr: 0.1, nesterov: true }), RangeError);
  assert.throws(() => new optim.SGD([{} as Tensor], { lr: 0.1 }), TypeError);
});

backendTest("Adam state lives across `scope()`", async () => {
  const { scope } = await import("../../mod.ts");
  const a = ones([3], { requiresGrad: true });
  const opt = new optim.Adam([a], { lr: 0.1 });
  for (let i = 0; i < 3; i++) {
    scope(() => {
      a.mul(a).sum().backward();
      opt.step();
      opt.zeroGrad();
    });
  }
  const v = await a.data();
  assert.ok(v.every((x) => Number.isFinite(x) && x < 1));
});

Deno.test("`dispose()` frees an optimizer's state and a later step starts afresh", () => {
  const lin = new nn.Linear(3, 2);
  const before = memory().tensors;
  const opt = new optim.Adam(lin.parameters(), { lr: 1e-3 });
  scope(() => lin.forward(ones([4, 3])).sum().backward());
  opt.step();
  assert.equal(memory().tensors - before, 2 * 2 + 2, "m and v per parameter, plus grads");
  opt.zeroGrad();
  opt.dispose();
  assert.equal(memory().tensors, before);
  scope(() => lin.forward(ones([4, 3])).sum().backward());
  opt.step();
  opt.zeroGrad();
  opt.dispose();
  assert.equal(memory().tensors, before);
});
