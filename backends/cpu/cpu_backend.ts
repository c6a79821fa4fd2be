/**
 * The CPU backend. Contract: buffers are Float32Array / Int32Array; every
 * compute call runs synchronously to completion, so `read` resolves at once
 * and `readSync` is available. Views are walked by stride, with dense fast
 * paths for the common cases.
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
import { BINARY, binaryDense, denseKind, gemmScalar, INT_MUL, UNARY, walk3 } from "./_kernels.ts";
import {
  adamScalar,
  crossEntropyRows,
  linearScalar,
  logSoftmaxRows,
  loraLinearWith,
  softmaxRows,
} from "./_fused.ts";
import * as simd from "./_simd.ts";
import { checkAllocSize } from "../alloc_size.ts";
import { contiguousStrides, numel } from "../layout.ts";
import { type GemmCall, operandOf } from "./gemm_call.ts";

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

const ZERO: readonly number[] = [];

function arr(b: BufferHandle): TypedArray {
  return b as TypedArray;
}

/** A GEMM on the Wasm kernels (heap buffers), the scalar loops otherwise. */
function gemmSimd(call: GemmCall): void {
  if (!simd.tryGemm(call)) gemmScalar(call);
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
    this.simd = (opts.simd ?? true) && simd.simdAvailable;
    this.fused = {
      linear: (x, w, b, out) => this.#linear(x, w, b, arr(out) as Float32Array),
      softmax: (x, out) => softmaxRows(x, arr(out) as Float32Array),
      crossEntropy: (x, t, losses, probs) =>
        crossEntropyRows(x, t, arr(losses) as Float32Array, arr(probs) as Float32Array),
      loraLinear: (x, w, b, a, bUp, s, out, down) => {
        const M = x.shape[0], r = a.shape[0];
        const tmp = this.alloc(M * r, "float32") as Float32Array;
        const gemm = this.simd ? gemmSimd : gemmScalar;
        loraLinearWith(
          gemm,
          x,
          w,
          b,
          a,
          bUp,
          s,
          arr(out) as Float32Array,
          arr(down) as Float32Array,
          tmp,
        );
        this.free(tmp);
      },
      logSoftmax: (x, out) => logSoftmaxRows(x, arr(out) as Float32Array),
      adam: (p, g, m, v, n, args) =>
        simd.tryAdam(
          arr(p) as Float32Array,
          g,
          arr(m) as Float32Array,
          arr(v) as Float32Array,
          n,
          args,
        ) ||
        adamScalar(
          arr(p) as Float32Array,
          g,
          arr(m) as Float32Array,
          arr(v) as Float32Array,
          n,
          args,
        ),
    };
  }

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
      ? simd.simdAlloc(n, dtype === "int32")
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
    if (this.simd) simd.simdFree(arr(buffer));
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  stats(): { buffers: number; bytes: number } {
    return { buffers: this.#buffers, bytes: this.#bytes };
  }

  unary(op: UnaryOp, x: View, out: BufferHandle): void {
    const f = UNARY[op], xs = arr(x.buffer), o = arr(out);
    if (this.simd && simd.tryUnary(op, x, o)) return;
    if (denseKind(x) === 1) {
      const n = numel(x.shape), off = x.offset;
      if (op === "relu") {
        for (let i = 0; i < n; i++) {
          const v = xs[off + i];
          o[i] = v <= 0 ? 0 : v; // NaN stays NaN, as in PyTorch
        }
      } else for (let i = 0; i < n; i++) o[i] = f(xs[off + i]);
      return;
    }
    let i = 0;
    walk3(x.shape, x.strides, x.offset, ZERO, 0, ZERO, 0, (p) => {
      o[i++] = f(xs[p]);
    });
  }

  binary(op: BinaryOp, a: View, b: View, out: BufferHandle): void {
    const as = arr(a.buffer), bs = arr(b.buffer), o = arr(out);
    if (this.simd && simd.tryBinary(op, a, b, o)) return;
    const n = numel(a.shape);
    const ka = denseKind(a), kb = denseKind(b);
    if (ka >= 0 && kb >= 0 && !(a.dtype === "int32" && op === "mul")) {
      if (binaryDense(op, as, a.offset, ka, bs, b.offset, kb, o, n)) return;
    }
    const f = a.dtype === "int32" && op === "mul" ? INT_MUL : BINARY[op];
    let i = 0;
    walk3(a.shape, a.strides, a.offset, b.strides, b.offset, ZERO, 0, (p, q) => {
      o[i++] = f(as[p], bs[q]);
    });
  }

  where(cond: View, a: View, b: View, out: BufferHandle): void {
    const cs = arr(cond.buffer), as = arr(a.buffer), bs = arr(b.buffer);
    const o = arr(out);
    let i = 0;
    // Two walks share one index: first pick the condition, then the value.
    const pick = new Uint8Array(numel(cond.shape));
    walk3(cond.shape, cond.strides, cond.offset, ZERO, 0, ZERO, 0, (p) => {
      pick[i++] = +(cs[p] !== 0);
    });
    i = 0;
    walk3(a.shape, a.strides, a.offset, b.strides, b.offset, ZERO, 0, (p, q) => {
      o[i] = pick[i] ? as[p] : bs[q];
      i++;
    });
  }

  cast(x: View, _dtype: DType, out: BufferHandle): void {
    // Storing into the other TypedArray kind converts (float → int truncates).
    const xs = arr(x.buffer), o = arr(out);
    let i = 0;
    walk3(x.shape, x.strides, x.offset, ZERO, 0, ZERO, 0, (p) => {
      o[i++] = xs[p];
    });
  }

  reduce(op: ReduceOp, x: View, axes: readonly number[], out: BufferHandle): void {
    const xs = arr(x.buffer), o = arr(out);
    if (this.simd && simd.tryReduce(op, x, axes, o)) return;
    const outShape = x.shape.map((s, d) => (axes.includes(d) ? 1 : s));
    const os = contiguousStrides(outShape).map((s, d) => axes.includes(d) ? 0 : s);
    const n = numel(outShape);
    if (op === "argmax") return this.#argmax(x, axes[0], os, n, o);
    const acc = new Float64Array(n);
    if (op === "max") acc.fill(-Infinity);
    if (op === "sum" && denseKind(x) === 1 && n === 1) {
      let s = 0;
      const m = numel(x.shape);
      for (let i = 0; i < m; i++) s += xs[x.offset + i];
      o[0] = s;
      return;
    }
    if (op === "sum") {
      walk3(x.shape, x.strides, x.offset, os, 0, ZERO, 0, (p, q) => {
        acc[q] += xs[p];
      });
    } else {
      walk3(x.shape, x.strides, x.offset, os, 0, ZERO, 0, (p, q) => {
        const v = xs[p];
        if (v > acc[q] || v !== v) acc[q] = v;
      });
    }
    for (let i = 0; i < n; i++) o[i] = acc[i];
  }

  #argmax(
    x: View,
    axis: number,
    os: readonly number[],
    n: number,
    o: TypedArray,
  ): void {
    const xs = arr(x.buffer);
    const best = new Float64Array(n).fill(-Infinity);
    const seen = new Uint8Array(n);
    const len = x.shape[axis];
    // Position along `axis` of each visited element, from a running counter.
    const inner = numel(x.shape.slice(axis + 1));
    let i = 0;
    walk3(x.shape, x.strides, x.offset, os, 0, ZERO, 0, (p, q) => {
      const k = Math.floor(i++ / inner) % len;
      const v = xs[p];
      if (!seen[q] || v > best[q] || (v !== v && best[q] === best[q])) {
        best[q] = v;
        o[q] = k;
        seen[q] = 1;
      }
    });
  }

  copy(x: View, out: View): void {
    const xs = arr(x.buffer), o = arr(out.buffer);
    if (denseKind(x) === 1 && denseKind(out) === 1) {
      const n = numel(x.shape);
      o.set(xs.subarray(x.offset, x.offset + n), out.offset);
      return;
    }
    walk3(x.shape, x.strides, x.offset, out.strides, out.offset, ZERO, 0, (p, q) => {
      o[q] = xs[p];
    });
  }

  matmul(a: View, b: View, out: BufferHandle): void {
    const nd = a.shape.length;
    const M = a.shape[nd - 2], K = a.shape[nd - 1], N = b.shape[nd - 1];
    const o = arr(out) as Float32Array;
    const as = arr(a.buffer) as Float32Array, bs = arr(b.buffer) as Float32Array;
    const rsA = a.strides[nd - 2], csA = a.strides[nd - 1];
    const rsB = b.strides[nd - 2], csB = b.strides[nd - 1];
    let i = 0;
    const one = (pa: number, pb: number) => {
      const call: GemmCall = {
        M,
        N,
        K,
        a: { data: as, offset: pa, rowStride: rsA, colStride: csA },
        b: { data: bs, offset: pb, rowStride: rsB, colStride: csB },
        c: { data: o, offset: i++ * M * N, ld: N },
        accumulate: false,
      };
      if (!(this.simd && simd.tryGemm(call))) gemmScalar(call);
    };
    const bsA = a.strides.slice(0, nd - 2), bsB = b.strides.slice(0, nd - 2);
    walk3(a.shape.slice(0, nd - 2), bsA, a.offset, bsB, b.offset, ZERO, 0, one);
  }

  #linear(x: View, w: View, b: View | null, out: Float32Array): void {
    const [M, K] = x.shape, N = w.shape[0];
    if (this.simd) {
      // Start from the bias rows and accumulate x·Wᵀ on top (Wᵀ is W read
      // with its strides swapped).
      if (b) {
        const bs = arr(b.buffer), st = b.strides[0];
        for (let j = 0; j < N; j++) out[j] = bs[b.offset + j * st];
        for (let i = 1; i < M; i++) out.copyWithin(i * N, 0, N);
      }
      const c = { data: out, offset: 0, ld: N };
      const call = { M, N, K, a: operandOf(x), b: operandOf(w, true), c, accumulate: b !== null };
      if (simd.tryGemm(call)) return;
    }
    linearScalar(x, w, b, out);
  }

  gather(x: View, index: View, out: BufferHandle): void {
    const xs = arr(x.buffer), is = arr(index.buffer), o = arr(out);
    const rows = x.shape[0], rest = x.shape.slice(1);
    const n = index.shape[0], inner = numel(rest);
    for (let r = 0; r < n; r++) {
      const k = is[index.offset + r * (index.strides[0] ?? 0)];
      if (k < 0 || k >= rows) {
        throw new RangeError(`index ${k} is out of range for ${rows} rows`);
      }
      let j = r * inner;
      walk3(rest, x.strides.slice(1), x.offset + k * x.strides[0], ZERO, 0, ZERO, 0, (p) => {
        o[j++] = xs[p];
      });
    }
  }

  scatterAdd(out: View, index: View, src: View): void {
    const o = arr(out.buffer), is = arr(index.buffer), ss = arr(src.buffer);
    const n = index.shape[0], rest = src.shape.slice(1);
    for (let r = 0; r < n; r++) {
      const k = is[index.offset + r * (index.strides[0] ?? 0)];
      walk3(
        rest,
        src.strides.slice(1),
        src.offset + r * src.strides[0],
        out.strides.slice(1),
        out.offset + k * out.strides[0],
        ZERO,
        0,
        (p, q) => {
          o[q] += ss[p];
        },
      );
    }
  }
}
