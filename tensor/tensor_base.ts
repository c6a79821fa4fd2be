/**
 * The Tensor's identity and lifetime: a view (shape, strides, offset,
 * dtype) of reference-counted storage, its autograd bookkeeping and its
 * disposal. `tensor.ts` extends it with readback and the op methods.
 *
 * @module
 */
import type { Backend, DType, View } from "../backends/backend.ts";
import type { GradNode } from "./graph.ts";
import { type Storage, track, untrack } from "./memory.ts";
import { contiguousStrides, describe, fmtShape, isContiguous, numel } from "./shape.ts";
import type { Tensor } from "./tensor.ts";

/** The part of a Tensor every op relies on; see `Tensor`. */
export class TensorBase {
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

  /** Internal: the storage, throwing when this view was disposed. */
  protected _live(): Storage {
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
      if (v instanceof TensorBase && v !== this) yield v as Tensor;
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
    return this._live().backend;
  }
  /** Internal: the storage, checking the tensor is live. */
  get _storage(): Storage {
    return this._live();
  }
  /** Internal: the strided view the backend reads. */
  _view(): View {
    const s = this._live();
    return {
      buffer: s.buffer,
      dtype: s.dtype,
      shape: this.#shape,
      strides: this.#strides,
      offset: this.#offset,
    };
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
}
