/**
 * `LoraLinear`: a frozen `nn.Linear` plus a trainable low-rank update,
 * `y = base(x) + scaling · (dropout(x)·Aᵀ)·Bᵀ` (Hu et al., 2021), laid out
 * as PEFT lays it out so adapters move between the two.
 *
 * @module
 */

import { loraLinear, noGrad, scope, type Tensor, zeros } from "../tensor/mod.ts";
import {
  Conv1D,
  Dropout,
  Identity,
  Linear,
  Module,
  normalParameter,
  parameter,
  uniformParameter,
} from "../nn/mod.ts";
import { _linearAnyDims } from "../nn/linear.ts";
import { _checkFloat, _checkLastDim } from "../nn/checks.ts";

/**
 * How `loraA` starts.
 *
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const init: lora.LoraInit = "gaussian";
 * lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2, { init });
 * ```
 */
export type LoraInit = "kaiming" | "gaussian";

/**
 * Options of a {@link LoraLinear}.
 *
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const opts: lora.LoraLinearOptions = { rank: 4, alpha: 8, dropout: 0.05 };
 * new lora.LoraLinear(new nn.Linear(16, 16), opts);
 * ```
 */
export interface LoraLinearOptions {
  /** The rank r of the update (a positive integer). */
  rank: number;
  /** The scale numerator: scaling = alpha / r (or alpha / √r with rsLora). */
  alpha: number;
  /** Dropout probability on the adapter's input (default 0). */
  dropout?: number;
  /** `"kaiming"` (default, PEFT's) or `"gaussian"` (N(0, 1/r²), PEFT's). */
  init?: LoraInit;
  /** Rank-stabilised scaling alpha / √r (default false). */
  rsLora?: boolean;
}

/** Checks LoRA hyper-parameters; throws before anything is built. */
export function _checkLoraOptions(who: string, o: LoraLinearOptions): void {
  if (typeof o.rank !== "number") {
    throw new TypeError(`${who}: rank must be a number, got ${typeof o.rank}`);
  }
  if (!Number.isInteger(o.rank) || o.rank < 1) {
    throw new RangeError(`${who}: rank must be a positive integer, got ${o.rank}`);
  }
  if (typeof o.alpha !== "number") {
    throw new TypeError(`${who}: alpha must be a number, got ${typeof o.alpha}`);
  }
  if (!Number.isFinite(o.alpha)) {
    throw new RangeError(`${who}: alpha must be finite, got ${o.alpha}`);
  }
  const p = o.dropout ?? 0;
  if (typeof p !== "number") {
    throw new TypeError(`${who}: dropout must be a number, got ${typeof p}`);
  }
  if (!(p >= 0 && p < 1)) {
    throw new RangeError(`${who}: dropout must be in [0, 1), got ${p}`);
  }
  if (o.init !== undefined && o.init !== "kaiming" && o.init !== "gaussian") {
    throw new TypeError(`${who}: init must be "kaiming" or "gaussian", got "${o.init}"`);
  }
}

/**
 * A LoRA-adapted linear layer. Parameters: `base.weight`, `base.bias` (frozen
 * by `lora.wrap`), `loraA` [rank, in] and `loraB` [out, rank] (zeros, so a
 * fresh layer computes exactly what `base` computes).
 *
 * @example
 * ```ts
 * import { lora, nn, randn } from "../mod.ts";
 * const layer = new lora.LoraLinear(new nn.Linear(8, 4), { rank: 2, alpha: 4 });
 * console.log(layer.scaling, layer.loraA.shape, layer.loraB.shape); // 2 [2, 8] [4, 2]
 * console.log(layer.forward(randn([3, 8])).shape); // [3, 4]
 * ```
 */
export class LoraLinear extends Module {
  /** The adapted layer: an `nn.Linear`, or transformers' `nn.Conv1D` (GPT-2). */
  base: Linear | Conv1D;
  /** Down-projection A, [rank, inFeatures]. */
  loraA: Tensor;
  /** Up-projection B, [outFeatures, rank]; starts at zero. */
  loraB: Tensor;
  /** Dropout on the adapter's input (an `Identity` when p = 0). */
  dropout: Module;
  /** The rank r. */
  readonly rank: number;
  /** How `loraA` was initialised. */
  readonly init: LoraInit;
  /** The update's multiplier: alpha / r, or alpha / √r with rsLora. */
  scaling: number;
  #alpha: number;
  #rsLora: boolean;
  #merged = false;
  #enabled = true;

  /**
   * @param base The layer to adapt (kept as `base`, not copied).
   * @param opts `{ rank, alpha, dropout?, init?, rsLora? }`.
   * @throws {TypeError} When `base` is not an `nn.Linear` or `nn.Conv1D`, or an option has the wrong type.
   * @throws {RangeError} When rank is not a positive integer, alpha not
   *   finite or dropout outside [0, 1).
   */
  constructor(base: Linear | Conv1D, opts: LoraLinearOptions) {
    super();
    if (!(base instanceof Linear) && !(base instanceof Conv1D)) {
      throw new TypeError(`LoraLinear: base must be an nn.Linear or nn.Conv1D, got ${base}`);
    }
    _checkLoraOptions("LoraLinear", opts);
    const { rank, alpha } = opts;
    const where = { backend: base.weight.backend };
    const inF = base.inFeatures;
    this.base = base;
    this.init = opts.init ?? "kaiming";
    // PEFT: kaiming_uniform_(A, a=√5) → bound = √(6 / ((1 + 5)·in)) = 1/√in;
    // "gaussian": normal_(A, std = 1/r).
    this.loraA = this.init === "gaussian"
      ? normalParameter([rank, inF], 0, 1 / rank, where)
      : uniformParameter([rank, inF], -1 / Math.sqrt(inF), 1 / Math.sqrt(inF), where);
    this.loraB = parameter(zeros([base.outFeatures, rank], where));
    const p = opts.dropout ?? 0;
    this.dropout = p > 0 ? new Dropout(p) : new Identity();
    this.rank = rank;
    this.#alpha = alpha;
    this.#rsLora = opts.rsLora ?? false;
    this.scaling = _scaling(alpha, rank, this.#rsLora);
    if (!base.training) this.eval();
  }

  /** alpha as given (see {@link LoraLinear.scaling}). */
  get alpha(): number {
    return this.#alpha;
  }

  /** Whether scaling is alpha / √r (rank-stabilised LoRA). */
  get rsLora(): boolean {
    return this.#rsLora;
  }

  /** True while `B·A` is folded into `base.weight` (see `lora.merge`). */
  get merged(): boolean {
    return this.#merged;
  }

  /** False while the adapter is switched off (see `lora.disabled`). */
  get enabled(): boolean {
    return this.#enabled;
  }

  /**
   * True when the base stores its weight [in, out] (`nn.Conv1D`): PEFT's
   * `fan_in_fan_out`. A and B keep their usual shapes; merging adds (B·A)ᵀ.
   */
  get fanInFanOut(): boolean {
    return this.base instanceof Conv1D;
  }

  /** The base weight as a Linear holds it, [out, in] (a view for Conv1D). */
  #weightOutIn(): Tensor {
    return this.base instanceof Conv1D ? this.base.linearWeight : this.base.weight;
  }

  /** The dropout probability on the adapter's input. */
  get dropoutP(): number {
    return this.dropout instanceof Dropout ? this.dropout.p : 0;
  }

  /**
   * @param x Input [..., inFeatures], float32.
   * @returns `base(x) + scaling·(dropout(x)·Aᵀ)·Bᵀ`; just `base(x)` when merged or disabled.
   * @throws {TypeError} When `x` is not float32.
   * @throws {RangeError} When `x`'s last dimension is not `inFeatures`.
   */
  override forward(x: Tensor): Tensor {
    if (this.#merged || !this.#enabled) return this.base.forward(x);
    if (!(this.dropout instanceof Dropout) || !this.dropout.training) {
      _checkFloat("Linear", x);
      _checkLastDim("Linear", x, this.base.inFeatures, "inFeatures");
      // No dropout on the adapter's input: one fused op, whose backward forms
      // only dx, dA and dB (nothing for the frozen W, never B·A).
      const b = this.base.bias;
      return loraLinear(x, this.#weightOutIn(), b ?? null, this.loraA, this.loraB, this.scaling);
    }
    const y = this.base.forward(x);
    const h = this.dropout.forward(x);
    const down = _linearAnyDims(h, this.loraA, null);
    let up = _linearAnyDims(down, this.loraB, null);
    if (this.scaling !== 1) up = up.mul(this.scaling);
    return y.add(up);
  }

  /**
   * `W ± scaling·B·A` as a new tensor (no autograd); `base.weight` is untouched.
   *
   * @param sign +1 to merge, −1 to unmerge.
   * @returns The would-be weight, shaped as `base.weight` ([out, in], or
   *   [in, out] for a Conv1D base: W ± scaling·(B·A)ᵀ, as PEFT's
   *   `fan_in_fan_out`).
   */
  _shiftedWeight(sign: 1 | -1): Tensor {
    return noGrad(() =>
      scope(() => {
        const delta = this.loraB.matmul(this.loraA).mul(sign * this.scaling);
        return this.base.weight.add(this.fanInFanOut ? delta.transpose(0, 1) : delta);
      })
    );
  }

  /** Records the merge state; used by `lora.merge` / `lora.unmerge`. */
  _setMerged(v: boolean): void {
    this.#merged = v;
  }

  /** Switches the adapter on or off; used by `lora.disabled`. */
  _setEnabled(v: boolean): void {
    this.#enabled = v;
  }

  /** Sets alpha and rsLora (and so scaling); used by `lora.load`. */
  _configure(alpha: number, rsLora: boolean): void {
    this.#alpha = alpha;
    this.#rsLora = rsLora;
    this.scaling = _scaling(alpha, this.rank, rsLora);
  }
}

function _scaling(alpha: number, rank: number, rsLora: boolean): number {
  return rsLora ? alpha / Math.sqrt(rank) : alpha / rank;
}
