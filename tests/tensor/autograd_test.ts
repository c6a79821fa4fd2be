/**
 * Autograd semantics, PyTorch's: accumulation, noGrad, detach, frozen
 * tensors, broadcast gradients summed back to the input's shape.
 */
import assert from "node:assert/strict";
import { assertClose, noGrad, ones, tensor, where, zeros } from "../../mod.ts";
import { backendTest } from "../_backends.ts";

backendTest("gradients accumulate across two `backward()` calls", async () => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  x.mul(x).sum().backward();
  await assertClose(x.grad!, [2, 4, 6]);
  x.mul(3).sum().backward();
  await assertClose(x.grad!, [5, 7, 9]);
});

backendTest("a tensor used twice in one graph sums both paths", async () => {
  const x = tensor([2, -1], { requiresGrad: true });
  const y = x.exp();
  y.add(y.mul(x)).sum().backward(); // d/dx (e^x + x e^x) = e^x (2 + x)
  await assertClose(x.grad!, [Math.exp(2) * 4, Math.exp(-1) * 1], {
    rtol: 1e-5,
  });
});

backendTest("`backward()` on a scalar needs no argument", async () => {
  const x = tensor(3, { requiresGrad: true });
  x.mul(x).backward();
  assert.deepEqual(x.grad!.shape, []);
  assert.equal(await x.grad!.item(), 6);
});

backendTest("`backward(g)` uses the given gradOutput", async () => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  x.mul(2).backward(tensor([1, 10, 100]));
  await assertClose(x.grad!, [2, 20, 200]);
});

backendTest(
  "a broadcast operand's gradient is summed back to its shape",
  async () => {
    const a = ones([2, 3], { requiresGrad: true });
    const b = tensor([1, 2, 3], { requiresGrad: true });
    const c = tensor([[5], [7]], { requiresGrad: true });
    const s = tensor(2, { requiresGrad: true });
    a.mul(b).add(c).mul(s).sum().backward();
    assert.deepEqual(b.grad!.shape, [3]);
    await assertClose(b.grad!, [4, 4, 4]);
    assert.deepEqual(c.grad!.shape, [2, 1]);
    await assertClose(c.grad!, [[6], [6]]);
    assert.deepEqual(s.grad!.shape, []);
    await assertClose(s.grad!, 48); // Σ(a·b + c) = 21 + 27
  },
);

backendTest("`expand()`ed input's gradient is summed back", async () => {
  const x = tensor([[1], [2]], { requiresGrad: true });
  x.expand([3, 2, 4]).sum().backward();
  await assertClose(x.grad!, [[12], [12]]);
});

backendTest("grads of a non-requiring input stay null", async () => {
  const x = tensor([1, 2], { requiresGrad: true });
  const c = tensor([3, 4]);
  x.mul(c).sum().backward();
  assert.equal(c.grad, null);
  assert.equal(c.requiresGrad, false);
  await assertClose(x.grad!, [3, 4]);
});

backendTest("a frozen tensor gets no grad and builds no graph", async () => {
  const w = tensor([[1, 2], [3, 4]]); // frozen weight
  const x = tensor([[1, 1]]);
  const y = x.matmul(w).relu().sum();
  assert.equal(y.requiresGrad, false);
  assert.equal(w.grad, null);
  // A trainable input alongside a frozen one: only it gets a gradient.
  const a = tensor([[1, -1]], { requiresGrad: true });
  a.matmul(w).sum().backward();
  assert.equal(w.grad, null);
  await assertClose(a.grad!, [[3, 7]]);
});

backendTest("setting `requiresGrad = false` freezes a tensor", () => {
  const w = tensor([1, 2], { requiresGrad: true });
  w.requiresGrad = false;
  const x = tensor([3, 4], { requiresGrad: true });
  x.mul(w).sum().backward();
  assert.equal(w.grad, null);
  assert.notEqual(x.grad, null);
});

backendTest("`noGrad()` records nothing and returns its result", async () => {
  const x = tensor([1, 2], { requiresGrad: true });
  const y = noGrad(() => x.mul(2));
  assert.equal(y.requiresGrad, false);
  assert.deepEqual(await y.toArray(), [2, 4]);
  const n = noGrad(() => 42);
  assert.equal(n, 42);
  // recording resumes afterwards, also after a throw
  assert.throws(() =>
    noGrad(() => {
      throw new Error("boom");
    })
  );
  assert.equal(x.mul(2).requiresGrad, true);
});

backendTest("`detach()` cuts the graph but shares values", async () => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  const d = x.detach();
  assert.equal(d.requiresGrad, false);
  assert.deepEqual(await d.toArray(), [1, 2, 3]);
  // y = x * detach(x): gradient only through the first factor
  x.mul(x.detach()).sum().backward();
  await assertClose(x.grad!, [1, 2, 3]);
});

backendTest("a leaf's `grad` can be cleared and rebuilt", async () => {
  const x = tensor([1, 2], { requiresGrad: true });
  x.sum().backward();
  x.grad = null;
  x.mul(5).sum().backward();
  await assertClose(x.grad!, [5, 5]);
});

backendTest("intermediate tensors get no `.grad` of their own", () => {
  const x = tensor([1, 2], { requiresGrad: true });
  const y = x.mul(2);
  y.sum().backward();
  assert.equal(y.grad, null);
  assert.equal(y.requiresGrad, true);
});

backendTest("`backward()` through a deep chain reaches the leaf", async () => {
  const x = tensor([0.5], { requiresGrad: true });
  let y = x;
  for (let i = 0; i < 200; i++) y = y.mul(1.01);
  y.sum().backward();
  await assertClose(x.grad!, [Math.pow(1.01, 200)], { rtol: 1e-4 });
});

backendTest("the gradient of `zeros()` requiring grad is well-shaped", () => {
  const z = zeros([2, 3], { requiresGrad: true });
  z.sum().backward();
  assert.deepEqual(z.grad!.shape, [2, 3]);
});

backendTest("`relu()` and `abs()` have zero gradient at zero, like torch", async () => {
  const x = tensor([0, 0], { requiresGrad: true });
  x.relu().add(x.abs()).sum().backward();
  await assertClose(x.grad!, [0, 0]);
});

backendTest("`max(dim)` sends the gradient to the maximum", async () => {
  const x = tensor([[1, 5, 2], [7, 0, 3]], { requiresGrad: true });
  x.max(1).backward(tensor([10, 20]));
  await assertClose(x.grad!, [[0, 10, 0], [20, 0, 0]]);
});

backendTest("a second `backward()` through a freed graph throws", () => {
  const x = tensor([1, 2], { requiresGrad: true });
  const y = x.exp().sum();
  y.backward();
  assert.throws(() => y.backward(), /graph|backward/);
});

backendTest("gradients flow through views of non-leaf tensors", async () => {
  const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
  const y = x.mul(2).transpose(0, 1).reshape([4]).narrow(0, 1, 2);
  y.backward(tensor([1, 10]));
  // y = [2·x[0][1], 2·x[1][0]]... transposed: flat order x00, x10, x01, x11
  await assertClose(x.grad!, [[0, 20], [2, 0]]);
});

backendTest("`where()` routes gradient to the chosen branch only", async () => {
  const a = tensor([1, 2, 3], { requiresGrad: true });
  const b = tensor([4, 5, 6], { requiresGrad: true });
  where(tensor([1, 0, 1]), a, b).sum().backward();
  await assertClose(a.grad!, [1, 0, 1]);
  await assertClose(b.grad!, [0, 1, 0]);
});
