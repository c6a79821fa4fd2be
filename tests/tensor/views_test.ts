/**
 * Views: reshape / transpose / permute / expand / unsqueeze / squeeze /
 * narrow are stride arithmetic over shared storage (no new buffer), and a
 * reshape that cannot be a view copies.
 */
import assert from "node:assert/strict";
import { arange, assertClose, memory, scope, type Tensor, tensor } from "../../mod.ts";
import { backendTest } from "../_backends.ts";

/** Buffers allocated while `fn` runs. */
function newBuffers(fn: () => unknown): number {
  const before = memory().buffers;
  fn();
  return memory().buffers - before;
}

const VIEWS: [string, (x: Tensor) => Tensor][] = [
  ["reshape()", (x) => x.reshape([6, 4])],
  ["reshape() with -1", (x) => x.reshape([-1, 2])],
  ["transpose()", (x) => x.transpose(0, 2)],
  ["permute()", (x) => x.permute([1, 2, 0])],
  ["unsqueeze()", (x) => x.unsqueeze(1)],
  ["squeeze()", (x) => x.unsqueeze(0).squeeze(0)],
  ["expand()", (x) => x.unsqueeze(0).expand([5, 2, 3, 4])],
  ["narrow()", (x) => x.narrow(2, 1, 2)],
];

for (const [name, view] of VIEWS) {
  backendTest(`\`${name}\` shares storage: no new buffer`, () => {
    const x = arange(24).float().reshape([2, 3, 4]);
    let v: Tensor | undefined;
    assert.equal(newBuffers(() => (v = view(x))), 0);
    assert.notEqual(v, undefined);
  });
}

backendTest(
  "a view sees writes made through `assign()` on its base",
  async () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]]);
    const t = x.transpose(0, 1);
    const e = x.narrow(0, 0, 1).expand([3, 3]);
    x.assign(tensor([[10, 20, 30], [40, 50, 60]]));
    assert.deepEqual(await t.toArray(), [[10, 40], [20, 50], [30, 60]]);
    assert.deepEqual(await e.toArray(), [[10, 20, 30], [10, 20, 30], [
      10,
      20,
      30,
    ]]);
  },
);

backendTest("`assign()` through a view writes into the base", async () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  x.narrow(1, 1, 2).assign(tensor([[0, 0], [9, 9]]));
  assert.deepEqual(await x.toArray(), [[1, 0, 0], [4, 9, 9]]);
});

backendTest(
  "`reshape()` of a non-contiguous view copies, in order",
  async () => {
    const x = arange(6).float().reshape([2, 3]);
    const t = x.transpose(0, 1); // [[0,3],[1,4],[2,5]]
    let r: Tensor | undefined;
    assert.equal(newBuffers(() => (r = t.reshape([6]))), 1);
    assert.deepEqual(await r!.toArray(), [0, 3, 1, 4, 2, 5]);
    // The copy is independent of the base.
    x.assign(tensor([[9, 9, 9], [9, 9, 9]]));
    assert.deepEqual(await r!.toArray(), [0, 3, 1, 4, 2, 5]);
  },
);

backendTest("views report their own shape and size", () => {
  const x = arange(24).float().reshape([2, 3, 4]);
  const p = x.permute([2, 0, 1]);
  assert.deepEqual(p.shape, [4, 2, 3]);
  assert.equal(p.size, 24);
  assert.equal(p.ndim, 3);
  const e = tensor([1, 2, 3]).expand([4, 3]);
  assert.deepEqual(e.shape, [4, 3]);
  assert.equal(e.size, 12);
  assert.deepEqual(x.unsqueeze(-1).shape, [2, 3, 4, 1]);
  assert.deepEqual(tensor([[[1]]]).squeeze().shape, []);
});

backendTest(
  "reading a permuted or expanded view gives logical order",
  async () => {
    const x = arange(6).float().reshape([2, 3]);
    assert.deepEqual(Array.from(await x.transpose(0, 1).data()), [
      0,
      3,
      1,
      4,
      2,
      5,
    ]);
    assert.deepEqual(
      Array.from(await tensor([1, 2]).unsqueeze(1).expand([2, 3]).data()),
      [1, 1, 1, 2, 2, 2],
    );
  },
);

backendTest("ops read non-contiguous operands correctly", async () => {
  const x = arange(6).float().reshape([2, 3]);
  const t = x.transpose(0, 1); // [[0,3],[1,4],[2,5]]
  assert.deepEqual(await t.add(tensor([10, 20])).toArray(), [
    [10, 23],
    [11, 24],
    [12, 25],
  ]);
  assert.deepEqual(await t.sum(0).toArray(), [3, 12]);
  await assertClose(t.exp().log(), t, { atol: 1e-6 });
});

backendTest("`clone()` copies storage; `detach()` shares it", () => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  assert.equal(newBuffers(() => scope(() => x.clone())), 1);
  assert.equal(newBuffers(() => scope(() => x.detach())), 0);
});
