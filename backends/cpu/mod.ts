/**
 * The CPU backend (TypedArrays, with WebAssembly SIMD kernels where the
 * engine has them).
 *
 * @module
 */
export { CpuBackend, type CpuBackendOptions } from "./cpu_backend.ts";
