/**
 * Gradients of every differentiable op against torch: each fixture case
 * runs `out.backward(g)` with torch's fixed upstream gradient `g` and
 * compares every leaf's `.grad` (null where the leaf does not require grad).
 */
import assert from "node:assert/strict";
import { assertClose, tensor } from "../../mod.ts";
import { backendTest } from "../_backends.ts";
import {
  applyOp,
  describe,
  fixtureOps,
  makeInputs,
  mismatch,
  type TorchCase,
  torchCases,
} from "./_torch_cases.ts";

async function checkCase(c: TorchCase): Promise<string[]> {
  const { leaves, xs } = makeInputs(c);
  const out = applyOp(c.op, xs, c.args);
  assert.ok(out.requiresGrad, "output of a requiring input requires grad");
  out.backward(tensor(c.g!, { shape: c.out.shape }));
  const bad: string[] = [];
  for (let i = 0; i < leaves.length; i++) {
    const want = c.grads![i];
    const got = leaves[i].grad;
    if (want === null) {
      if (got !== null) {
        bad.push(`input ${i} does not require grad but got one`);
      }
      continue;
    }
    if (got === null) {
      bad.push(`input ${i}: grad is null`);
      continue;
    }
    const why = mismatch(await got.data(), got.shape, want, c.inputs[i].shape);
    if (why) bad.push(`grad of input ${i}: ${why}`);
  }
  return bad.map((b) => `${c.name} ${describe(c)}: ${b}`);
}

for (const op of fixtureOps()) {
  const cases = torchCases.filter((c) => c.grads !== undefined && c.op === op);
  if (cases.length === 0) continue;
  backendTest(
    `\`${op}()\` gradients match torch on ${cases.length} cases`,
    async () => {
      const failures: string[] = [];
      for (const c of cases) {
        try {
          failures.push(...await checkCase(c));
        } catch (e) {
          failures.push(`${c.name} ${describe(c)}: threw ${e}`);
        }
      }
      assert.equal(failures.length, 0, "\n" + failures.join("\n"));
    },
  );
}

// ---- hand-computed gradients ----

backendTest("`mul()` gradient is the other operand", async () => {
  const a = tensor([1, 2, 3], { requiresGrad: true });
  const b = tensor([4, 5, 6], { requiresGrad: true });
  a.mul(b).sum().backward();
  await assertClose(a.grad!, [4, 5, 6]);
  await assertClose(b.grad!, [1, 2, 3]);
});

backendTest(
  "`max()` over all elements shares the gradient among ties",
  async () => {
    const x = tensor([1, 3, 3, 2], { requiresGrad: true });
    x.max().backward();
    await assertClose(x.grad!, [0, 0.5, 0.5, 0]);
  },
);

backendTest("`matmul()` gradients are g·Bᵀ and Aᵀ·g", async () => {
  const a = tensor([[1, 2], [3, 4]], { requiresGrad: true });
  const b = tensor([[5, 6], [7, 8]], { requiresGrad: true });
  a.matmul(b).sum().backward();
  await assertClose(a.grad!, [[11, 15], [11, 15]]);
  await assertClose(b.grad!, [[4, 4], [6, 6]]);
});

backendTest("`mean()` spreads the gradient evenly", async () => {
  const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
  x.mean().backward();
  await assertClose(x.grad!, [[0.25, 0.25], [0.25, 0.25]]);
});

backendTest("`relu()` passes the gradient only where positive", async () => {
  const x = tensor([-1, 2, -3, 4], { requiresGrad: true });
  x.relu().sum().backward();
  await assertClose(x.grad!, [0, 1, 0, 1]);
});

backendTest("`softmax()` gradient sums to zero along its dim", async () => {
  const x = tensor([[0.1, 2, -1], [3, 0, 0]], { requiresGrad: true });
  x.softmax(-1).mul(tensor([[1, 2, 3], [-1, 0, 4]])).sum().backward();
  await assertClose(x.grad!.sum(-1), [0, 0], { atol: 1e-6 });
});
