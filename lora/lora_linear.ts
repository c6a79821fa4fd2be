/**
 * `LoraLinear`: a frozen `nn.Linear` (or transformers' `Conv1D`) plus
 * trainable low-rank updates, `y = base(x) + scaling · (dropout(x)·Aᵀ)·Bᵀ`
 * per active adapter (Hu et al., 2021), or DoRA's rescaled form, laid out as
 * PEFT lays them out so adapters move between the two.
 *
 * @module
 */

import { full, linear, loraLinear, type Tensor } from "../tensor/mod.ts";
import { Conv1D, Dropout, Identity, Linear } from "../nn/mod.ts";
import { _linearAnyDims } from "../nn/linear.ts";
import { _checkFloat, _checkLastDim } from "../nn/checks.ts";
import {
  _checkAdapterOptions,
  LoraAdapter,
  type LoraAdapterOptions,
  type LoraInit,
} from "./adapter.ts";
import { DEFAULT_ADAPTER, LoraLayer } from "./lora_layer.ts";
import { _doraWeightNorm } from "./dora.ts";
import { _routedForward } from "./_routed_forward.ts";

export type { LoraInit };

/**
 * Options of a {@link LoraLinear} (its `"default"` adapter).
 *
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const opts: lora.LoraLinearOptions = { rank: 4, alpha: 8, dropout: 0.05 };
 * new lora.LoraLinear(new nn.Linear(16, 16), opts);
 * ```
 */
export type LoraLinearOptions = LoraAdapterOptions;

/** Checks LoRA hyper-parameters; throws before anything is built. */
export function _checkLoraOptions(who: string, o: LoraAdapterOptions): void {
  _checkAdapterOptions(who, o);
}

/**
 * A LoRA-adapted linear layer. Parameters: `base.weight`, `base.bias` (frozen
 * by `lora.wrap`), the `"default"` adapter's `loraA` [rank, in] and `loraB`
 * [out, rank] (zeros, so a fresh layer computes exactly what `base`
 * computes), `loraMagnitude` [out] with DoRA, and other adapters under
 * `adapters.<name>`.
 *
 * @example
 * ```ts
 * import { lora, nn, randn } from "../mod.ts";
 * const layer = new lora.LoraLinear(new nn.Linear(8, 4), { rank: 2, alpha: 4 });
 * console.log(layer.scaling, layer.loraA.shape, layer.loraB.shape); // 2 [2, 8] [4, 2]
 * console.log(layer.forward(randn([3, 8])).shape); // [3, 4]
 * ```
 */
export class LoraLinear extends LoraLayer {
  /** The adapted layer: an `nn.Linear`, or transformers' `nn.Conv1D` (GPT-2). */
  declare base: Linear | Conv1D;
  /** The `"default"` adapter's A, [rank, in] (undefined on a layer without one). */
  declare loraA: Tensor;
  /** The `"default"` adapter's B, [out, rank] (undefined on a layer without one). */
  declare loraB: Tensor;

  /**
   * @param base The layer to adapt (kept as `base`, not copied).
   * @param opts The `"default"` adapter's `{ rank, alpha, dropout?, init?, rsLora?, useDora? }`
   *   (`init` "kaiming" or "gaussian"; the SVD / QR inits need `lora.wrap`).
   * @param adapterName The first adapter's name (default `"default"`).
   * @throws {TypeError} When `base` is not an `nn.Linear` or `nn.Conv1D`, or an option has the wrong type.
   * @throws {RangeError} When rank is not a positive integer, alpha not
   *   finite or dropout outside [0, 1).
   */
  constructor(base: Linear | Conv1D, opts: LoraLinearOptions, adapterName = DEFAULT_ADAPTER) {
    if (!(base instanceof Linear) && !(base instanceof Conv1D)) {
      throw new TypeError(`LoraLinear: base must be an nn.Linear or nn.Conv1D, got ${base}`);
    }
    _checkAdapterOptions("LoraLinear", opts);
    if (opts.init !== undefined && opts.init !== "kaiming" && opts.init !== "gaussian") {
      throw new TypeError(`LoraLinear: init "${opts.init}" needs lora.wrap (it changes the base)`);
    }
    super(base, ["loraA", "loraB"]);
    if (!base.training) this.eval();
    this._addAdapter(adapterName, opts);
    this._setActive([adapterName]);
  }

  /**
   * True when the base stores its weight [in, out] (`nn.Conv1D`): PEFT's
   * `fan_in_fan_out`. A and B keep their usual shapes; merging adds (B·A)ᵀ.
   */
  get fanInFanOut(): boolean {
    return this.base instanceof Conv1D;
  }

  /** The base weight as a Linear holds it, [out, in] (a view for Conv1D). */
  override _rowWeight(): Tensor {
    return this.base instanceof Conv1D ? this.base.linearWeight : this.base.weight;
  }

  /** [out, in] rows back to the base's layout. */
  override _fromRows(rows: Tensor): Tensor {
    return this.base instanceof Conv1D ? rows.transpose(0, 1) : rows;
  }

  /** A fresh adapter sized for this layer. */
  override _newAdapter(opts: LoraAdapterOptions): LoraAdapter {
    const { inFeatures, outFeatures } = this.base;
    return new LoraAdapter("linear", inFeatures, outFeatures, opts, this.base.weight.backend);
  }

  /**
   * @param x Input [..., inFeatures], float32.
   * @returns `base(x)` plus, for each active adapter that is not merged,
   *   `scaling·(dropout(x)·Aᵀ)·Bᵀ` (DoRA: PEFT's rescaled form); just
   *   `base(x)` when none is live or adapters are disabled.
   * @throws {TypeError} When `x` is not float32.
   * @throws {RangeError} When `x`'s last dimension is not `inFeatures`.
   */
  override forward(x: Tensor): Tensor {
    _checkFloat("Linear", x);
    _checkLastDim("Linear", x, this.base.inFeatures, "inFeatures");
    const routing = this._routing();
    if (routing !== null && this.enabled) {
      return _routedForward(this, x, routing, (a, xs) => this.#update(a, xs));
    }
    const live = this._live();
    if (live.length === 0) return this.base.forward(x);
    if (live.length === 1 && !_dropping(live[0])) return this.#fused(live[0], x);
    let result = this.base.forward(x);
    for (const a of live) {
      result = a.useDora ? this.#doraStep(a, x, result) : result.add(this.#update(a, x));
    }
    return result;
  }

  /** `scaling·(dropout(x)·Aᵀ)·Bᵀ`, the plain adapter's term. */
  #update(a: LoraAdapter, x: Tensor): Tensor {
    const down = _linearAnyDims(a.dropout.forward(x), a.loraA, null);
    const up = _linearAnyDims(down, a.loraB, null);
    return a.scaling === 1 ? up : up.mul(a.scaling);
  }

  /**
   * One live adapter and no dropout: one fused LoRA op, whose backward forms
   * only dx, dA and dB (nothing for the frozen W, never B·A). DoRA reuses
   * it: `y = (m / ‖W + s·B·A‖) ⊙ (x·Wᵀ + s·(x·Aᵀ)·Bᵀ) + b`, which is PEFT's
   * `base(x) + (c − 1)·(base(x) − b) + c·s·lora(x)` rearranged.
   */
  #fused(a: LoraAdapter, x: Tensor): Tensor {
    const w = this._rowWeight(), b = this.base.bias;
    if (!a.useDora) return loraLinear(x, w, b ?? null, a.loraA, a.loraB, a.scaling);
    const norm = _doraWeightNorm(w, a.loraA, a.loraB, a.scaling, this._rowSquares());
    const factor = a.loraMagnitude!.div(norm);
    const pre = loraLinear(x, w, null, a.loraA, a.loraB, a.scaling);
    const rows = pre.size / pre.shape[pre.ndim - 1];
    const pre2 = pre.reshape([rows, -1]);
    // The per-column factor and bias as [rows, out] from rank-1 products
    // (1·vᵀ), so the scaling and its gradient are dense elementwise ops.
    let y = pre2.mul(_rowBroadcast(factor, rows));
    if (b) y = y.add(_rowBroadcast(b, rows));
    return y.reshape(pre.shape);
  }

  /**
   * PEFT's DoRA step on the running result: with dropout off, `base` is the
   * result so far less the bias; with dropout on, `dropout(x)·Wᵀ`.
   */
  #doraStep(a: LoraAdapter, x: Tensor, result: Tensor): Tensor {
    const w = this._rowWeight(), bias = this.base.bias;
    let xs = x, baseResult: Tensor;
    if (_dropping(a)) {
      xs = a.dropout.forward(x);
      baseResult = _linearAnyDims(xs, w, null);
    } else baseResult = bias ? result.sub(bias) : result;
    const lora = _linearAnyDims(_linearAnyDims(xs, a.loraA, null), a.loraB, null);
    const norm = _doraWeightNorm(w, a.loraA, a.loraB, a.scaling, this._rowSquares());
    const factor = a.loraMagnitude!.div(norm);
    const scaled = factor.sub(1).mul(baseResult);
    return result.add(scaled).add(factor.mul(lora).mul(a.scaling));
  }
}

/** `v` [n] repeated as `rows` rows, [rows, n], as the rank-1 product 1·vᵀ (gradients flow to v). */
function _rowBroadcast(v: Tensor, rows: number): Tensor {
  const ones = full([rows, 1], 1, { backend: v.backend });
  return linear(ones, v.reshape([-1, 1]));
}

/** Whether an adapter's dropout acts now (a Dropout in training mode). */
function _dropping(a: LoraAdapter): boolean {
  return a.dropout instanceof Dropout && a.dropout.training && !(a.dropout instanceof Identity);
}
