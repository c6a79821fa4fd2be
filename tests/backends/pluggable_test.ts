/**
 * The proof of pluggability: a third backend, registered from outside the
 * core, runs forward and backward with no change to the tensor layer.
 */
import assert from "node:assert/strict";
import { assertClose, memory, registerBackend, scope, setBackend, tensor } from "../../mod.ts";
import { type Backend, CpuBackend } from "../../backends/mod.ts";

/** Wraps the CPU backend (without fused paths) and counts each call. */
function countingBackend(name: string, counts: Map<string, number>): Backend {
  const inner = new CpuBackend(name);
  const wrapped: Record<string, unknown> = { name, fused: undefined };
  for (
    const key of [
      "alloc",
      "write",
      "read",
      "free",
      "sync",
      "stats",
      "unary",
      "binary",
      "where",
      "cast",
      "reduce",
      "copy",
      "matmul",
      "gather",
      "scatterAdd",
    ] as const
  ) {
    wrapped[key] = (...args: unknown[]) => {
      counts.set(key, (counts.get(key) ?? 0) + 1);
      // deno-lint-ignore no-explicit-any
      return (inner[key] as any).apply(inner, args);
    };
  }
  return wrapped as unknown as Backend;
}

Deno.test("a third backend registered from outside runs forward and backward", async () => {
  const counts = new Map<string, number>();
  registerBackend("counting", () => countingBackend("counting", counts));
  await setBackend("counting");
  try {
    const w = tensor([[1, 2], [3, 4]], { requiresGrad: true });
    assert.equal(w.backend, "counting");
    const x = tensor([[1, -1], [2, 0.5]]);
    const loss = scope(() => w.matmul(x).gelu().softmax(1).mul(x).sum());
    loss.backward();
    // Reference values from the same expression on the plain CPU backend.
    await setBackend("cpu");
    const w2 = tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const x2 = tensor([[1, -1], [2, 0.5]]);
    const ref = w2.matmul(x2).gelu().softmax(1).mul(x2).sum();
    ref.backward();
    await assertClose(loss, ref);
    await assertClose(w.grad!, w2.grad!);
    for (const op of ["matmul", "unary", "binary", "reduce", "alloc", "write", "read"]) {
      assert.ok((counts.get(op) ?? 0) > 0, `${op} was never called`);
    }
    assert.equal(memory("counting").buffers, memory("counting").buffers);
  } finally {
    await setBackend("cpu");
  }
});

Deno.test("ops between tensors of two backends throw naming both", async () => {
  registerBackend("cpu-b", () => new CpuBackend("cpu-b"));
  const a = tensor([1, 2]);
  await setBackend("cpu-b");
  const b = tensor([1, 2]);
  await setBackend("cpu");
  assert.throws(() => a.add(b), /"cpu".*"cpu-b"/);
  const moved = await b.to("cpu");
  await assertClose(a.add(moved), [2, 4]);
});
