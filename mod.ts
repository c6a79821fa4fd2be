/**
 * A from-scratch tensor library for Deno: tensors with reverse-mode autograd
 * on pluggable backends (CPU, WebGPU), `nn`, `optim`, `linalg` and LoRA
 * fine-tuning.
 *
 * @example
 * ```ts
 * import { tensor } from "./mod.ts";
 * const w = tensor([[1, 2], [3, 4]], { requiresGrad: true });
 * const loss = w.mul(w).sum();
 * loss.backward();
 * console.log(await w.grad!.toArray()); // [[2, 4], [6, 8]]
 * ```
 *
 * @module
 */
import "./backends/builtin.ts";
export * from "./tensor/mod.ts";
export { getBackend, registerBackend, setBackend } from "./backends/mod.ts";
export type {
  AdamArgs,
  Backend,
  BackendFactory,
  BinaryOp,
  BufferHandle,
  DeferredCheck,
  DType,
  FusedOps,
  ReduceOp,
  TypedArray,
  UnaryOp,
  View,
} from "./backends/mod.ts";
export * as nn from "./nn/mod.ts";
export * as optim from "./optim/mod.ts";
export * as lora from "./lora/mod.ts";
export * as linalg from "./linalg/mod.ts";
export * as models from "./models/mod.ts";
