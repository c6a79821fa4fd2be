/**
 * The backend contract: the only interface the tensor layer calls.
 *
 * A backend owns storage (opaque buffer handles) and a small set of compute
 * primitives that take strided *views* of that storage. Everything else
 * (softmax, mean, losses, …) is composed from these primitives in
 * `tensor/ops.ts`, so a new backend works once it implements this file and
 * gets faster by adding the optional fused paths.
 *
 * Conventions every backend follows:
 * - Sizes, strides and offsets are in elements, never bytes.
 * - Outputs are written to a fresh, contiguous (row-major) buffer made by
 *   `alloc`, except `copy`, whose destination is a strided view.
 * - Inputs of `binary` and `where` arrive already broadcast to the output
 *   shape (a broadcast dimension has stride 0), so a backend never needs to
 *   know the broadcasting rules.
 * - Compute calls are synchronous and may only enqueue work; only `read`
 *   waits for it.
 *
 * @module
 */

/** Element types a tensor can hold. */
export type DType = "float32" | "int32";

/** Typed array matching a {@link DType}. */
export type TypedArray = Float32Array | Int32Array;

/** An opaque storage handle; each backend chooses what it is. */
export type BufferHandle = unknown;

/** A strided view of a backend buffer. */
export interface View {
  /** The storage the view reads. */
  readonly buffer: BufferHandle;
  /** The element type of the storage. */
  readonly dtype: DType;
  /** The logical shape. */
  readonly shape: readonly number[];
  /** Elements to step per index of each dimension (0 for broadcast). */
  readonly strides: readonly number[];
  /** First element's position in the storage. */
  readonly offset: number;
}

/** Elementwise functions of one argument. */
export type UnaryOp =
  | "neg"
  | "exp"
  | "log"
  | "sqrt"
  | "abs"
  | "relu"
  | "tanh"
  | "sigmoid"
  | "gelu"
  | "geluGrad"
  | "sign";

/** Elementwise functions of two arguments. Comparisons give 1 or 0. */
export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "eq"
  | "lt"
  | "gt";

/** Reductions over a set of axes. `argmax` takes exactly one axis. */
export type ReduceOp = "sum" | "max" | "argmax";

/** Arguments of the optional fused Adam/AdamW update. */
export interface AdamArgs {
  /** Learning rate. */
  lr: number;
  /** First-moment decay. */
  beta1: number;
  /** Second-moment decay. */
  beta2: number;
  /** Denominator guard. */
  eps: number;
  /** L2 penalty added to the gradient (Adam). */
  weightDecay: number;
  /** Decoupled decay applied to the parameter (AdamW). */
  decoupledDecay: number;
  /** `1 - beta1^t`. */
  bias1: number;
  /** `1 - beta2^t`. */
  bias2: number;
}

/**
 * Optional fused fast paths. The tensor layer uses one when present and the
 * composed primitives otherwise; tests hold both to the same numbers.
 */
export interface FusedOps {
  /** `out = x·Wᵀ + b` for x [M, K] (any strides), W [N, K], b [N] or null. */
  linear?(x: View, w: View, b: View | null, out: BufferHandle): void;
  /** Row softmax over the last axis of a contiguous [rows, cols] view. */
  softmax?(x: View, out: BufferHandle): void;
  /** Row log-softmax over the last axis of a contiguous [rows, cols] view. */
  logSoftmax?(x: View, out: BufferHandle): void;
  /**
   * The LoRA linear forward: `out = x·Wᵀ + b + scaling·(x·Aᵀ)·Bᵀ` for
   * x [M, K] (any strides), W [N, K], b [N] or null, A [r, K], B [N, r];
   * also writes `down = x·Aᵀ` [M, r] (contiguous), which backward reuses.
   * No [M, N] temporary: the adapter's product accumulates into `out`.
   */
  loraLinear?(
    x: View,
    w: View,
    b: View | null,
    a: View,
    bUp: View,
    scaling: number,
    out: BufferHandle,
    down: BufferHandle,
  ): void;
  /**
   * Row-wise cross-entropy of logits x [rows, C] (dense) against int32
   * targets [rows]: `losses[i] = logsumexp(x[i]) − x[i, t[i]]` and
   * `probs = softmax(x)` (kept for backward). A target outside [0, C)
   * gives a NaN loss for that row; a backend that cannot throw at once
   * reports it by the next read (see {@link Backend.checkedAssign}).
   */
  crossEntropy?(x: View, targets: View, losses: BufferHandle, probs: BufferHandle): void;
  /**
   * Attention, `out = softmax(q·kᵀ·scale + bias)·v` row by row, for
   * q [B, H, T, D], k [B, Hkv, S, D], v [B, Hkv, S, Dv] (any strides; query
   * head h reads key/value head ⌊h·Hkv/H⌋), an additive `bias` view of
   * [B, H, T, S] (stride 0 where broadcast) or null, and with `causalOffset`
   * not null key j hidden from query i when j > i + causalOffset. Writes
   * out [B, H, T, Dv] and lse [B, H, T] (each row's log-sum-exp, for
   * backward), both dense; never holds a [B, H, T, S] tensor.
   */
  attention?(
    q: View,
    k: View,
    v: View,
    bias: View | null,
    scale: number,
    causalOffset: number | null,
    out: BufferHandle,
    lse: BufferHandle,
  ): void;
  /**
   * The gradients of {@link FusedOps.attention} from gOut [B, H, T, Dv]
   * (dense), recomputing the probabilities from `lse`: writes dq
   * [B, H, T, D], dk [B, Hkv, S, D] and dv [B, Hkv, S, Dv], dense.
   */
  attentionBackward?(
    q: View,
    k: View,
    v: View,
    bias: View | null,
    scale: number,
    causalOffset: number | null,
    out: View,
    lse: View,
    gOut: View,
    dq: BufferHandle,
    dk: BufferHandle,
    dv: BufferHandle,
  ): void;
  /** In-place Adam/AdamW on contiguous float32 param, grad, m, v buffers. */
  adam?(
    param: BufferHandle,
    grad: View,
    m: BufferHandle,
    v: BufferHandle,
    size: number,
    args: AdamArgs,
  ): void;
}

/**
 * The parameter list of fused path `K`, for a backend's implementation to
 * take instead of retyping it (`...[x, w, b, out]: FusedArgs<"linear">`).
 */
export type FusedArgs<K extends keyof FusedOps> = Parameters<NonNullable<FusedOps[K]>>;

/**
 * A check a backend runs where the data is and reports later (see
 * {@link Backend.checkedAssign}).
 */
export interface DeferredCheck {
  /** The op, for messages. */
  readonly op: string;
  /** The error to throw when pair `i` is the first that fails. */
  error(i: number): Error;
  /** Undoes the caller's host-side state when nothing was written. */
  onFail(): void;
}

/** The contract every backend implements. */
export interface Backend {
  /** The name it is registered under. */
  readonly name: string;
  /** Optional fused paths (see {@link FusedOps}). */
  readonly fused?: FusedOps;

  // ---- memory ----
  /** A fresh buffer of `size` elements (contents unspecified). */
  alloc(size: number, dtype: DType): BufferHandle;
  /** Copies `data` into the buffer starting at element 0. */
  write(buffer: BufferHandle, data: TypedArray): void;
  /** Reads `size` elements back to the host once queued work is done. */
  read(buffer: BufferHandle, dtype: DType, size: number): Promise<TypedArray>;
  /** Synchronous read where the backend can (the CPU); absent elsewhere. */
  readSync?(buffer: BufferHandle, dtype: DType, size: number): TypedArray;
  /** Releases a buffer; it is never used again. */
  free(buffer: BufferHandle): void;
  /** Resolves when all queued work has finished. */
  sync(): Promise<void>;
  /** Live buffers and their bytes. */
  stats(): { buffers: number; bytes: number };

  // ---- compute ----
  /** `out[i] = op(x[i])`; out contiguous with x's shape and dtype. */
  unary(op: UnaryOp, x: View, out: BufferHandle): void;
  /** `out[i] = op(a[i], b[i])`; a, b of one dtype, broadcast to out's shape. */
  binary(op: BinaryOp, a: View, b: View, out: BufferHandle): void;
  /** `out[i] = cond[i] != 0 ? a[i] : b[i]`, all views of out's shape. */
  where(cond: View, a: View, b: View, out: BufferHandle): void;
  /** Converts dtype (float → int truncates toward zero). */
  cast(x: View, dtype: DType, out: BufferHandle): void;
  /**
   * Reduces over `axes` (sorted, unique); out is contiguous with x's shape
   * where each reduced axis has size 1. `argmax` writes int32 indices.
   */
  reduce(op: ReduceOp, x: View, axes: readonly number[], out: BufferHandle): void;
  /** Copies a strided view into a strided view of the same shape. */
  copy(x: View, out: View): void;
  /**
   * Batched matmul: a [...batch, M, K] times b [...batch, K, N] into a
   * contiguous out [...batch, M, N]. Batch dims are already broadcast
   * (stride 0) and the last two dims may have any strides, so transposed
   * operands need no copy.
   */
  matmul(a: View, b: View, out: BufferHandle): void;
  /** Rows of x [R, …] picked by int32 `index` [n]: out [n, …] contiguous. */
  gather(x: View, index: View, out: BufferHandle): void;
  /** Adds the rows of src [n, …] into the rows `index` [n] of out (in place). */
  scatterAdd(out: View, index: View, src: View): void;

  /**
   * Optional, for backends without `readSync`: copies each float32 source
   * into its destination, all or none. When a source holds a non-finite
   * value nothing is written, and the next `read` or `sync` throws
   * `check.error(i)` for the first such pair after calling `check.onFail()`
   * (as CUDA's device-side assert reports at the next synchronisation).
   * Backends that read synchronously need not implement it: the tensor
   * layer checks on the host before writing.
   */
  checkedAssign?(pairs: readonly (readonly [src: View, dst: View])[], check: DeferredCheck): void;
}

/** Makes a backend; called once, on first use. */
export type BackendFactory = () => Backend | Promise<Backend>;
