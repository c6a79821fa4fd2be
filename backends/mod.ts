/**
 * Backends: the contract, the registry and the built-in CPU backend.
 *
 * Layout of `backends/`:
 * - `backend.ts` the contract, `registry.ts`, `builtin.ts` (registers
 *   "cpu" and "webgpu"), `layout.ts` (shape and stride helpers),
 *   `alloc_size.ts` (the allocation guard every backend runs);
 * - `cpu/` and `webgpu/`, each a `*_backend.ts` class that owns memory and
 *   routes calls to op-family files (`ops_elementwise.ts`, `ops_reduce.ts`,
 *   `ops_matmul.ts`, `ops_index.ts`); `cpu/wasm/` is the CPU backend's
 *   WebAssembly runtime (heap, emitter, kernels, worker).
 *
 * Conventions: a file named `_x.ts` is private to its folder (only its
 * siblings import it); every folder's `mod.ts` only re-exports; an export
 * a module offers beyond its own purpose (another module's access to its
 * state) is named with a leading `_` and documented as package-internal;
 * class members that are private are `#private`.
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
