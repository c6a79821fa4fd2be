/**
 * Losses against PyTorch 1.13: `crossEntropy` (stable, [N,C] and [...,C])
 * and `mseLoss`, values and gradients; argument errors.
 */
import assert from "node:assert/strict";
import { assertClose, type Tensor, tensor, zeros } from "../../mod.ts";
import * as nn from "../../nn/mod.ts";
import { backendTest, deferredError, isCpu } from "../_backends.ts";
import { torchNn } from "./_fixture.ts";

const C = torchNn.cases;

for (const name of ["cross_entropy", "cross_entropy3d"]) {
  backendTest(`\`crossEntropy()\` value and gradient match torch (${name})`, async () => {
    const c = C[name];
    const logits = tensor(c.logits, { requiresGrad: true });
    const loss = nn.crossEntropy(logits, tensor(c.targets, { dtype: "int32" }));
    assert.deepEqual(loss.shape, []);
    await assertClose(loss, c.loss, { atol: 1e-5, rtol: 1e-5 });
    loss.backward();
    await assertClose(logits.grad!, c.dlogits, { atol: 1e-6, rtol: 1e-5 });
  });
}

backendTest("`crossEntropy()` stays finite for huge logits", async () => {
  const loss = nn.crossEntropy(tensor([[1000, 0], [0, -1000]]), tensor([0, 1], { dtype: "int32" }));
  await assertClose(loss, 500, { atol: 1e-3 });
});

backendTest("`crossEntropy()` reductions sum and none", async () => {
  const c = C.cross_entropy;
  const targets = tensor(c.targets, { dtype: "int32" });
  const each = nn.crossEntropy(tensor(c.logits), targets, { reduction: "none" });
  assert.deepEqual(each.shape, [4]);
  await assertClose(each.sum(), c.loss * 4, { atol: 1e-4 });
  await assertClose(nn.crossEntropy(tensor(c.logits), targets, { reduction: "sum" }), c.loss * 4, {
    atol: 1e-4,
  });
});

backendTest("`crossEntropy()` rejects wrong dtypes and shapes", () => {
  const logits = zeros([3, 4]);
  assert.throws(() => nn.crossEntropy(logits, tensor([0, 1, 2])), /int32/);
  assert.throws(
    () => nn.crossEntropy(logits, tensor([0, 1], { dtype: "int32" })),
    (e: Error) =>
      e instanceof RangeError && e.message.includes("[3,4]") && e.message.includes("[2]"),
  );
  assert.throws(
    () =>
      nn.crossEntropy(logits, tensor([0, 1, 2], { dtype: "int32" }), {
        reduction: "avg" as "mean",
      }),
    TypeError,
  );
});

backendTest(
  "`crossEntropy()` names an out-of-range target (on WebGPU at the next read)",
  async (b) => {
    const logits = zeros([3, 4]);
    for (const [bad, at] of [[7, 1], [-1, 1]]) {
      const t = tensor([0, bad, 2], { dtype: "int32" });
      const err = await deferredError(() => nn.crossEntropy(logits, t), (y) => y as Tensor);
      assert.ok(err instanceof RangeError, `expected a RangeError, got ${err}`);
      assert.match(err.message, /crossEntropy/);
      assert.match(err.message, /\[0, 4\)/);
      if (isCpu(b)) assert.match(err.message, new RegExp(`target ${bad} at position ${at}`));
    }
    const ok = nn.crossEntropy(logits, tensor([0, 3, 2], { dtype: "int32" }));
    await assertClose(ok, Math.log(4), { atol: 1e-6 });
  },
);

backendTest("`mseLoss()` value and gradient match torch", async () => {
  const c = C.mse;
  const input = tensor(c.input, { requiresGrad: true });
  const loss = nn.mseLoss(input, tensor(c.target));
  await assertClose(loss, c.loss, { atol: 1e-6, rtol: 1e-5 });
  loss.backward();
  await assertClose(input.grad!, c.dinput, { atol: 1e-6, rtol: 1e-5 });
});

backendTest("`mseLoss()` rejects mismatched shapes naming both", () => {
  assert.throws(
    () => nn.mseLoss(zeros([2, 3]), zeros([3, 2])),
    (e: Error) =>
      e instanceof RangeError && e.message.includes("[2,3]") && e.message.includes("[3,2]"),
  );
  assert.throws(() => nn.mseLoss(zeros([2]), tensor([1, 2], { dtype: "int32" })), TypeError);
});
