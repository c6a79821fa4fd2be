/**
 * Fused ops held to the composed primitives' numbers, forward and backward,
 * on every backend (on `cpu-primitives` the fused op itself composes).
 */
import assert from "node:assert/strict";
import {
  assertClose,
  crossEntropyRows,
  linear,
  loraLinear,
  manualSeed,
  randn,
  type Tensor,
  tensor,
} from "../../mod.ts";
import { backendTest } from "../_backends.ts";

function grads(ts: Tensor[]): Tensor[] {
  const out = ts.map((t) => t.grad!);
  for (const t of ts) t.grad = null;
  return out;
}

for (const withBias of [true, false]) {
  backendTest(
    `\`loraLinear()\` equals x·Wᵀ + b + s·(x·Aᵀ)·Bᵀ, forward and grads (bias: ${withBias})`,
    async () => {
      manualSeed(3);
      const x = randn([2, 5, 7], { requiresGrad: true });
      const w = randn([6, 7]), b = withBias ? randn([6]) : null;
      const a = randn([3, 7], { requiresGrad: true }), up = randn([6, 3], { requiresGrad: true });
      const g = randn([2, 5, 6]);
      const fused = loraLinear(x, w, b, a, up, 1.5);
      fused.backward(g);
      const [gx, ga, gb] = grads([x, a, up]);
      assert.equal(w.grad, null, "a frozen W gets no gradient");
      const composed = linear(x, w, b).add(
        x.matmul(a.transpose(0, 1)).mul(1.5).matmul(
          up.transpose(0, 1),
        ),
      );
      composed.backward(g);
      const [cx, ca, cb] = grads([x, a, up]);
      await assertClose(fused, composed, { atol: 1e-5, rtol: 1e-4 });
      await assertClose(gx, cx, { atol: 1e-5, rtol: 1e-4 });
      await assertClose(ga, ca, { atol: 1e-5, rtol: 1e-4 });
      await assertClose(gb, cb, { atol: 1e-5, rtol: 1e-4 });
    },
  );
}

backendTest("`loraLinear()` gives W and b gradients when they require them", async () => {
  manualSeed(4);
  const x = randn([4, 3]), w = randn([2, 3], { requiresGrad: true });
  const b = randn([2], { requiresGrad: true });
  const a = randn([1, 3]), up = randn([2, 1]);
  loraLinear(x, w, b, a, up, 2).sum().backward();
  const [gw, gb] = grads([w, b]);
  linear(x, w, b).add(x.matmul(a.transpose(0, 1)).mul(2).matmul(up.transpose(0, 1))).sum()
    .backward();
  const [cw, cb] = grads([w, b]);
  await assertClose(gw, cw, { atol: 1e-5 });
  await assertClose(gb, cb, { atol: 1e-5 });
});

backendTest(
  "`crossEntropyRows()` equals −logSoftmax picked by target, forward and grad",
  async () => {
    manualSeed(5);
    const logits = randn([6, 5]).mul(400).detach();
    logits.requiresGrad = true;
    const targets = tensor([0, 4, 2, 2, 1, 3], { dtype: "int32" });
    const g = randn([6]);
    const fused = crossEntropyRows(logits, targets);
    fused.backward(g);
    const [gl] = grads([logits]);
    const hot = tensor(
      [[1, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 1, 0, 0], [0, 0, 1, 0, 0], [0, 1, 0, 0, 0], [
        0,
        0,
        0,
        1,
        0,
      ]],
    );
    const composed = logits.logSoftmax(1).mul(hot).sum(1).neg();
    composed.backward(g);
    const [cl] = grads([logits]);
    await assertClose(fused, composed, { atol: 1e-3, rtol: 1e-5 });
    await assertClose(gl, cl, { atol: 1e-5, rtol: 1e-4 });
  },
);
