/**
 * The CPU backend's WebAssembly runtime: the shared heap, the worker's
 * lifetime and the kernel calls. Package-internal: the CPU backend, the
 * tests, the benchmarks and the soak runs import it; `backends/mod.ts`
 * does not re-export it.
 *
 * @module
 */
export {
  alloc,
  checkHeap,
  f32view,
  free,
  heapStats,
  i32view,
  memory,
  relaxedSimdUsed,
  setHeapLimit,
  setNumThreads,
  shutdownThreads,
  threadsReady,
  wasmSimdAvailable,
  workerRunning,
  workerTasks,
} from "./runtime.ts";
export {
  adam,
  type AdamPointers,
  type BinaryOp,
  binarySV,
  binaryVS,
  binaryVV,
  colSum,
  rowSum,
  sgemm,
  sum,
  unary,
  type UnaryOp,
} from "./calls.ts";
