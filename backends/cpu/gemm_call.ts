/**
 * One description of a GEMM call, `C[M×N] (+)= A[M×K]·B[K×N]` with operands
 * at any element strides, shared by every CPU path: the scalar loops
 * (`ops_matmul.ts`), the Wasm SIMD kernels on one or two threads
 * (`wasm/calls.ts`, `wasm/gemm.ts`, the worker's task message) and the
 * fused linear layers. The storage type `S` is a `Float32Array` on the
 * host side and a byte address into the Wasm heap on the Wasm side; sizes,
 * offsets and strides are always in elements.
 *
 * Package-internal: nothing here is exported from `backends/mod.ts`.
 *
 * @module
 */
import type { View } from "../backend.ts";

/** A matrix operand: element (i, j) is at `offset + i·rowStride + j·colStride`. */
export interface GemmOperand<S> {
  /** The storage (a host array, or the byte address of element 0). */
  readonly data: S;
  /** Position of element (0, 0), in elements from `data`'s start. */
  readonly offset: number;
  /** Elements between consecutive rows (any integer, 0 for broadcast). */
  readonly rowStride: number;
  /** Elements between consecutive columns. */
  readonly colStride: number;
}

/** The output: row-major, element (i, j) at `offset + i·ld + j`. */
export interface GemmOutput<S> {
  /** The storage (a host array, or the byte address of element 0). */
  readonly data: S;
  /** Position of element (0, 0), in elements from `data`'s start. */
  readonly offset: number;
  /** Leading dimension: elements between rows of C (at least N). */
  readonly ld: number;
}

/** `C[M×N] (+)= A[M×K]·B[K×N]`. */
export interface GemmCall<S = Float32Array> {
  /** Rows of A and C. */
  readonly M: number;
  /** Columns of B and C. */
  readonly N: number;
  /** Columns of A, rows of B. */
  readonly K: number;
  /** The left operand. */
  readonly a: GemmOperand<S>;
  /** The right operand. */
  readonly b: GemmOperand<S>;
  /** The output. */
  readonly c: GemmOutput<S>;
  /** Add A·B to C (true) or overwrite C (false). */
  readonly accumulate: boolean;
}

/** A {@link GemmCall} whose storage is byte addresses in the Wasm heap. */
export type HeapGemmCall = GemmCall<number>;

/**
 * The operand of a 2-D float32 view, or of its transpose (`transpose`
 * swaps the strides, so a weight [N, K] serves as Wᵀ [K, N] without a
 * copy).
 */
export function operandOf(v: View, transpose = false): GemmOperand<Float32Array> {
  const [r, c] = v.strides;
  return {
    data: v.buffer as Float32Array,
    offset: v.offset,
    rowStride: transpose ? c : r,
    colStride: transpose ? r : c,
  };
}

/** Byte address of element `i` of a Wasm-heap operand or output. */
export function byteAddress(x: { readonly data: number; readonly offset: number }, i = 0): number {
  return x.data + (x.offset + i) * 4;
}
