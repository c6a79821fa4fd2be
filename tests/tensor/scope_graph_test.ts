/**
 * `scope()` and autograd together: intermediates a returned tensor's graph
 * needs outlive the scope until that tensor's backward() or dispose().
 */
import assert from "node:assert/strict";
import { assertClose, memory, scope, tensor } from "../../mod.ts";
import { backendTest } from "../_backends.ts";

backendTest(
  "`backward()` works on a tensor returned from `scope()` and frees its graph",
  async () => {
    const w = tensor([1, 2, 3], { requiresGrad: true });
    const before = memory();
    const loss = scope(() => w.mul(w).exp().log().sum());
    loss.backward();
    await assertClose(w.grad!, [2, 4, 6], { atol: 1e-4 });
    // Left: the loss and w's gradient, nothing of the graph.
    assert.equal(memory().tensors - before.tensors, 2);
    loss.dispose();
    w.grad!.dispose();
    w.grad = null;
    assert.deepEqual(memory(), before);
  },
);

backendTest("an unreturned tensor made from a needed one does not break backward", async () => {
  const w = tensor([1, -2], { requiresGrad: true });
  const loss = scope(() => {
    const h = w.mul(3).relu();
    h.mul(2); // made, not returned: freed at scope end without touching h
    return h.sum();
  });
  loss.backward();
  await assertClose(w.grad!, [3, 0]);
});

backendTest("two returned tensors share intermediates until both are done", async () => {
  const w = tensor([1, 2], { requiresGrad: true });
  const before = memory();
  const [a, b] = scope(() => {
    const h = w.mul(w).sigmoid();
    return [h.sum(), h.mul(h).sum()];
  });
  a.backward(undefined, { retainGraph: true });
  b.backward();
  const s = [1, 4].map((v) => 1 / (1 + Math.exp(-v)));
  await assertClose(
    w.grad!,
    s.map((y, i) => (1 + 2 * y) * y * (1 - y) * 2 * (i + 1)),
    { atol: 1e-5 },
  );
  a.dispose();
  b.dispose();
  w.grad!.dispose();
  w.grad = null;
  assert.deepEqual(memory(), before);
});

backendTest("disposing a returned tensor frees the graph it held", () => {
  const w = tensor([[1, 2], [3, 4]], { requiresGrad: true });
  const before = memory();
  const out = scope(() => w.matmul(w).gelu().softmax(1).mul(2));
  assert.ok(memory().tensors > before.tensors + 1, "intermediates held for backward");
  out.dispose();
  assert.deepEqual(memory(), before);
});

backendTest("a second backward through a freed shared graph throws", () => {
  const w = tensor([1, 2], { requiresGrad: true });
  const h = w.mul(w).sigmoid();
  const a = h.sum(), b = h.mul(2).sum();
  a.backward();
  assert.throws(() => b.backward(), /already freed.*retainGraph/);
});
