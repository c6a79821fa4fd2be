/**
 * The CPU backend. Contract: buffers are Float32Array / Int32Array; every
 * compute call runs synchronously to completion, so `read` resolves at once
 * and `readSync` is available. Views are walked by stride, with dense fast
 * paths for the common cases; where the engine has WebAssembly SIMD,
 * buffers live in the Wasm heap and the ops that have kernels run them
 * (large ones split with one worker thread).
 *
 * This class owns memory and routes each call to its op family:
 * `ops_elementwise.ts`, `ops_reduce.ts`, `ops_matmul.ts`, `ops_index.ts`
 * (the layout `webgpu/` has too).
 *
 * @module
 */
import type {
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
import { checkAllocSize } from "../alloc_size.ts";
import { arr } from "./_strided.ts";
import { simdAlloc, simdAvailable, simdFree } from "./_simd.ts";
import { adam, binary, cast, copy, unary, where } from "./ops_elementwise.ts";
import { crossEntropy, logSoftmax, reduce, softmax } from "./ops_reduce.ts";
import { linear, loraLinear, matmul } from "./ops_matmul.ts";
import { attention, attentionBackward } from "./ops_attention.ts";
import { gather, scatterAdd } from "./ops_index.ts";

/** Elements one CPU buffer may hold: 4 GiB of float32, the Wasm heap's span. */
const MAX_ELEMENTS = 2 ** 30;

/** Options of {@link CpuBackend}. */
export interface CpuBackendOptions {
  /**
   * Use the WebAssembly SIMD kernels (and their worker thread) where the
   * engine supports them; false keeps every op on the scalar loops.
   */
  simd?: boolean;
}

/** The CPU backend on TypedArrays. */
export class CpuBackend implements Backend {
  /** The name it is registered under. */
  readonly name: string;
  /** Fused fast paths. */
  readonly fused: FusedOps;
  /** Whether this instance runs the SIMD kernels. */
  readonly simd: boolean;
  #buffers = 0;
  #bytes = 0;

  /**
   * Makes a CPU backend.
   *
   * @param name Registry name; "cpu" by default.
   * @param opts `simd: false` forces the scalar loops.
   */
  constructor(name = "cpu", opts: CpuBackendOptions = {}) {
    this.name = name;
    this.simd = (opts.simd ?? true) && simdAvailable;
    this.fused = {
      linear: (x, w, b, out) => linear(this.simd, x, w, b, out),
      softmax,
      crossEntropy,
      loraLinear: (x, w, b, a, bUp, s, out, down) => {
        const tmp = this.alloc(x.shape[0] * a.shape[0], "float32") as Float32Array;
        loraLinear(this.simd, tmp, x, w, b, a, bUp, s, out, down);
        this.free(tmp);
      },
      logSoftmax,
      adam,
      attention: (...args) => attention(this.simd, this.#scratch, this.#release, ...args),
      attentionBackward: (...args) =>
        attentionBackward(this.simd, this.#scratch, this.#release, ...args),
    };
  }

  /** Scratch float32 buffers of the fused kernels (in the heap with SIMD). */
  #scratch = (n: number): Float32Array => this.alloc(n, "float32") as Float32Array;
  #release = (a: Float32Array): void => this.free(a);

  /**
   * A zeroed (scalar path) or reused (heap) buffer of `n` elements.
   *
   * @throws {RangeError} for a size that is not a non-negative safe integer,
   *   past 2³⁰ elements, or more than the Wasm heap can still hold; the
   *   counters and the heap are unchanged then.
   */
  alloc(n: number, dtype: DType): BufferHandle {
    checkAllocSize(this.name, n, dtype, MAX_ELEMENTS);
    const buf = this.simd
      ? simdAlloc(n, dtype === "int32")
      : dtype === "int32"
      ? new Int32Array(n)
      : new Float32Array(n);
    this.#buffers++;
    this.#bytes += n * 4;
    return buf;
  }

  write(buffer: BufferHandle, data: TypedArray): void {
    arr(buffer).set(data);
  }

  read(buffer: BufferHandle, dtype: DType, n: number): Promise<TypedArray> {
    return Promise.resolve(this.readSync(buffer, dtype, n));
  }

  readSync(buffer: BufferHandle, _dtype: DType, n: number): TypedArray {
    return arr(buffer).slice(0, n);
  }

  free(buffer: BufferHandle): void {
    this.#buffers--;
    this.#bytes -= arr(buffer).length * 4;
    if (this.simd) simdFree(arr(buffer));
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  stats(): { buffers: number; bytes: number } {
    return { buffers: this.#buffers, bytes: this.#bytes };
  }

  unary(op: UnaryOp, x: View, out: BufferHandle): void {
    unary(this.simd, op, x, out);
  }

  binary(op: BinaryOp, a: View, b: View, out: BufferHandle): void {
    binary(this.simd, op, a, b, out);
  }

  where(cond: View, a: View, b: View, out: BufferHandle): void {
    where(cond, a, b, out);
  }

  cast(x: View, _dtype: DType, out: BufferHandle): void {
    cast(x, out);
  }

  reduce(op: ReduceOp, x: View, axes: readonly number[], out: BufferHandle): void {
    reduce(this.simd, op, x, axes, out);
  }

  copy(x: View, out: View): void {
    copy(x, out);
  }

  matmul(a: View, b: View, out: BufferHandle): void {
    matmul(this.simd, a, b, out);
  }

  gather(x: View, index: View, out: BufferHandle): void {
    gather(x, index, out);
  }

  scatterAdd(out: View, index: View, src: View): void {
    scatterAdd(out, index, src);
  }
}
