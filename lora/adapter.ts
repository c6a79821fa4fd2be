/**
 * `LoraAdapter`: one named adapter of one layer (PEFT's per-adapter entries
 * `lora_A[name]`, `lora_B[name]`, `lora_magnitude_vector[name]`,
 * `lora_dropout[name]`, `r[name]`, `lora_alpha[name]`, `scaling[name]`).
 *
 * @module
 */

import { type Tensor, zeros } from "../tensor/mod.ts";
import {
  Dropout,
  Identity,
  Module,
  normalParameter,
  parameter,
  uniformParameter,
} from "../nn/mod.ts";

/**
 * How an adapter starts (PEFT's `init_lora_weights`): `"kaiming"` (PEFT's
 * `True`) and `"gaussian"` draw A and zero B; `"pissa"`, `"pissa_niter_N"`
 * and `"olora"` take A and B from the SVD / QR of the base weight and
 * subtract them from it.
 *
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const init: lora.LoraInit = "gaussian";
 * lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2, { init });
 * ```
 */
export type LoraInit = "kaiming" | "gaussian" | "pissa" | `pissa_niter_${number}` | "olora";

/**
 * The hyper-parameters of one adapter on one layer.
 *
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const opts: lora.LoraAdapterOptions = { rank: 4, alpha: 8, useDora: true };
 * new lora.LoraLinear(new nn.Linear(16, 16), opts);
 * ```
 */
export interface LoraAdapterOptions {
  /** The rank r of the update (a positive integer). */
  rank: number;
  /** The scale numerator: scaling = alpha / r (or alpha / √r with rsLora). */
  alpha: number;
  /** Dropout probability on the adapter's input (default 0; Linear layers only, as PEFT). */
  dropout?: number;
  /** How A and B start (default `"kaiming"`). */
  init?: LoraInit;
  /** Rank-stabilised scaling alpha / √r (default false). */
  rsLora?: boolean;
  /** DoRA: a trainable magnitude per output row (default false). */
  useDora?: boolean;
}

/** Whether `init` is one of the SVD / QR initialisations. */
export function _isDecompositionInit(init: string): boolean {
  return init === "pissa" || init === "olora" || /^pissa_niter_\d+$/.test(init);
}

/** Checks adapter hyper-parameters; throws before anything is built. */
export function _checkAdapterOptions(who: string, o: LoraAdapterOptions): void {
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
  const init = o.init;
  if (
    init !== undefined &&
    (typeof init !== "string" ||
      !(init === "kaiming" || init === "gaussian" || _isDecompositionInit(init)))
  ) {
    throw new TypeError(
      `${who}: init must be "kaiming", "gaussian", "pissa", "pissa_niter_N" or "olora", got ${
        JSON.stringify(init)
      }`,
    );
  }
  for (const flag of ["rsLora", "useDora"] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== "boolean") {
      throw new TypeError(`${who}: ${flag} must be a boolean, got ${JSON.stringify(o[flag])}`);
    }
  }
}

/** alpha / r, or alpha / √r with rsLora (PEFT's `scaling`). */
export function _scaling(alpha: number, rank: number, rsLora: boolean): number {
  return rsLora ? alpha / Math.sqrt(rank) : alpha / rank;
}

/**
 * One adapter of a layer: `loraA` [r, in], `loraB` [out, r], with DoRA a
 * `loraMagnitude` [out], and its dropout. For an embedding the parameters
 * are `loraEmbeddingA` [r, num] and `loraEmbeddingB` [dim, r] (PEFT's
 * `lora_embedding_A` / `_B`; `loraA` / `loraB` read them too). Its update
 * to the base weight, rows being outputs, is `scaling · B·A`.
 *
 * A layer's `"default"` adapter keeps its tensors on the layer itself
 * (`layer.loraA`); every other adapter is listed under
 * `layer.adapters.<name>`.
 *
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const layer = new lora.LoraLinear(new nn.Linear(8, 4), { rank: 2, alpha: 4 });
 * const a = layer.adapter("default")!;
 * console.log(a.rank, a.scaling, a.loraB.shape); // 2 2 [4, 2]
 * ```
 */
export class LoraAdapter extends Module {
  /** Dropout on the adapter's input (an `Identity` when p = 0). */
  declare dropout: Module;
  /** DoRA's magnitude per output row, [out]; undefined without DoRA. */
  declare loraMagnitude: Tensor | undefined;
  /** The rank r. */
  declare readonly rank: number;
  /** Whether this is a DoRA adapter. */
  declare readonly useDora: boolean;
  /** The update's multiplier: alpha / r, or alpha / √r with rsLora. */
  declare scaling: number;
  /** A and B as an SVD / QR init set them (for saving as plain LoRA), else undefined. */
  declare _initial: { a: Tensor; b: Tensor } | undefined;
  #a: Tensor;
  #b: Tensor;
  #alpha: number;
  #rsLora: boolean;
  #init: LoraInit;

  /**
   * Draws the adapter's tensors as PEFT does. Linear: A from
   * `kaiming_uniform_(a = √5)` = U(−1/√in, 1/√in) (or N(0, 1/r²) for
   * `"gaussian"`), B zero. Embedding: A zero, B from N(0, 1).
   *
   * @param kind `"linear"` or `"embedding"`.
   * @param inF Input features (embedding: rows).
   * @param outF Output features (embedding: vector size).
   * @param opts The hyper-parameters (checked by the caller).
   * @param backend Where to create the tensors.
   */
  constructor(
    kind: "linear" | "embedding",
    inF: number,
    outF: number,
    opts: LoraAdapterOptions,
    backend: string,
  ) {
    super();
    const { rank, alpha } = opts;
    const where = { backend };
    this.#init = opts.init ?? "kaiming";
    if (kind === "embedding") {
      this.#a = parameter(zeros([rank, inF], where));
      this.#b = normalParameter([outF, rank], 0, 1, where);
    } else {
      const bound = 1 / Math.sqrt(inF);
      this.#a = this.#init === "gaussian"
        ? normalParameter([rank, inF], 0, 1 / rank, where)
        : uniformParameter([rank, inF], -bound, bound, where);
      this.#b = parameter(zeros([outF, rank], where));
    }
    // The parameter names: loraA / loraB, or as PEFT's lora_embedding_A / _B
    // for an embedding, loraEmbeddingA / loraEmbeddingB; then the dropout and
    // the DoRA magnitude (field order is parameter order).
    const [na, nb] = kind === "embedding"
      ? ["loraEmbeddingA", "loraEmbeddingB"]
      : ["loraA", "loraB"];
    for (const [k, v] of [[na, this.#a], [nb, this.#b]] as const) {
      Object.defineProperty(this, k, { value: v, enumerable: true, configurable: true });
    }
    const p = kind === "linear" ? opts.dropout ?? 0 : 0;
    this.dropout = p > 0 ? new Dropout(p) : new Identity();
    this.loraMagnitude = undefined;
    Object.defineProperty(this, "_initial", { value: undefined, writable: true });
    (this as { rank: number }).rank = rank;
    (this as { useDora: boolean }).useDora = opts.useDora ?? false;
    this.#alpha = alpha;
    this.#rsLora = opts.rsLora ?? false;
    this.scaling = _scaling(alpha, rank, this.#rsLora);
  }

  /** Down-projection A, [rank, in] (an embedding's `loraEmbeddingA`, [rank, num]). */
  get loraA(): Tensor {
    return this.#a;
  }

  /** Up-projection B, [out, rank] (an embedding's `loraEmbeddingB`, [dim, rank]). */
  get loraB(): Tensor {
    return this.#b;
  }

  /** How A and B were initialised. */
  get init(): LoraInit {
    return this.#init;
  }

  /** Records an SVD / QR initialisation done after construction, keeping A₀ and B₀. */
  _setInit(init: LoraInit, initial?: { a: Tensor; b: Tensor }): void {
    this.#init = init;
    this._initial = initial;
  }

  /** alpha as given (see {@link LoraAdapter.scaling}). */
  get alpha(): number {
    return this.#alpha;
  }

  /** Whether scaling is alpha / √r (rank-stabilised LoRA). */
  get rsLora(): boolean {
    return this.#rsLora;
  }

  /** The dropout probability on the adapter's input. */
  get dropoutP(): number {
    return this.dropout instanceof Dropout ? this.dropout.p : 0;
  }

  /** The adapter's trainable tensors: A, B and (DoRA) the magnitude. */
  get tensors(): Tensor[] {
    return this.loraMagnitude ? [this.loraA, this.loraB, this.loraMagnitude] : [
      this.loraA,
      this.loraB,
    ];
  }

  /**
   * An adapter computes nothing on its own; its layer applies it.
   *
   * @throws {Error} Always.
   */
  override forward(): Tensor {
    throw new Error("LoraAdapter: an adapter is applied by its layer, not called");
  }

  /** Sets alpha and rsLora (and so scaling); used by `lora.load`. */
  _configure(alpha: number, rsLora: boolean): void {
    this.#alpha = alpha;
    this.#rsLora = rsLora;
    this.scaling = _scaling(alpha, this.rank, rsLora);
  }

  /** Sets the dropout probability; used by `lora.load`. */
  _setDropout(p: number): void {
    if (p === this.dropoutP) return;
    const next = p > 0 ? new Dropout(p) : new Identity();
    if (!this.dropout.training) next.eval();
    this.dropout = next;
  }

  /** Frees the adapter's tensors. */
  _dispose(): void {
    for (const t of this.tensors) t.dispose();
    this._initial?.a.dispose();
    this._initial?.b.dispose();
    this._initial = undefined;
  }
}

/**
 * The non-default adapters of a layer, one field per name
 * (`layer.adapters.<name>.loraA`).
 *
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const net = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * lora.addAdapter(net, "other", { targets: ["0"], rank: 2, alpha: 2 });
 * console.log([...(net.getModule("0") as lora.LoraLinear).adapters!.namedChildren().keys()]); // ["other"]
 * ```
 */
export class LoraAdapterDict extends Module {
  /**
   * A container computes nothing.
   *
   * @throws {Error} Always.
   */
  override forward(): Tensor {
    throw new Error("LoraAdapterDict: a container of adapters is not called");
  }
}
