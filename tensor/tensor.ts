/**
 * The Tensor: `TensorBase` (identity, lifetime, graph bookkeeping) plus
 * readback and the op methods. The methods delegate to the functions of the
 * op files through {@link TensorOps}, which `tensor/install.ts` fills in
 * when the package loads, so this class imports no op by value, and the op
 * files import it (for `new Tensor` and `instanceof`) without a cycle.
 *
 * @module
 */
import type { Backend, DType, TypedArray, UnaryOp } from "../backends/backend.ts";
import { TensorBase } from "./tensor_base.ts";
import { fmtShape, keepdimOf, normDims } from "./shape.ts";

/** A nested array of numbers, as `toArray()` returns and `tensor()` takes. */
export type NestedArray = number | NestedArray[];

/** Something a binary op accepts on its right: a tensor or a number. */
export type TensorLike = Tensor | number;

/** Options of the reductions that can keep reduced dims. */
export interface ReduceOptions {
  /** Keep each reduced dim with size 1. */
  keepdim?: boolean;
}

/**
 * Package-internal: the op functions the methods call (one per method
 * family), installed once by `tensor/install.ts`.
 */
export interface TensorOps {
  binary(op: "add" | "sub" | "mul" | "div" | "pow", x: Tensor, y: TensorLike): Tensor;
  compare(op: "eq" | "lt" | "gt", x: Tensor, y: TensorLike): Tensor;
  unary(op: UnaryOp, x: Tensor): Tensor;
  matmul(a: Tensor, b: Tensor): Tensor;
  sum(x: Tensor, dim: number | readonly number[] | undefined, keepdim: boolean): Tensor;
  mean(x: Tensor, dim: number | readonly number[] | undefined, keepdim: boolean): Tensor;
  max(x: Tensor, dim: number | readonly number[] | undefined, keepdim: boolean): Tensor;
  argmax(x: Tensor, dim: number): Tensor;
  softmax(x: Tensor, dim: number, log: boolean): Tensor;
  reshape(t: Tensor, shape: readonly number[]): Tensor;
  transpose(t: Tensor, dim0: number, dim1: number): Tensor;
  permute(t: Tensor, dims: readonly number[]): Tensor;
  unsqueeze(t: Tensor, dim: number): Tensor;
  squeeze(t: Tensor, dim?: number): Tensor;
  expand(t: Tensor, shape: readonly number[]): Tensor;
  narrow(t: Tensor, dim: number, start: number, length: number): Tensor;
  indexSelect(t: Tensor, dim: number, index: Tensor): Tensor;
  clone(t: Tensor): Tensor;
  alias(t: Tensor): Tensor;
  cast(t: Tensor, dtype: DType): Tensor;
  assign(t: Tensor, src: TensorLike): void;
  full(shape: readonly number[], value: number, dtype: DType, backend: Backend): Tensor;
  copyTo(t: Tensor, backendName: string): Promise<Tensor>;
  backward(root: Tensor, gradOutput: Tensor | undefined, retainGraph: boolean): void;
}

let installed: TensorOps | null = null;

/** Package-internal: installs the op functions (once, from `tensor/install.ts`). */
export function _installOps(impl: TensorOps): void {
  installed = impl;
}

function ops(): TensorOps {
  if (!installed) {
    throw new Error("the tensor ops are not installed: import the library from its mod.ts");
  }
  return installed;
}

/** An n-dimensional array on a backend, with reverse-mode autograd. */
export class Tensor extends TensorBase {
  /** Internal: ones of this shape on this backend. */
  _onesLike(): Tensor {
    return ops().full(this.shape, 1, this.dtype, this._backend);
  }

  /**
   * Backpropagates from this tensor, accumulating into leaves' `.grad`.
   *
   * @param gradOutput Gradient of the final value w.r.t. this tensor (not
   *   needed for a scalar).
   * @param opts `retainGraph` keeps the graph for another backward.
   * @throws {RangeError} for a non-scalar without `gradOutput`.
   */
  backward(gradOutput?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    this._live();
    ops().backward(this, gradOutput, opts.retainGraph ?? false);
  }

  /** A fresh contiguous copy of the elements, read back from the backend. */
  async data(): Promise<TypedArray> {
    const s = this._live();
    if (this.isContiguous) {
      const all = await s.backend.read(s.buffer, s.dtype, this.offset + this.size);
      return this.offset === 0 ? all : all.slice(this.offset);
    }
    const c = this.contiguous();
    try {
      return await c.data();
    } finally {
      c.dispose();
    }
  }

  /** The elements as nested arrays (a number for a scalar). */
  async toArray(): Promise<NestedArray> {
    return nest(await this.data(), this.shape);
  }

  /**
   * The single value of a one-element tensor.
   *
   * @throws {RangeError} when the tensor has more than one element.
   */
  async item(): Promise<number> {
    this._live();
    if (this.size !== 1) {
      throw new RangeError(
        `item() needs exactly one element, got shape ${fmtShape(this.shape)}`,
      );
    }
    return (await this.data())[0];
  }

  /**
   * Synchronous readback, where the backend can (the CPU backend).
   *
   * @throws {Error} on a backend whose reads are asynchronous.
   */
  dataSync(): TypedArray {
    const s = this._live();
    if (!s.backend.readSync) {
      throw new Error(
        `dataSync() is only available on the CPU backend; this tensor lives on "${s.backend.name}": use await t.data()`,
      );
    }
    const c = this.isContiguous ? this : this.contiguous();
    const all = s.backend.readSync(c._storage.buffer, s.dtype, c.offset + c.size);
    if (c !== this) c.dispose();
    return c.offset === 0 ? all : all.slice(c.offset);
  }

  /**
   * Copies to another backend (async: reading back is).
   *
   * @param backendName A registered backend's name.
   * @returns A new tensor there (no graph).
   */
  to(backendName: string): Promise<Tensor> {
    return ops().copyTo(this, backendName);
  }

  /** Element-wise sum, broadcasting. */
  add(other: TensorLike): Tensor {
    return ops().binary("add", this, other);
  }
  /** Element-wise difference, broadcasting. */
  sub(other: TensorLike): Tensor {
    return ops().binary("sub", this, other);
  }
  /** Element-wise product, broadcasting. */
  mul(other: TensorLike): Tensor {
    return ops().binary("mul", this, other);
  }
  /** Element-wise true division, broadcasting. */
  div(other: TensorLike): Tensor {
    return ops().binary("div", this, other);
  }
  /** Element-wise power, broadcasting. */
  pow(other: TensorLike): Tensor {
    return ops().binary("pow", this, other);
  }
  /** 1 where equal, else 0 (float32). */
  eq(other: TensorLike): Tensor {
    return ops().compare("eq", this, other);
  }
  /** 1 where less, else 0 (float32). */
  lt(other: TensorLike): Tensor {
    return ops().compare("lt", this, other);
  }
  /** 1 where greater, else 0 (float32). */
  gt(other: TensorLike): Tensor {
    return ops().compare("gt", this, other);
  }
  /** −x. */
  neg(): Tensor {
    return ops().unary("neg", this);
  }
  /** eˣ. */
  exp(): Tensor {
    return ops().unary("exp", this);
  }
  /** Natural log. */
  log(): Tensor {
    return ops().unary("log", this);
  }
  /** Square root. */
  sqrt(): Tensor {
    return ops().unary("sqrt", this);
  }
  /** |x|. */
  abs(): Tensor {
    return ops().unary("abs", this);
  }
  /** max(x, 0). */
  relu(): Tensor {
    return ops().unary("relu", this);
  }
  /** Exact GELU, x·Φ(x) (erf form). */
  gelu(): Tensor {
    return ops().unary("gelu", this);
  }
  /** Hyperbolic tangent. */
  tanh(): Tensor {
    return ops().unary("tanh", this);
  }
  /** Logistic sigmoid. */
  sigmoid(): Tensor {
    return ops().unary("sigmoid", this);
  }
  /** Matrix product with torch.matmul's rules (1-D, 2-D, batched). */
  matmul(other: Tensor): Tensor {
    return ops().matmul(this, other);
  }
  /** Sum over `dim` (all when omitted). */
  sum(dim?: number | readonly number[], opts?: ReduceOptions): Tensor {
    return ops().sum(this, dim, reduceOpts(this, dim, opts, "sum()"));
  }
  /** Mean over `dim` (all when omitted). */
  mean(dim?: number | readonly number[], opts?: ReduceOptions): Tensor {
    return ops().mean(this, dim, reduceOpts(this, dim, opts, "mean()", true));
  }
  /** Maximum over `dim` (all when omitted); values only. */
  max(dim?: number | readonly number[], opts?: ReduceOptions): Tensor {
    return ops().max(this, dim, reduceOpts(this, dim, opts, "max()"));
  }
  /** Index of the maximum along `dim` (int32). */
  argmax(dim: number): Tensor {
    return ops().argmax(this, dim);
  }
  /** Softmax along `dim`. */
  softmax(dim: number): Tensor {
    return ops().softmax(this, dim, false);
  }
  /** Log-softmax along `dim`. */
  logSoftmax(dim: number): Tensor {
    return ops().softmax(this, dim, true);
  }
  /** Same elements, new shape (one entry may be −1); a view when possible. */
  reshape(shape: readonly number[]): Tensor {
    return ops().reshape(this, shape);
  }
  /** Swaps two dims (a view). */
  transpose(dim0: number, dim1: number): Tensor {
    return ops().transpose(this, dim0, dim1);
  }
  /** Reorders dims (a view). */
  permute(dims: readonly number[]): Tensor {
    return ops().permute(this, dims);
  }
  /** Inserts a size-1 dim (a view). */
  unsqueeze(dim: number): Tensor {
    return ops().unsqueeze(this, dim);
  }
  /** Removes size-1 dims (all, or just `dim`) (a view). */
  squeeze(dim?: number): Tensor {
    return ops().squeeze(this, dim);
  }
  /** Broadcasts to `shape` (−1 keeps a size) without copying. */
  expand(shape: readonly number[]): Tensor {
    return ops().expand(this, shape);
  }
  /** `length` entries of `dim` from `start` (a view). */
  narrow(dim: number, start: number, length: number): Tensor {
    return ops().narrow(this, dim, start, length);
  }
  /** Rows (entries of `dim`) picked by an int32 index vector. */
  indexSelect(dim: number, index: Tensor): Tensor {
    return ops().indexSelect(this, dim, index);
  }
  /** A view sharing storage that is cut from the graph. */
  detach(): Tensor {
    return new Tensor(this._live(), this.shape, this.strides, this.offset);
  }
  /** A contiguous copy that gradients flow through. */
  clone(): Tensor {
    return ops().clone(this);
  }
  /** This tensor if dense row-major, else a contiguous copy. */
  contiguous(): Tensor {
    return this.isContiguous ? ops().alias(this) : ops().clone(this);
  }
  /** A float32 copy (or view when already float32). */
  float(): Tensor {
    return ops().cast(this, "float32");
  }
  /** An int32 copy, truncating toward zero (or view when already int32). */
  int(): Tensor {
    return ops().cast(this, "int32");
  }
  /**
   * Copies `src`'s values into this tensor's storage, in place, outside
   * autograd (for optimizers and loading weights).
   *
   * @throws {RangeError} when `src` does not broadcast to this shape.
   */
  assign(src: TensorLike): this {
    ops().assign(this, src);
    return this;
  }

  /** Internal: an elementwise primitive by name (for gradient rules). */
  _unary(op: UnaryOp): Tensor {
    return ops().unary(op, this);
  }
  /** Internal: adds rows of `src` into the rows `index` of this, in place. */
  _scatterAdd(index: Tensor, src: Tensor): void {
    this._backend.scatterAdd(this._view(), index._view(), src._view());
    this._storage.version++;
  }

  /** A short description, e.g. `Tensor(float32 [2,3] cpu)`. */
  override toString(): string {
    return `Tensor(${this.dtype} ${fmtShape(this.shape)} ${this.backend})`;
  }
}

/** Checks a reduction's arguments in order (dims, then options); returns keepdim. */
function reduceOpts(t: Tensor, dim: unknown, opts: unknown, what: string, float = false): boolean {
  if (float && t.dtype !== "float32") {
    throw new TypeError(
      `${what} needs a float32 tensor, got ${t.dtype} of shape ${fmtShape(t.shape)}`,
    );
  }
  normDims(dim as number | number[] | undefined, t.ndim, what);
  return keepdimOf(opts, what);
}

function nest(data: TypedArray, shape: readonly number[]): NestedArray {
  if (shape.length === 0) return data[0];
  let pos = 0;
  const build = (d: number): NestedArray[] => {
    const out: NestedArray[] = [];
    for (let i = 0; i < shape[d]; i++) {
      out.push(d === shape.length - 1 ? data[pos++] : build(d + 1));
    }
    return out;
  };
  return build(0);
}
