/**
 * `webgpu-narrow`: a WebGPU device whose binding limit is lowered to 512 bytes,
 * so that most fuzz tensors exceed one binding. Matmul, linear, gathers and
 * elementwise kernels then bind windows of their buffers; every other
 * kernel must refuse with a RangeError (see `_run.ts`).
 *
 * @module
 */
import { registerBackend } from "../../mod.ts";
import { createWebGpuBackend } from "../../backends/webgpu/mod.ts";

/** Bytes one binding may cover on `webgpu-narrow`. */
export const NARROW_BINDING_BYTES = 512;

registerBackend("webgpu-narrow", async () => {
  const b = await createWebGpuBackend({ name: "webgpu-narrow" });
  b.ctx.maxBindingBytes = NARROW_BINDING_BYTES;
  return b;
});
