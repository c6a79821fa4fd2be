/**
 * `LoraEmbedding`: a frozen `nn.Embedding` plus low-rank updates to its
 * table, as PEFT's `lora.Embedding` (A and B swapped against a Linear's:
 * `lora_embedding_A` [r, num] starts at zero, `lora_embedding_B` [dim, r]
 * from N(0, 1)).
 *
 * @module
 */

import type { Tensor } from "../tensor/mod.ts";
import { Embedding } from "../nn/mod.ts";
import { _linearAnyDims } from "../nn/linear.ts";
import { _checkAdapterOptions, LoraAdapter, type LoraAdapterOptions } from "./adapter.ts";
import { DEFAULT_ADAPTER, LoraLayer } from "./lora_layer.ts";
import { _doraWeightNorm } from "./dora.ts";
import { _routedForward } from "./_routed_forward.ts";

/**
 * A LoRA-adapted embedding. Parameters: `base.weight` [num, dim] (frozen by
 * `lora.wrap`), the `"default"` adapter's `loraEmbeddingA` [rank, num]
 * (zeros, so a fresh layer looks up exactly what `base` does) and
 * `loraEmbeddingB` [dim, rank],
 * `loraMagnitude` [dim] with DoRA, and other adapters under
 * `adapters.<name>`. Row i of the table gains `scaling · (B·A)ᵀ[i]`.
 *
 * @example
 * ```ts
 * import { lora, nn, tensor } from "../mod.ts";
 * const emb = new lora.LoraEmbedding(new nn.Embedding(10, 4), { rank: 2, alpha: 2 });
 * console.log(emb.loraEmbeddingA.shape, emb.loraEmbeddingB.shape); // [2, 10] [4, 2]
 * console.log(emb.forward(tensor([[1, 2]], { dtype: "int32" })).shape); // [1, 2, 4]
 * ```
 */
export class LoraEmbedding extends LoraLayer {
  /** The adapted embedding. */
  declare base: Embedding;
  /** The `"default"` adapter's A, [rank, num] (PEFT's `lora_embedding_A`; undefined on a layer without one). */
  declare loraEmbeddingA: Tensor;
  /** The `"default"` adapter's B, [dim, rank] (PEFT's `lora_embedding_B`). */
  declare loraEmbeddingB: Tensor;

  /**
   * @param base The embedding to adapt (kept as `base`, not copied).
   * @param opts The first adapter's `{ rank, alpha, rsLora?, useDora? }`
   *   (PEFT applies no dropout to embeddings; `init` does not change how an
   *   embedding adapter starts).
   * @param adapterName The first adapter's name (default `"default"`).
   * @throws {TypeError} When `base` is not an `nn.Embedding`, or an option has the wrong type.
   * @throws {RangeError} When rank is not a positive integer or alpha not finite.
   */
  constructor(base: Embedding, opts: LoraAdapterOptions, adapterName = DEFAULT_ADAPTER) {
    if (!(base instanceof Embedding)) {
      throw new TypeError(`LoraEmbedding: base must be an nn.Embedding, got ${base}`);
    }
    _checkAdapterOptions("LoraEmbedding", opts);
    super(base, ["loraEmbeddingA", "loraEmbeddingB"]);
    if (!base.training) this.eval();
    this._addAdapter(adapterName, opts);
    this._setActive([adapterName]);
  }

  /** The table with one row per vector component, [dim, num] (a view). */
  override _rowWeight(): Tensor {
    return this.base.weight.transpose(0, 1);
  }

  /** [dim, num] rows back to the table's [num, dim]. */
  override _fromRows(rows: Tensor): Tensor {
    return rows.transpose(0, 1);
  }

  /** A fresh adapter sized for this table. */
  override _newAdapter(opts: LoraAdapterOptions): LoraAdapter {
    const { numEmbeddings, embeddingDim } = this.base;
    return new LoraAdapter(
      "embedding",
      numEmbeddings,
      embeddingDim,
      opts,
      this.base.weight.backend,
    );
  }

  /**
   * @param indices int32 indices of any shape, each in [0, numEmbeddings).
   * @returns The rows [...indices.shape, dim], each plus `scaling·(B·A)ᵀ[i]`
   *   per live adapter (DoRA: PEFT's rescaled rows).
   * @throws {TypeError} When `indices` is not int32.
   * @throws {RangeError} When an index is out of range.
   */
  override forward(indices: Tensor): Tensor {
    const routing = this._routing();
    if (routing !== null && this.enabled) {
      return _routedForward(this, indices, routing, (a, ids) => this.#update(a, ids));
    }
    const live = this._live();
    let result = this.base.forward(indices);
    for (const a of live) {
      if (!a.useDora) {
        result = result.add(this.#update(a, indices));
        continue;
      }
      // PEFT: result ← c·result + c·s·embed(x, Aᵀ)·Bᵀ with c = m / ‖Wᵀ + s·B·A‖.
      const norm = _doraWeightNorm(
        this._rowWeight(),
        a.loraA,
        a.loraB,
        a.scaling,
        this._rowSquares(),
      );
      const factor = a.loraMagnitude!.div(norm);
      result = result.mul(factor).add(this.#update(a, indices).mul(factor));
    }
    return result;
  }

  /** `scaling · Aᵀ[ids] · Bᵀ`, shaped [...ids.shape, dim]. */
  #update(a: LoraAdapter, ids: Tensor): Tensor {
    const flat = ids.ndim === 1 ? ids : ids.reshape([ids.size]);
    const down = a.loraA.transpose(0, 1).indexSelect(0, flat);
    let up = _linearAnyDims(down, a.loraB, null);
    if (a.scaling !== 1) up = up.mul(a.scaling);
    return ids.ndim === 1 ? up : up.reshape([...ids.shape, this.base.embeddingDim]);
  }
}
