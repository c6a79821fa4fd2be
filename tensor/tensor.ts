/**
 * The Tensor: a view (shape, strides, offset, dtype) of reference-counted
 * backend storage, with autograd bookkeeping. The op methods delegate to
 * `ops.ts`; this file holds identity, lifetime and readback.
 *
 * @module
 */
import type { Backend, DType, TypedArray, UnaryOp, View } from "../backends/backend.ts";
import { initBackend } from "../backends/registry.ts";
import { backward, type GradNode } from "./autograd.ts";
import { type Storage, track, untrack } from "./memory.ts";
import {
  contiguousStrides,
  describe,
  fmtShape,
  isContiguous,
  keepdimOf,
  normDims,
  numel,
} from "./shape.ts";
import * as ops from "./ops.ts";

/** A nested array of numbers, as `toArray()` returns and `tensor()` takes. */
export type NestedArray = number | NestedArray[];

/** Something a binary op accepts on its right: a tensor or a number. */
export type TensorLike = Tensor | number;

/** Options of the reductions that can keep reduced dims. */
export interface ReduceOptions {
  /** Keep each reduced dim with size 1. */
  keepdim?: boolean;
}

/** An n-dimensional array on a backend, with reverse-mode autograd. */
export class Tensor {
  #storage: Storage;
  #shape: readonly number[];
  #strides: readonly number[];
  #offset: number;
  #requiresGrad = false;
  #disposed = false;
  #released = false;
  #node: GradNode | null = null;
  /** Accumulated gradient (owned by this tensor), or null. */
  grad: Tensor | null = null;

  /**
   * Low-level: a view of `storage`. Users make tensors with `tensor()`,
   * `zeros()` and the other factories.
   */
  constructor(
    storage: Storage,
    shape: readonly number[],
    strides: readonly number[] = contiguousStrides(shape),
    offset = 0,
  ) {
    this.#storage = storage;
    this.#shape = Object.freeze([...shape]);
    this.#strides = Object.freeze([...strides]);
    this.#offset = offset;
    storage.retain();
    track(this, storage.backend.name);
  }

  #live(): Storage {
    if (this.#disposed) {
      throw new Error(
        `Tensor of shape ${fmtShape(this.#shape)} was disposed and cannot be used`,
      );
    }
    return this.#storage;
  }

  /** Sizes of each dimension. */
  get shape(): readonly number[] {
    return this.#shape;
  }
  /** Element steps per dimension (0 where broadcast). */
  get strides(): readonly number[] {
    return this.#strides;
  }
  /** Position of the first element in the storage. */
  get offset(): number {
    return this.#offset;
  }
  /** Element type. */
  get dtype(): DType {
    return this.#storage.dtype;
  }
  /** Number of elements. */
  get size(): number {
    return numel(this.#shape);
  }
  /** Number of dimensions. */
  get ndim(): number {
    return this.#shape.length;
  }
  /** Name of the backend holding the storage. */
  get backend(): string {
    return this.#storage.backend.name;
  }
  /** True once `dispose()` ran. */
  get isDisposed(): boolean {
    return this.#disposed;
  }
  /** True when dense row-major. */
  get isContiguous(): boolean {
    return isContiguous(this.#shape, this.#strides);
  }
  /** True when no op made this tensor (a leaf of the graph). */
  get isLeaf(): boolean {
    return this.#node === null;
  }
  /** Whether gradients flow to/through this tensor. */
  get requiresGrad(): boolean {
    return this.#requiresGrad;
  }
  set requiresGrad(on: boolean) {
    if (typeof on !== "boolean") {
      throw new TypeError(`requiresGrad must be set to a boolean, got ${describe(on)}`);
    }
    if (on && this.dtype !== "float32") {
      throw new TypeError(
        `requiresGrad needs a float32 tensor, got ${this.dtype} of shape ${fmtShape(this.#shape)}`,
      );
    }
    this.#requiresGrad = on;
  }

  /** Internal: the recorded op that made this tensor. */
  get _node(): GradNode | null {
    return this.#node;
  }
  /** Internal: attaches a graph node (autograd only). */
  _setNode(node: GradNode): void {
    this.#node = node;
    this.#requiresGrad = true;
  }
  /** Internal: how many returned graphs a scope left this alive for. */
  _graphOwners = 0;
  #held: Tensor[] = [];
  /** Internal: keeps `t` alive for this tensor's graph (see `scope`). */
  _hold(t: Tensor): void {
    t._graphOwners++;
    this.#held.push(t);
  }
  /** Internal: lets go of what `_hold` kept; frees what nothing else holds. */
  _releaseHeld(): void {
    const held = this.#held;
    this.#held = [];
    for (const t of held) if (--t._graphOwners === 0 && !t.isDisposed) t.dispose();
  }
  /** Internal: tensors this tensor's graph node still needs. */
  *_graphRefs(): Iterable<Tensor> {
    if (!this.#node) return;
    yield* this.#node.inputs;
    for (const v of Object.values(this.#node.saved)) {
      if (v instanceof Tensor && v !== this) yield v;
    }
  }
  /** Internal: drops the graph behind this tensor after backward. */
  _releaseGraph(): void {
    if (this.#node) this.#released = true;
    this.#node = null;
  }
  /** Internal: throws when backward already freed this graph. */
  _checkGraph(): void {
    if (this.#released) {
      throw new Error(
        "backward(): the graph was already freed by an earlier backward(); " +
          "pass { retainGraph: true } to the first call to go back through it twice",
      );
    }
  }
  /** Internal: the backend, checking the tensor is live. */
  get _backend(): Backend {
    return this.#live().backend;
  }
  /** Internal: the storage, checking the tensor is live. */
  get _storage(): Storage {
    return this.#live();
  }
  /** Internal: the strided view the backend reads. */
  _view(): View {
    const s = this.#live();
    return {
      buffer: s.buffer,
      dtype: s.dtype,
      shape: this.#shape,
      strides: this.#strides,
      offset: this.#offset,
    };
  }
  /** Internal: ones of this shape on this backend. */
  _onesLike(): Tensor {
    return ops.full(this.#shape, 1, this.dtype, this._backend);
  }

  /**
   * Frees this view; storage goes when its last view goes. Also frees the
   * gradient this tensor owns. Disposing twice is harmless.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    // Intermediates a scope left alive for this tensor's backward() go with it.
    this._releaseHeld();
    // The graph node stays: a disposed intermediate still links its inputs
    // to the ops that consumed it.
    this.grad?.dispose();
    this.grad = null;
    untrack(this.#storage.backend.name);
    this.#storage.release();
  }
  /** `using t = …` disposes at scope end. */
  [Symbol.dispose](): void {
    this.dispose();
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
    this.#live();
    backward(this, gradOutput, opts.retainGraph ?? false);
  }

  /** A fresh contiguous copy of the elements, read back from the backend. */
  async data(): Promise<TypedArray> {
    const s = this.#live();
    if (this.isContiguous) {
      const all = await s.backend.read(s.buffer, s.dtype, this.#offset + this.size);
      return this.#offset === 0 ? all : all.slice(this.#offset);
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
    return nest(await this.data(), this.#shape);
  }

  /**
   * The single value of a one-element tensor.
   *
   * @throws {RangeError} when the tensor has more than one element.
   */
  async item(): Promise<number> {
    this.#live();
    if (this.size !== 1) {
      throw new RangeError(
        `item() needs exactly one element, got shape ${fmtShape(this.#shape)}`,
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
    const s = this.#live();
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
  async to(backendName: string): Promise<Tensor> {
    const target = await initBackend(backendName);
    const data = await this.data();
    return ops.fromData(data, this.#shape, target);
  }

  /** Element-wise sum, broadcasting. */
  add(other: TensorLike): Tensor {
    return ops.binary("add", this, other);
  }
  /** Element-wise difference, broadcasting. */
  sub(other: TensorLike): Tensor {
    return ops.binary("sub", this, other);
  }
  /** Element-wise product, broadcasting. */
  mul(other: TensorLike): Tensor {
    return ops.binary("mul", this, other);
  }
  /** Element-wise true division, broadcasting. */
  div(other: TensorLike): Tensor {
    return ops.binary("div", this, other);
  }
  /** Element-wise power, broadcasting. */
  pow(other: TensorLike): Tensor {
    return ops.binary("pow", this, other);
  }
  /** 1 where equal, else 0 (float32). */
  eq(other: TensorLike): Tensor {
    return ops.compare("eq", this, other);
  }
  /** 1 where less, else 0 (float32). */
  lt(other: TensorLike): Tensor {
    return ops.compare("lt", this, other);
  }
  /** 1 where greater, else 0 (float32). */
  gt(other: TensorLike): Tensor {
    return ops.compare("gt", this, other);
  }
  /** −x. */
  neg(): Tensor {
    return ops.unary("neg", this);
  }
  /** eˣ. */
  exp(): Tensor {
    return ops.unary("exp", this);
  }
  /** Natural log. */
  log(): Tensor {
    return ops.unary("log", this);
  }
  /** Square root. */
  sqrt(): Tensor {
    return ops.unary("sqrt", this);
  }
  /** |x|. */
  abs(): Tensor {
    return ops.unary("abs", this);
  }
  /** max(x, 0). */
  relu(): Tensor {
    return ops.unary("relu", this);
  }
  /** Exact GELU, x·Φ(x) (erf form). */
  gelu(): Tensor {
    return ops.unary("gelu", this);
  }
  /** Hyperbolic tangent. */
  tanh(): Tensor {
    return ops.unary("tanh", this);
  }
  /** Logistic sigmoid. */
  sigmoid(): Tensor {
    return ops.unary("sigmoid", this);
  }
  /** Matrix product with torch.matmul's rules (1-D, 2-D, batched). */
  matmul(other: Tensor): Tensor {
    return ops.matmul(this, other);
  }
  /** Sum over `dim` (all when omitted). */
  sum(dim?: number | readonly number[], opts?: ReduceOptions): Tensor {
    return ops.sum(this, dim, reduceOpts(this, dim, opts, "sum()"));
  }
  /** Mean over `dim` (all when omitted). */
  mean(dim?: number | readonly number[], opts?: ReduceOptions): Tensor {
    return ops.mean(this, dim, reduceOpts(this, dim, opts, "mean()", true));
  }
  /** Maximum over `dim` (all when omitted); values only. */
  max(dim?: number | readonly number[], opts?: ReduceOptions): Tensor {
    return ops.max(this, dim, reduceOpts(this, dim, opts, "max()"));
  }
  /** Index of the maximum along `dim` (int32). */
  argmax(dim: number): Tensor {
    return ops.argmax(this, dim);
  }
  /** Softmax along `dim`. */
  softmax(dim: number): Tensor {
    return ops.softmax(this, dim, false);
  }
  /** Log-softmax along `dim`. */
  logSoftmax(dim: number): Tensor {
    return ops.softmax(this, dim, true);
  }
  /** Same elements, new shape (one entry may be −1); a view when possible. */
  reshape(shape: readonly number[]): Tensor {
    return ops.reshape(this, shape);
  }
  /** Swaps two dims (a view). */
  transpose(dim0: number, dim1: number): Tensor {
    return ops.transpose(this, dim0, dim1);
  }
  /** Reorders dims (a view). */
  permute(dims: readonly number[]): Tensor {
    return ops.permute(this, dims);
  }
  /** Inserts a size-1 dim (a view). */
  unsqueeze(dim: number): Tensor {
    return ops.unsqueeze(this, dim);
  }
  /** Removes size-1 dims (all, or just `dim`) (a view). */
  squeeze(dim?: number): Tensor {
    return ops.squeeze(this, dim);
  }
  /** Broadcasts to `shape` (−1 keeps a size) without copying. */
  expand(shape: readonly number[]): Tensor {
    return ops.expand(this, shape);
  }
  /** `length` entries of `dim` from `start` (a view). */
  narrow(dim: number, start: number, length: number): Tensor {
    return ops.narrow(this, dim, start, length);
  }
  /** Rows (entries of `dim`) picked by an int32 index vector. */
  indexSelect(dim: number, index: Tensor): Tensor {
    return ops.indexSelect(this, dim, index);
  }
  /** A view sharing storage that is cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.#live(), this.#shape, this.#strides, this.#offset);
  }
  /** A contiguous copy that gradients flow through. */
  clone(): Tensor {
    return ops.clone(this);
  }
  /** This tensor if dense row-major, else a contiguous copy. */
  contiguous(): Tensor {
    return this.isContiguous ? ops.alias(this) : ops.clone(this);
  }
  /** A float32 copy (or view when already float32). */
  float(): Tensor {
    return ops.cast(this, "float32");
  }
  /** An int32 copy, truncating toward zero (or view when already int32). */
  int(): Tensor {
    return ops.cast(this, "int32");
  }
  /**
   * Copies `src`'s values into this tensor's storage, in place, outside
   * autograd (for optimizers and loading weights).
   *
   * @throws {RangeError} when `src` does not broadcast to this shape.
   */
  assign(src: TensorLike): this {
    ops.assign(this, src);
    return this;
  }

  /** Internal: an elementwise primitive by name (for gradient rules). */
  _unary(op: UnaryOp): Tensor {
    return ops.unary(op, this);
  }
  /** Internal: adds rows of `src` into the rows `index` of this, in place. */
  _scatterAdd(index: Tensor, src: Tensor): void {
    this._backend.scatterAdd(this._view(), index._view(), src._view());
  }

  /** A short description, e.g. `Tensor(float32 [2,3] cpu)`. */
  toString(): string {
    return `Tensor(${this.dtype} ${fmtShape(this.#shape)} ${this.backend})`;
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
