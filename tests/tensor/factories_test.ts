/**
 * Factories and readback: zeros / ones / full / arange / rand / randn /
 * tensor(), dtypes, manualSeed, toArray / item / data / dataSync.
 */
import assert from "node:assert/strict";
import { arange, full, manualSeed, ones, rand, randn, tensor, zeros } from "../../mod.ts";
import { backendTest, isCpu } from "../_backends.ts";

backendTest("`zeros()`, `ones()` and `full()` fill their shape", async () => {
  const z = zeros([2, 3]);
  assert.deepEqual(z.shape, [2, 3]);
  assert.equal(z.dtype, "float32");
  assert.equal(z.size, 6);
  assert.equal(z.ndim, 2);
  assert.deepEqual(await z.toArray(), [[0, 0, 0], [0, 0, 0]]);
  assert.deepEqual(await ones([3]).toArray(), [1, 1, 1]);
  assert.deepEqual(await full([2, 2], 7.5).toArray(), [[7.5, 7.5], [7.5, 7.5]]);
  const fi = full([2], 3, { dtype: "int32" });
  assert.equal(fi.dtype, "int32");
  assert.deepEqual(await fi.toArray(), [3, 3]);
  assert.equal(zeros([2], { dtype: "int32" }).dtype, "int32");
  assert.equal(ones([2], { requiresGrad: true }).requiresGrad, true);
});

backendTest("factories make scalars and empty tensors", async () => {
  const s = zeros([]);
  assert.deepEqual(s.shape, []);
  assert.equal(s.size, 1);
  assert.equal(await s.item(), 0);
  assert.equal(await full([], 4).toArray(), 4);
  const e = zeros([0, 3]);
  assert.equal(e.size, 0);
  assert.deepEqual(Array.from(await e.data()), []);
});

backendTest("`arange()` covers end, start/end and a step", async () => {
  assert.deepEqual(await arange(5).toArray(), [0, 1, 2, 3, 4]);
  assert.deepEqual(await arange(2, 6).toArray(), [2, 3, 4, 5]);
  assert.deepEqual(await arange(0, 1, 0.25).toArray(), [0, 0.25, 0.5, 0.75]);
  assert.deepEqual(await arange(1, 10, 3).toArray(), [1, 4, 7]);
  assert.deepEqual(await arange(5, 0, -2).toArray(), [5, 3, 1]);
  assert.deepEqual(arange(0).shape, [0]);
  assert.deepEqual(arange(3).shape, [3]);
});

backendTest(
  "`tensor()` reads nested arrays, typed arrays and numbers",
  async () => {
    const n = tensor([[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(n.shape, [2, 3]);
    assert.equal(n.dtype, "float32");
    assert.deepEqual(await n.toArray(), [[1, 2, 3], [4, 5, 6]]);
    const d3 = tensor([[[1], [2]], [[3], [4]]]);
    assert.deepEqual(d3.shape, [2, 2, 1]);
    const s = tensor(3.5);
    assert.deepEqual(s.shape, []);
    assert.equal(await s.item(), 3.5);
    assert.equal(await s.toArray(), 3.5);
    const f = tensor(new Float32Array([1, 2, 3, 4]), { shape: [2, 2] });
    assert.equal(f.dtype, "float32");
    assert.deepEqual(await f.toArray(), [[1, 2], [3, 4]]);
    const i = tensor(new Int32Array([7, 8, 9]));
    assert.equal(i.dtype, "int32");
    assert.deepEqual(i.shape, [3]);
    const flat = tensor([1, 2, 3, 4, 5, 6], { shape: [3, 2] });
    assert.deepEqual(await flat.toArray(), [[1, 2], [3, 4], [5, 6]]);
    assert.deepEqual(tensor([]).shape, [0]);
  },
);

backendTest("`tensor()` copies its input array", async () => {
  const src = new Float32Array([1, 2, 3]);
  const t = tensor(src);
  src[0] = 99;
  assert.deepEqual(await t.toArray(), [1, 2, 3]);
});

backendTest("`tensor()` with dtype int32 stores integers", async () => {
  const t = tensor([[1, 2], [3, 4]], { dtype: "int32" });
  assert.equal(t.dtype, "int32");
  const d = await t.data();
  assert.ok(d instanceof Int32Array);
  assert.deepEqual(Array.from(d), [1, 2, 3, 4]);
});

backendTest("float32 values round to float32", async () => {
  const d = await tensor([0.1]).data();
  assert.ok(d instanceof Float32Array);
  assert.equal(d[0], Math.fround(0.1));
});

backendTest("`data()` is a fresh contiguous copy", async () => {
  const t = tensor([[1, 2], [3, 4]]);
  const a = await t.transpose(0, 1).data();
  assert.deepEqual(Array.from(a), [1, 3, 2, 4]);
  a[0] = 100;
  assert.deepEqual(Array.from(await t.data()), [1, 2, 3, 4]);
  const b = await t.data();
  assert.notEqual(a, b);
});

backendTest("`item()` reads a one-element tensor", async () => {
  assert.equal(await tensor([[42]]).item(), 42);
  assert.equal(await tensor([5], { dtype: "int32" }).item(), 5);
});

backendTest("`dataSync()` works on the CPU and throws elsewhere", (backend) => {
  const t = tensor([1, 2, 3]);
  if (isCpu(backend)) {
    assert.deepEqual(Array.from(t.dataSync()), [1, 2, 3]);
  } else {
    assert.throws(() => t.dataSync(), new RegExp(backend));
  }
});

backendTest(
  "`t.backend` names the default backend it was made on",
  (backend) => {
    assert.equal(zeros([1]).backend, backend);
    assert.equal(tensor([1]).backend, backend);
  },
);

backendTest("`to()` copies to another backend and back", async (backend) => {
  const t = tensor([1, 2, 3]);
  const c = await t.to("cpu");
  assert.equal(c.backend, "cpu");
  assert.deepEqual(await c.toArray(), [1, 2, 3]);
  assert.equal((await c.to(backend)).backend, backend);
});

backendTest("`rand()` is uniform on [0, 1)", async () => {
  manualSeed(0);
  const d = await rand([20000]).data();
  let sum = 0, sq = 0, min = Infinity, max = -Infinity;
  for (const v of d) {
    sum += v;
    sq += v * v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = sum / d.length;
  const variance = sq / d.length - mean * mean;
  assert.ok(min >= 0 && max < 1, `range [${min}, ${max}]`);
  assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1 / 12) < 0.005, `variance ${variance}`);
});

backendTest("`randn()` has mean 0 and std 1", async () => {
  manualSeed(1);
  const d = await randn([20000]).data();
  let sum = 0, sq = 0;
  for (const v of d) {
    sum += v;
    sq += v * v;
  }
  const mean = sum / d.length;
  const std = Math.sqrt(sq / d.length - mean * mean);
  assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
  assert.ok(Math.abs(std - 1) < 0.03, `std ${std}`);
  assert.ok(d.every(Number.isFinite));
});

backendTest("`manualSeed()` makes random tensors reproducible", async () => {
  manualSeed(42);
  const a = await randn([2, 5]).data();
  const b = await rand([7]).data();
  manualSeed(42);
  assert.deepEqual(await randn([2, 5]).data(), a);
  assert.deepEqual(await rand([7]).data(), b);
  manualSeed(43);
  assert.notDeepEqual(await randn([2, 5]).data(), a);
});

backendTest(
  "`manualSeed()` gives the same numbers on every backend",
  async (backend) => {
    manualSeed(7);
    const here = await randn([16]).data();
    manualSeed(7);
    const cpu = await randn([16], { backend: "cpu" }).data();
    assert.deepEqual(here, cpu, `${backend} vs cpu`);
  },
);

backendTest("`randn()` and `rand()` accept shape and requiresGrad", () => {
  const r = randn([3, 2], { requiresGrad: true });
  assert.equal(r.requiresGrad, true);
  assert.deepEqual(r.shape, [3, 2]);
  assert.deepEqual(rand([4]).shape, [4]);
});
