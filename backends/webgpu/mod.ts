/**
 * The WebGPU backend: WGSL kernels on strided views, batched submission,
 * pooled buffers. Register it with
 * `registerBackend("webgpu", createWebGpuBackend)`; the contract's types
 * are exported by `backends/mod.ts`.
 *
 * @module
 */

export {
  createWebGpuBackend,
  NO_ADAPTER_HINT,
  WebGpuBackend,
  type WebGpuOptions,
} from "./webgpu_backend.ts";
export { BufferPool, GpuBuffer } from "./buffer_pool.ts";
export { GpuContext } from "./gpu_context.ts";
export type { Access, Binding, Kernel } from "./kernel.ts";
export type { TuneOptions, TuneResult } from "./matmul_tune.ts";
export type { Vec4Config, Vec4Layout } from "./wgsl_matmul.ts";
