/**
 * Gaps found by hand mutation testing of `scope()` / `keep()`: results
 * returned inside a Map or a plain object (nested), a nested scope's result
 * that the outer scope does not return, `keep()` of a tensor made in an
 * enclosing scope, a throwing `fn`, and `noGrad()` nested in `noGrad()`.
 */
import assert from "node:assert/strict";
import { keep, memory, noGrad, ones, scope, type Tensor, tensor } from "../../mod.ts";
import { backendTest } from "../_backends.ts";

/** Change in live tensors / buffers while `fn` runs. */
function delta(fn: () => unknown): { tensors: number; buffers: number } {
  const a = memory();
  fn();
  const b = memory();
  return { tensors: b.tensors - a.tensors, buffers: b.buffers - a.buffers };
}

backendTest("`scope()` keeps the tensors of a returned Map", async () => {
  let r = new Map<string, Tensor>();
  const d = delta(() => {
    r = scope(() => {
      const a = ones([2]);
      return new Map([["x", a.mul(3)], ["y", a.add(4)]]);
    });
  });
  assert.deepEqual(d, { tensors: 2, buffers: 2 });
  assert.deepEqual(await r.get("x")!.toArray(), [3, 3]);
  assert.deepEqual(await r.get("y")!.toArray(), [5, 5]);
  for (const t of r.values()) t.dispose();
});

backendTest(
  "`scope()` keeps the tensors of a returned object, nested arrays included",
  async () => {
    let r: { loss: Tensor; parts: Tensor[]; meta: { t: Tensor; n: number } } | undefined;
    const d = delta(() => {
      r = scope(() => {
        const a = tensor([1, 2]);
        a.mul(100); // not returned: freed
        return { loss: a.sum(), parts: [a.mul(2), a.neg()], meta: { t: a.add(1), n: 7 } };
      });
    });
    assert.deepEqual(d, { tensors: 4, buffers: 4 });
    assert.equal(await r!.loss.item(), 3);
    assert.deepEqual(await r!.parts[0].toArray(), [2, 4]);
    assert.deepEqual(await r!.parts[1].toArray(), [-1, -2]);
    assert.deepEqual(await r!.meta.t.toArray(), [2, 3]);
    assert.equal(r!.meta.n, 7);
    for (const t of [r!.loss, ...r!.parts, r!.meta.t]) t.dispose();
  },
);

backendTest("an inner scope's result is freed by the outer scope that drops it", () => {
  const d = delta(() => {
    scope(() => {
      const inner = scope(() => ones([3]).mul(2));
      void inner.add(1);
      return 42; // returns no tensor: everything made inside goes
    });
  });
  assert.deepEqual(d, { tensors: 0, buffers: 0 });
});

backendTest("`keep()` in an inner scope saves a tensor made in the outer scope", async () => {
  let t: Tensor | undefined;
  const d = delta(() => {
    scope(() => {
      t = ones([2]).mul(5);
      scope(() => {
        keep(t!);
      });
    });
  });
  assert.deepEqual(d, { tensors: 1, buffers: 1 });
  assert.equal(t!.isDisposed, false);
  assert.deepEqual(await t!.toArray(), [5, 5]);
  t!.dispose();
});

backendTest("`scope()` frees what it made when `fn` throws", () => {
  const d = delta(() => {
    assert.throws(() =>
      scope(() => {
        const a = ones([3]);
        a.mul(2).add(1);
        throw new Error("boom");
      }), /boom/);
  });
  assert.deepEqual(d, { tensors: 0, buffers: 0 });
});

backendTest(
  "nested `noGrad()`: the outer one still records nothing after the inner returns",
  () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const [inner, after] = noGrad(() => {
      const i = noGrad(() => x.mul(3));
      return [i, x.mul(2)]; // made after the inner noGrad returned
    });
    assert.equal(inner.requiresGrad, false);
    assert.equal(after.requiresGrad, false);
    assert.equal(x.mul(2).requiresGrad, true); // recording resumes outside
  },
);
