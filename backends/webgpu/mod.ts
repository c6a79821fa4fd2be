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
export { BufferPool, GpuBuffer } from "./buffer_pool.ts";
export { type Access, type Binding, GpuContext, type Kernel } from "./gpu_context.ts";
export type {
  AdamArgs,
  Backend,
  BinaryOp,
  BufferHandle,
  DType,
  FusedOps,
  ReduceOp,
  TypedArray,
  UnaryOp,
  View,
} from "../backend.ts";
