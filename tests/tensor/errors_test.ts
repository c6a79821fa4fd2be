/**
 * Bad input throws the right class — TypeError for a wrong dtype or kind,
 * RangeError for a bad shape or axis — with a message quoting the offending
 * values, and leaves its inputs (and live memory) exactly as they were.
 */
import assert from "node:assert/strict";
import {
  cat,
  getBackend,
  memory,
  registerBackend,
  setBackend,
  stack,
  type Tensor,
  tensor,
  where,
  zeros,
} from "../../mod.ts";
import { CpuBackend } from "../../backends/cpu/cpu_backend.ts";

type ErrorClass = typeof TypeError | typeof RangeError | typeof Error;

/** Matches `[2,3]` or `[2, 3]`. */
function shapeRe(shape: number[]): RegExp {
  return new RegExp(`\\[${shape.join(",\\s*")}\\]`);
}

/**
 * Asserts that `fn` throws `cls` with a message matching every pattern, and
 * that `inputs` keep their shapes and values and no buffer leaks.
 */
async function throwsClean(
  fn: () => unknown,
  cls: ErrorClass,
  patterns: RegExp[],
  inputs: Tensor[] = [],
): Promise<void> {
  const shapes = inputs.map((t) => [...t.shape]);
  const values = await Promise.all(inputs.map((t) => t.data()));
  const before = memory();
  let thrown: unknown = undefined;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown !== undefined, "expected a throw, got none");
  assert.ok(
    thrown instanceof cls,
    `expected ${cls.name}, got ${(thrown as Error)?.constructor?.name}: ${
      (thrown as Error)?.message
    }`,
  );
  const msg = (thrown as Error).message;
  for (const p of patterns) assert.match(msg, p);
  const after = memory();
  assert.equal(after.buffers, before.buffers, `buffers leaked: "${msg}"`);
  assert.equal(after.tensors, before.tensors, `tensors leaked: "${msg}"`);
  for (let i = 0; i < inputs.length; i++) {
    assert.deepEqual(inputs[i].shape, shapes[i], `input ${i} shape changed`);
    assert.deepEqual(await inputs[i].data(), values[i], `input ${i} changed`);
  }
}

Deno.test("binary ops reject shapes that don't broadcast ([2,3] and [4])", async () => {
  const a = zeros([2, 3]);
  const b = zeros([4]);
  const want = [shapeRe([2, 3]), shapeRe([4])];
  for (const op of ["add", "sub", "mul", "div", "pow", "eq", "lt", "gt"]) {
    // deno-lint-ignore no-explicit-any
    await throwsClean(() => (a as any)[op](b), RangeError, want, [a, b]);
  }
  const cond = zeros([2, 3]);
  await throwsClean(() => where(cond, a, b), RangeError, want, [cond, a, b]);
});

Deno.test("`matmul()` rejects an inner-dimension mismatch", async () => {
  const a = zeros([2, 3]);
  const b = zeros([4, 5]);
  await throwsClean(() => a.matmul(b), RangeError, [/3/, /4/], [a, b]);
  const v = zeros([4]);
  await throwsClean(() => a.matmul(v), RangeError, [/3/, /4/], [a, v]);
  const x = zeros([2, 2, 3]);
  const y = zeros([3, 3, 2]);
  await throwsClean(() => x.matmul(y), RangeError, [/2/, /3/], [x, y]);
});

Deno.test("`matmul()` rejects a scalar operand", async () => {
  const a = zeros([2, 3]);
  const s = tensor(2);
  await throwsClean(() => a.matmul(s), RangeError, [], [a, s]);
});

Deno.test("`reshape()` to a different element count throws", async () => {
  const a = zeros([2, 3]);
  await throwsClean(() => a.reshape([4, 2]), RangeError, [shapeRe([4, 2])], [
    a,
  ]);
  await throwsClean(() => a.reshape([4, -1]), RangeError, [shapeRe([4, -1])], [
    a,
  ]);
  await throwsClean(() => a.reshape([-1, -1]), RangeError, [], [a]);
});

Deno.test("`expand()` to an incompatible shape throws", async () => {
  const a = zeros([2, 3]);
  await throwsClean(() => a.expand([2, 4]), RangeError, [shapeRe([2, 4])], [a]);
  await throwsClean(() => a.expand([3]), RangeError, [], [a]);
});

Deno.test("a dim out of range throws RangeError naming the dim", async () => {
  const a = zeros([2, 3]);
  const cases: [string, () => unknown, RegExp][] = [
    ["sum(2)", () => a.sum(2), /2/],
    ["sum(-3)", () => a.sum(-3), /-3/],
    ["sum([0,5])", () => a.sum([0, 5]), /5/],
    ["mean(7)", () => a.mean(7), /7/],
    ["max(2)", () => a.max(2), /2/],
    ["argmax(-3)", () => a.argmax(-3), /-3/],
    ["softmax(2)", () => a.softmax(2), /2/],
    ["logSoftmax(-3)", () => a.logSoftmax(-3), /-3/],
    ["transpose(0,5)", () => a.transpose(0, 5), /5/],
    ["permute([0,2])", () => a.permute([0, 2]), /2/],
    ["permute([0,0])", () => a.permute([0, 0]), /0/],
    ["permute([0])", () => a.permute([0]), /0/],
    ["unsqueeze(3)", () => a.unsqueeze(3), /3/],
    ["unsqueeze(-4)", () => a.unsqueeze(-4), /-4/],
    ["squeeze(2)", () => a.squeeze(2), /2/],
    ["narrow(2,0,1)", () => a.narrow(2, 0, 1), /2/],
    ["narrow(1,2,2)", () => a.narrow(1, 2, 2), /2/],
    ["cat dim 2", () => cat([a, a], 2), /2/],
    ["stack dim 3", () => stack([a, a], 3), /3/],
  ];
  for (const [name, fn, re] of cases) {
    try {
      await throwsClean(fn, RangeError, [re], [a]);
    } catch (e) {
      throw new Error(`${name}: ${(e as Error).message}`);
    }
  }
});

Deno.test("`cat()` and `stack()` reject mismatched shapes", async () => {
  const a = zeros([2, 3]);
  const b = zeros([2, 4]);
  await throwsClean(() => cat([a, b], 0), RangeError, [shapeRe([2, 4])], [
    a,
    b,
  ]);
  await throwsClean(() => stack([a, b], 0), RangeError, [shapeRe([2, 4])], [
    a,
    b,
  ]);
  await throwsClean(() => cat([], 0), RangeError, [], []);
});

Deno.test("`backward()` on a non-scalar needs a gradOutput", async () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
  const y = x.mul(2);
  await throwsClean(() => y.backward(), RangeError, [shapeRe([2, 3])], [x, y]);
  assert.equal(x.grad, null);
  // a gradOutput of the wrong shape is a shape error too
  const g = zeros([3]);
  await throwsClean(() => y.backward(g), RangeError, [shapeRe([3])], [x, y]);
  assert.equal(x.grad, null);
  // and the graph still works afterwards
  y.backward(tensor([[1, 1, 1], [1, 1, 1]]));
  assert.deepEqual(await x.grad!.toArray(), [[2, 2, 2], [2, 2, 2]]);
});

Deno.test("ops between two backends throw an error naming both", async () => {
  registerBackend("cpu2", () => new CpuBackend("cpu2"));
  const prev = getBackend();
  await setBackend("cpu2");
  const b = tensor([1, 2, 3]);
  await setBackend(prev);
  const a = tensor([1, 2, 3], { backend: "cpu" });
  assert.equal(a.backend, "cpu");
  assert.equal(b.backend, "cpu2");
  const c = tensor([1, 2, 3], { backend: "cpu2" });
  assert.equal(c.backend, "cpu2");
  const names = [/"?cpu"?\b/, /cpu2/];
  for (
    const [name, fn] of [
      ["add", () => a.add(b)],
      ["mul", () => b.mul(a)],
      ["matmul", () => a.matmul(b)],
      ["where", () => where(a, a, b)],
      ["cat", () => cat([a, b], 0)],
      ["stack", () => stack([a, b], 0)],
    ] as [string, () => unknown][]
  ) {
    try {
      await throwsClean(fn, Error, names, [a, b]);
    } catch (e) {
      throw new Error(`${name}: ${(e as Error).message}`);
    }
  }
  // and `to()` is the way across
  assert.deepEqual(await (await a.to("cpu2")).add(b).toArray(), [2, 4, 6]);
});

Deno.test("int32 tensors are rejected by float-only ops with TypeError", async () => {
  const i = tensor([1, 2, 3], { dtype: "int32" });
  const m = tensor([[1, 2], [3, 4]], { dtype: "int32" });
  const cases: [string, () => unknown][] = [
    ["exp", () => i.exp()],
    ["log", () => i.log()],
    ["sqrt", () => i.sqrt()],
    ["tanh", () => i.tanh()],
    ["sigmoid", () => i.sigmoid()],
    ["gelu", () => i.gelu()],
    ["softmax", () => i.softmax(0)],
    ["logSoftmax", () => i.logSoftmax(0)],
    ["matmul", () => m.matmul(m)],
    ["mean", () => i.mean()],
  ];
  for (const [name, fn] of cases) {
    try {
      await throwsClean(fn, TypeError, [/int32/], [i, m]);
    } catch (e) {
      throw new Error(`${name}: ${(e as Error).message}`);
    }
  }
});

Deno.test("int32 tensors cannot require grad", async () => {
  await throwsClean(
    () => tensor([1, 2], { dtype: "int32", requiresGrad: true }),
    TypeError,
    [/int32/],
  );
  const i = tensor([1, 2], { dtype: "int32" });
  await throwsClean(() => (i.requiresGrad = true), TypeError, [/int32/], [i]);
  assert.equal(i.requiresGrad, false);
});

Deno.test("`tensor()` rejects data that doesn't match its shape", async () => {
  await throwsClean(
    () => tensor([1, 2, 3], { shape: [2, 2] }),
    RangeError,
    [shapeRe([2, 2]), /3/],
  );
  await throwsClean(
    () => tensor(new Float32Array(5), { shape: [2, 3] }),
    RangeError,
    [shapeRe([2, 3]), /5/],
  );
  await throwsClean(() => tensor([[1, 2], [3]]), RangeError, [
    /ragged|shape|length/i,
  ]);
  await throwsClean(() => tensor([[1, 2], 3]), RangeError, []);
  await throwsClean(
    () => tensor([[[1], [2]], [[3, 4], [5, 6]]]),
    RangeError,
    [],
  );
});

Deno.test("`tensor()` rejects non-numbers and unknown dtypes with TypeError", async () => {
  // deno-lint-ignore no-explicit-any
  const bad = tensor as any;
  await throwsClean(() => bad(["a", "b"]), TypeError, []);
  await throwsClean(() => bad("1"), TypeError, []);
  await throwsClean(() => bad([1, 2], { dtype: "float64" }), TypeError, [
    /float64/,
  ]);
});

Deno.test("a disposed tensor says it was disposed when used", async () => {
  const t = tensor([1, 2, 3]);
  const one = tensor([1]);
  const keep = tensor([4, 5, 6]);
  t.dispose();
  one.dispose();
  for (
    const [name, fn] of [
      ["add", () => t.add(1)],
      ["add (as operand)", () => keep.add(t)],
      ["reshape", () => t.reshape([3, 1])],
      ["sum", () => t.sum()],
      ["dataSync", () => t.dataSync()],
    ] as [string, () => unknown][]
  ) {
    assert.throws(fn, /disposed/, name);
  }
  await assert.rejects(async () => await t.data(), /disposed/);
  await assert.rejects(async () => await t.toArray(), /disposed/);
  await assert.rejects(async () => await one.item(), /disposed/);
  assert.deepEqual(await keep.toArray(), [4, 5, 6]);
});

Deno.test("`item()` of a tensor with several elements throws", async () => {
  await assert.rejects(async () => await tensor([1, 2]).item(), RangeError);
});
