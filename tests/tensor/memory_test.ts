/**
 * Memory: `memory()` counts live tensors, buffers and bytes; `scope()`
 * frees everything made inside except what it returns; `dispose()` frees
 * storage when its last view goes; `using` disposes at block end.
 */
import assert from "node:assert/strict";
import { assertClose, keep, memory, ones, scope, type Tensor, tensor, zeros } from "../../mod.ts";
import { backendTest, isCpu } from "../_backends.ts";

/** Change in memory() while `fn` runs. */
function delta(fn: () => unknown): {
  tensors: number;
  buffers: number;
  bytes: number;
} {
  const a = memory();
  fn();
  const b = memory();
  return {
    tensors: b.tensors - a.tensors,
    buffers: b.buffers - a.buffers,
    bytes: b.bytes - a.bytes,
  };
}

backendTest("`memory()` counts tensors, buffers and bytes", (backend) => {
  let f: Tensor | undefined, i: Tensor | undefined;
  const d1 = delta(() => (f = zeros([2, 3])));
  assert.equal(d1.tensors, 1);
  assert.equal(d1.buffers, 1);
  // a pooling backend may round a buffer up; the CPU is exact
  if (isCpu(backend)) assert.equal(d1.bytes, 24);
  else assert.ok(d1.bytes >= 24, `bytes ${d1.bytes}`);
  const d2 = delta(() => (i = tensor([1, 2, 3], { dtype: "int32" })));
  assert.deepEqual([d2.tensors, d2.buffers], [1, 1]);
  if (isCpu(backend)) assert.equal(d2.bytes, 12);
  const d3 = delta(() => {
    f!.dispose();
    i!.dispose();
  });
  assert.deepEqual([d3.tensors, d3.buffers], [-2, -2]);
  if (isCpu(backend)) assert.equal(d3.bytes, -36);
});

backendTest(
  "`scope()` frees everything made inside except what it returns",
  async () => {
    let r: Tensor | undefined;
    const d = delta(() => {
      r = scope(() => {
        const a = ones([3]);
        const b = a.mul(2).add(1);
        return b.exp().log();
      });
    });
    assert.deepEqual([d.tensors, d.buffers], [1, 1]);
    assert.deepEqual(await r!.toArray(), [3, 3, 3]);
    r!.dispose();
  },
);

backendTest("`scope()` keeps every tensor of a returned array", async () => {
  let r: Tensor[] = [];
  const d = delta(() => {
    r = scope(() => {
      const a = ones([2]);
      return [a.add(1), a.add(2)];
    });
  });
  assert.deepEqual([d.tensors, d.buffers], [2, 2]);
  assert.deepEqual(await r[1].toArray(), [3, 3]);
  r.forEach((t) => t.dispose());
});

backendTest("`scope()` returning a view keeps its storage", async () => {
  let r: Tensor | undefined;
  const d = delta(() => {
    r = scope(() => ones([2, 3]).mul(4).reshape([6]));
  });
  assert.equal(d.buffers, 1);
  assert.deepEqual(await r!.toArray(), [4, 4, 4, 4, 4, 4]);
  assert.equal(delta(() => r!.dispose()).buffers, -1);
});

backendTest("`scope()` leaves tensors made outside it alone", async () => {
  const x = tensor([1, 2]);
  const d = delta(() => scope(() => void x.mul(2).add(x)));
  assert.deepEqual([d.tensors, d.buffers], [0, 0]);
  assert.deepEqual(await x.toArray(), [1, 2]);
  x.dispose();
});

backendTest("nested `scope()`s free at each level", () => {
  const d = delta(() => {
    const outer = scope(() => {
      const inner = scope(() => {
        const t = ones([4]);
        t.add(1);
        return t.mul(3);
      });
      inner.add(5);
      return inner;
    });
    outer.dispose();
  });
  assert.deepEqual([d.tensors, d.buffers], [0, 0]);
});

backendTest("`keep()` saves a tensor from its scope", async () => {
  let k: Tensor | undefined;
  const d = delta(() =>
    scope(() => {
      k = keep(ones([2]).mul(7));
      ones([5]);
    })
  );
  assert.deepEqual([d.tensors, d.buffers], [1, 1]);
  assert.deepEqual(await k!.toArray(), [7, 7]);
  k!.dispose();
});

backendTest(
  "`dispose()` frees storage only when the last view goes",
  async () => {
    const a = tensor([1, 2, 3, 4]);
    const v = a.reshape([2, 2]);
    const t = v.transpose(0, 1);
    assert.deepEqual(delta(() => a.dispose()).buffers, 0);
    assert.deepEqual(await t.toArray(), [[1, 3], [2, 4]]);
    assert.deepEqual(delta(() => v.dispose()).buffers, 0);
    const last = delta(() => t.dispose());
    assert.equal(last.buffers, -1);
    assert.equal(last.tensors, -1);
  },
);

backendTest("`dispose()` twice is harmless", () => {
  const a = zeros([3]);
  a.dispose();
  assert.deepEqual(delta(() => a.dispose()), {
    tensors: 0,
    buffers: 0,
    bytes: 0,
  });
});

backendTest("`using` disposes at the end of its block", () => {
  const d = delta(() => {
    using a = zeros([8]);
    using b = a.add(1);
    assert.equal(b.size, 8);
  });
  assert.deepEqual(d, { tensors: 0, buffers: 0, bytes: 0 });
});

backendTest("a training loop in `scope()` holds steady memory", async () => {
  const w = tensor([0.5, -1, 2], { requiresGrad: true });
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  const step = () =>
    scope(() => {
      const loss = x.mul(w).tanh().sum();
      loss.backward();
    });
  step();
  step();
  const steady = memory();
  for (let i = 0; i < 5; i++) step();
  const after = memory();
  assert.equal(after.buffers, steady.buffers);
  assert.equal(after.tensors, steady.tensors);
  assert.equal(after.bytes, steady.bytes);
  assert.ok(w.grad !== null, "the gradient survives the scope");
  assert.equal((await w.grad!.data()).length, 3);
});

backendTest("recorded work inside `scope()` leaves nothing behind", () => {
  const w = tensor([1, 2, 3], { requiresGrad: true });
  const d = delta(() => scope(() => void w.mul(2).sum()));
  assert.deepEqual([d.tensors, d.buffers], [0, 0]);
  w.dispose();
});

backendTest("a tensor returned from `scope()` can still run `backward()`", async () => {
  const x = tensor([1, 2], { requiresGrad: true });
  const loss = scope(() => x.exp().mul(2).sum());
  loss.backward();
  await assertClose(x.grad!, [2 * Math.exp(1), 2 * Math.exp(2)], { rtol: 1e-5 });
});
