import assert from "node:assert/strict";
import type { AdamArgs } from "../../../backends/backend.ts";
import { createWebGpuBackend, type GpuBuffer } from "../../../backends/webgpu/mod.ts";
import { bucketBytes, grid2d } from "../../../backends/webgpu/limits.ts";
import {
  assertClose,
  backend,
  gpuTest,
  hostValues,
  rand,
  readAll,
  upload,
  view,
} from "./helpers.ts";

Deno.test("webgpu: no adapter rejects with a clear message (stubbed navigator.gpu)", async () => {
  const noAdapter = { requestAdapter: () => Promise.resolve(null) };
  for (const gpu of [noAdapter, null]) {
    await assert.rejects(createWebGpuBackend({ gpu }), (err: Error) => {
      assert.match(err.message, /no WebGPU adapter/);
      assert.match(err.message, /apt-get install -y mesa-vulkan-drivers/);
      return true;
    });
  }
});

Deno.test("webgpu: grid and bucket arithmetic", () => {
  assert.deepEqual(grid2d(1), [1, 1]);
  assert.deepEqual(grid2d(65535), [65535, 1]);
  const [x, y] = grid2d(70000);
  assert.ok(x <= 65535 && y <= 65535 && x * y >= 70000);
  assert.equal(bucketBytes(4, 1 << 30), 256);
  assert.equal(bucketBytes(1000, 1 << 30), 1024);
  assert.equal(bucketBytes(5 << 20, 1 << 30), 5 << 20); // quarter steps above 1 MiB
  assert.equal(bucketBytes(3000, 2048), 3000); // never above maxBufferSize
});

gpuTest("stats return to the baseline after free; storage is pooled", async (b) => {
  await b.sync();
  const base = b.stats();
  const x = upload(b, rand(100, 1));
  const y = b.alloc(100, "float32");
  const z = b.alloc(0, "int32");
  assert.deepEqual(b.stats(), { buffers: base.buffers + 3, bytes: base.bytes + 804 });
  b.unary("exp", view(x, [100]), y);
  await readAll(b, y, 100);
  [x, y, z].forEach((h) => b.free(h));
  b.free(x); // a second free is ignored
  assert.deepEqual(b.stats(), base);
  const again = b.alloc(100, "float32") as GpuBuffer;
  assert.ok(again.gpu === (y as GpuBuffer).gpu || again.gpu === (x as GpuBuffer).gpu);
  b.free(again);
  assert.deepEqual(b.stats(), base);
  assert.throws(() => b.unary("exp", view(x, [100]), again), /freed/);
  // Sizes past maxBufferSize fail with a clear error.
  assert.throws(() => b.alloc(2 ** 31, "float32"), /maxBufferSize/);
  assert.throws(() => b.write(again, new Float32Array(2)), /freed/);
  assert.deepEqual(b.stats(), base);
});

gpuTest("hundreds of dispatches, one read; reuse keeps program order", async (b) => {
  let cur = upload(b, [0, 1, 2]);
  const one = upload(b, [1]);
  for (let i = 0; i < 300; i++) {
    const next = b.alloc(3, "float32");
    b.binary("add", view(cur, [3]), view(one, [3], { strides: [0] }), next);
    b.free(cur); // its storage is reused by a later step, in queue order
    cur = next;
  }
  assert.deepEqual(await readAll(b, cur, 3), [300, 301, 302]);
  // A write to a reused buffer lands after the queued kernel that read it.
  const a = upload(b, [1, 2, 3]);
  const out = b.alloc(3, "float32");
  b.unary("neg", view(a, [3]), out);
  b.free(a);
  const c = b.alloc(3, "float32");
  assert.equal((c as GpuBuffer).gpu, (a as GpuBuffer).gpu, "pool reuses the freed storage");
  b.write(c, new Float32Array([9, 9, 9]));
  assert.deepEqual(await readAll(b, out, 3), [-1, -2, -3]);
  assert.deepEqual(await readAll(b, c, 3), [9, 9, 9]);
  [cur, one, out, c].forEach((h) => b.free(h));
});

gpuTest(
  "grids above the per-dimension limit are split into 2-D (limit lowered to 16)",
  async (b) => {
    const saved = b.ctx.maxGroupsPerDim;
    b.ctx.maxGroupsPerDim = 16; // 65,535 on real devices; too slow to reach here
    try {
      const n = 5000; // 20 workgroups of 256 → a [10, 2] grid
      const xd = rand(n, 3).map(Math.fround);
      const x = upload(b, xd);
      const out = b.alloc(n, "float32");
      b.unary("neg", view(x, [n]), out);
      assert.deepEqual(await readAll(b, out, n), xd.map((v) => -v));
      const rows = 50; // one workgroup per row → [13, 4]
      b.fused.softmax!(view(x, [rows, 100]), out);
      const sm = await readAll(b, out, rows * 100);
      for (let r = 0; r < rows; r++) {
        const sum = sm.slice(r * 100, r * 100 + 100).reduce((a, v) => a + v, 0);
        assert.ok(Math.abs(sum - 1) < 1e-5, `row ${r} sums to ${sum}`);
      }
      b.reduce("sum", view(x, [20, 250]), [1], out); // 20 workgroup-per-output reductions
      const sums = await readAll(b, out, 20);
      const ref = Array.from(
        { length: 20 },
        (_, r) => xd.slice(r * 250, r * 250 + 250).reduce((a, v) => a + v),
      );
      assertClose(sums, ref, 1e-5, 1e-5, "sums");
      // 40 batches of a 1×2 by 2×1 product: three dispatches of ≤ 16 batches.
      b.matmul(view(x, [40, 1, 2]), view(x, [40, 2, 1], { offset: 80 }), out);
      const mm = await readAll(b, out, 40);
      const mref = Array.from(
        { length: 40 },
        (_, z) => xd[2 * z] * xd[80 + 2 * z] + xd[2 * z + 1] * xd[81 + 2 * z],
      );
      assertClose(mm, mref, 1e-6, 1e-5, "batched");
      [x, out].forEach((h) => b.free(h));
    } finally {
      b.ctx.maxGroupsPerDim = saved;
    }
  },
);

function hostAdam(p: number[], g: number[], m: number[], v: number[], a: AdamArgs): void {
  for (let i = 0; i < p.length; i++) {
    const gi = g[i] + a.weightDecay * p[i];
    m[i] = a.beta1 * m[i] + (1 - a.beta1) * gi;
    v[i] = a.beta2 * v[i] + (1 - a.beta2) * gi * gi;
    p[i] *= 1 - a.lr * a.decoupledDecay;
    const denom = Math.sqrt(v[i]) / Math.sqrt(a.bias2) + a.eps;
    p[i] -= (a.lr / a.bias1) * m[i] / denom;
  }
}

gpuTest("fused adam / adamw matches the PyTorch formula", async (b) => {
  const n = 15;
  for (const [wd, dwd] of [[0, 0], [0.1, 0], [0, 0.01]]) {
    const p = rand(n, 1).map(Math.fround), m = new Array(n).fill(0), v = new Array(n).fill(0);
    const pb = upload(b, p), mb = upload(b, m), vb = upload(b, v);
    for (let t = 1; t <= 3; t++) {
      const gd = rand(n, 10 + t).map(Math.fround);
      const gb = upload(b, gd);
      const gv = view(gb, [5, 3], { strides: [1, 5] }); // a transposed gradient
      const args: AdamArgs = {
        lr: 0.01,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weightDecay: wd,
        decoupledDecay: dwd,
        bias1: 1 - 0.9 ** t,
        bias2: 1 - 0.999 ** t,
      };
      b.fused.adam!(pb, gv, mb, vb, n, args);
      hostAdam(p, hostValues(gd, gv), m, v, args);
      b.free(gb);
    }
    assertClose(await readAll(b, pb, n), p, 1e-6, 1e-5, "param");
    assertClose(await readAll(b, mb, n), m, 1e-6, 1e-5, "m");
    assertClose(await readAll(b, vb, n), v, 1e-7, 1e-4, "v");
    [pb, mb, vb].forEach((h) => b.free(h));
  }
});

gpuTest("a GPU validation error is thrown by the next call, once", async (b) => {
  const kernel = b.ctx.kernel("test:broken", () => ({ code: "this is not wgsl", access: [] }));
  b.ctx.dispatch(kernel, new Uint32Array(1), [], [1, 1, 1]);
  await assert.rejects(b.sync(), /GPUValidationError/);
  const x = upload(b, [4]);
  assert.deepEqual(await readAll(b, x, 1), [4]); // the backend keeps working
  b.free(x);
});

Deno.test({
  name: "webgpu: a lost device is reported as an Error, never a hang",
  ignore: backend === null,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const b = await createWebGpuBackend();
    const x = upload(b, [1, 2, 3]);
    const y = b.alloc(3, "float32");
    b.unary("exp", view(x, [3]), y);
    const inFlight = b.read(y, "float32", 3);
    b.device.destroy();
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("hang")), 5000));
    // The read in flight either completes or rejects; it must not hang.
    await Promise.race([inFlight.catch(() => {}), timeout]);
    for (let i = 0; i < 100 && !b.deviceLost; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(b.deviceLost);
    assert.throws(() => b.unary("exp", view(x, [3]), y), /device was lost/);
    assert.throws(() => b.alloc(3, "float32"), /device was lost/);
    await assert.rejects(b.read(y, "float32", 3), /device was lost/);
    await assert.rejects(b.sync(), /device was lost/);
  },
});
