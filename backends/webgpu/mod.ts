/**
 * The WebGPU backend: WGSL kernels on strided views, batched submission,
 * pooled buffers. Register it with
 * `registerBackend("webgpu", createWebGpuBackend)`.
 *
 * @module
 */

export {
  createWebGpuBackend,
  NO_ADAPTER_HINT,
  WebGpuBackend,
  type WebGpuOptions,
} from "./webgpu_backend.ts";
export { GpuBuffer } from "./buffer_pool.ts";
