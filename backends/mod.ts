/**
 * Backends: the contract, the registry and the built-in CPU backend.
 *
 * @module
 */
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
} from "./backend.ts";
export { getBackend, initBackend, registerBackend, setBackend } from "./registry.ts";
export { CpuBackend } from "./cpu/mod.ts";
