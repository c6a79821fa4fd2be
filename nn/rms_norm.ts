/**
 * `RMSNorm`: root-mean-square normalisation over the trailing dimensions
 * (Zhang & Sennrich, 2019), as Llama, Mistral and Qwen2 use it.
 *
 * @module
 */

import { ones, type Tensor } from "../tensor/mod.ts";
import { Module } from "./module.ts";
import { parameter } from "./init.ts";
import { _checkFloat, _checkSize, _fmt } from "./checks.ts";

/**
 * Options of {@link RMSNorm}.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * const opts: nn.RMSNormOptions = { eps: 1e-6 };
 * new nn.RMSNorm(8, opts);
 * ```
 */
export interface RMSNormOptions {
  /**
   * Added to the mean square before the square root; PyTorch's default is
   * float32's machine epsilon (2⁻²³), Llama's configs say 1e-5 or 1e-6.
   */
  eps?: number;
  /** Learn `weight` (default `true`). */
  elementwiseAffine?: boolean;
  /** Backend for the parameter; the default backend when omitted. */
  backend?: string;
}

/**
 * `y = x / √(mean(x²) + eps) · weight` over the trailing `normalizedShape`
 * dims (PyTorch's `nn.RMSNorm`, transformers' `LlamaRMSNorm`). `weight`
 * starts at 1.
 *
 * @example
 * ```ts
 * import { nn, randn } from "../mod.ts";
 * const norm = new nn.RMSNorm(8, { eps: 1e-5 });
 * console.log(norm.forward(randn([2, 8])).shape); // [2, 8]
 * ```
 */
export class RMSNorm extends Module {
  /** Scale, shaped `normalizedShape` (or `null` without affine). */
  weight: Tensor | null;
  /** The trailing shape normalised over. */
  readonly normalizedShape: readonly number[];
  /** The guard added to the mean square. */
  readonly eps: number;

  /**
   * @param normalizedShape Size of the last dim, or the trailing shape.
   * @param opts `{ eps?, elementwiseAffine?, backend? }`.
   * @throws {TypeError} When a size or eps is not a number.
   * @throws {RangeError} When a size is not a positive integer or eps < 0.
   */
  constructor(normalizedShape: number | readonly number[], opts: RMSNormOptions = {}) {
    super();
    const shape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    shape.forEach((s, i) => _checkSize("RMSNorm", `normalizedShape[${i}]`, s));
    const eps = opts.eps ?? 2 ** -23;
    if (typeof eps !== "number") throw new TypeError(`RMSNorm: eps must be a number, got ${eps}`);
    if (!(eps >= 0)) throw new RangeError(`RMSNorm: eps must be ≥ 0, got ${eps}`);
    this.normalizedShape = shape;
    this.eps = eps;
    this.weight = opts.elementwiseAffine === false
      ? null
      : parameter(ones(shape, { backend: opts.backend }));
  }

  /**
   * @param x Input [..., ...normalizedShape], float32.
   * @returns The normalised input, same shape.
   * @throws {TypeError} When `x` is not float32.
   * @throws {RangeError} When `x` does not end in `normalizedShape`.
   */
  override forward(x: Tensor): Tensor {
    _checkFloat("RMSNorm", x);
    const k = this.normalizedShape.length;
    const tail = x.shape.slice(x.ndim - k);
    if (x.ndim < k || tail.some((s, i) => s !== this.normalizedShape[i])) {
      throw new RangeError(
        `RMSNorm: input shape ${_fmt(x.shape)} does not end in ${_fmt(this.normalizedShape)}`,
      );
    }
    const dims = Array.from({ length: k }, (_, i) => x.ndim - k + i);
    const ms = x.mul(x).mean(dims, { keepdim: true });
    const y = x.div(ms.add(this.eps).sqrt());
    return this.weight ? y.mul(this.weight) : y;
  }
}
