/**
 * `Embedding`: a lookup table of learned vectors.
 *
 * @module
 */

import type { Tensor } from "../tensor/mod.ts";
import { Module } from "./module.ts";
import { normalParameter } from "./init.ts";
import { _checkIndexRange, _checkSize } from "./checks.ts";

/**
 * Options of {@link Embedding}.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * const opts: nn.EmbeddingOptions = { backend: "cpu" };
 * new nn.Embedding(10, 4, opts);
 * ```
 */
export interface EmbeddingOptions {
  /** Backend for the table; the default backend when omitted. */
  backend?: string;
}

/**
 * Maps int32 indices to rows of `weight` [numEmbeddings, embeddingDim],
 * initialised from N(0, 1) like PyTorch. The gradient adds into the rows
 * that were used.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "../mod.ts";
 * const emb = new nn.Embedding(10, 4);
 * const ids = tensor([[1, 2], [3, 1]], { dtype: "int32" });
 * console.log(emb.forward(ids).shape); // [2, 2, 4]
 * ```
 */
export class Embedding extends Module {
  /** The table, [numEmbeddings, embeddingDim]. */
  weight: Tensor;
  /** Number of rows. */
  readonly numEmbeddings: number;
  /** Size of each vector. */
  readonly embeddingDim: number;

  /**
   * @param numEmbeddings Number of rows (a positive integer).
   * @param embeddingDim Size of each vector (a positive integer).
   * @param opts `{ backend? }`.
   * @throws {TypeError} When a size is not a number.
   * @throws {RangeError} When a size is not a positive integer.
   */
  constructor(numEmbeddings: number, embeddingDim: number, opts: EmbeddingOptions = {}) {
    super();
    _checkSize("Embedding", "numEmbeddings", numEmbeddings);
    _checkSize("Embedding", "embeddingDim", embeddingDim);
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    this.weight = normalParameter([numEmbeddings, embeddingDim], 0, 1, opts);
  }

  /**
   * @param indices int32 indices of any shape, each in [0, numEmbeddings).
   * @returns The rows, shape [...indices.shape, embeddingDim].
   * @throws {TypeError} When `indices` is not int32.
   * @throws {RangeError} When an index is out of range (checked where the
   *   backend can read synchronously, i.e. the CPU).
   */
  override forward(indices: Tensor): Tensor {
    if (indices.dtype !== "int32") {
      throw new TypeError(`Embedding: indices must be int32, got ${indices.dtype}`);
    }
    _checkIndexRange("Embedding: index", indices, this.numEmbeddings);
    const flat = indices.ndim === 1 ? indices : indices.reshape([indices.size]);
    // `flat` is kept for backward (the gradient scatter-adds by it).
    const rows = this.weight.indexSelect(0, flat);
    if (indices.ndim === 1) return rows;
    return rows.reshape([...indices.shape, this.embeddingDim]);
  }
}
