/**
 * Matmul under an adapter's loop limit (`GpuContext.loopIterationLimit`:
 * Mesa's llvmpipe silently ends an invocation's loops after 65,535
 * iterations, which once cut products with a long inner dimension short:
 * 20×70001 by 70001×20 came back 22× off). A second device with the limit
 * lowered to 200 makes every kernel variant split its inner dimension into
 * chunks (the first storing, the others adding); each product must equal a
 * float64 host product.
 *
 * @module
 */

import { assertClose, manualSeed, rand, registerBackend, tensor } from "../../../mod.ts";
import { linear } from "../../../tensor/fused.ts";
import { initBackend } from "../../../backends/mod.ts";
import { createWebGpuBackend, type WebGpuBackend } from "../../../backends/webgpu/mod.ts";
import { gpuTest } from "./helpers.ts";

let limited: WebGpuBackend | null = null;
registerBackend("webgpu-loops", async () => {
  limited = await createWebGpuBackend({ name: "webgpu-loops" });
  limited.ctx.loopIterationLimit = 200;
  return limited;
});

/** a [m, k] · b [k, n] in float64. */
function hostProduct(a: Float32Array, b: Float32Array, m: number, k: number, n: number) {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const x = a[i * k + p];
      for (let j = 0; j < n; j++) out[i * n + j] += x * b[p * n + j];
    }
  }
  return out;
}

// [m, k, n]: skinny (m ≤ 16, small k), split-K (k ≥ 256, few outputs), the
// vec4 kernel (k a multiple of 4) and the tiled fallback (k odd).
const SHAPES = [[3, 200, 5], [2, 12000, 3], [40, 3000, 36], [33, 2001, 40], [20, 1500, 70]];

gpuTest("matmul splits a long inner dimension under the adapter's loop limit", async () => {
  await initBackend("webgpu-loops");
  manualSeed(11);
  const where = { backend: "webgpu-loops" };
  for (const [m, k, n] of SHAPES) {
    const a = rand([m, k]).sub(0.5), b = rand([k, n]).sub(0.5);
    const [ah, bh] = [a.dataSync() as Float32Array, b.dataSync() as Float32Array];
    const want = hostProduct(ah, bh, m, k, n);
    const ag = tensor(ah, { ...where, shape: [m, k] }),
      bg = tensor(bh, { ...where, shape: [k, n] });
    await assertClose(ag.matmul(bg), want, { atol: 1e-4, rtol: 1e-4 });
    // x·wᵀ + bias (the fused linear: bias on the first chunk only).
    const w = bg.transpose(0, 1).contiguous(), bias = tensor(new Float32Array(n).fill(2), where);
    await assertClose(linear(ag, w, bias), Array.from(want, (x) => x + 2), {
      atol: 1e-4,
      rtol: 1e-4,
    });
    for (const t of [a, b, ag, bg, w, bias]) t.dispose();
  }
});
