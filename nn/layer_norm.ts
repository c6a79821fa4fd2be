/**
 * `LayerNorm`: normalisation over the trailing dimensions.
 *
 * @module
 */

import { ones, type Tensor, zeros } from "../tensor/mod.ts";
import { Module } from "./module.ts";
import { parameter } from "./init.ts";
import { _checkFloat, _checkSize, _fmt } from "./checks.ts";

/**
 * Options of {@link LayerNorm}.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * const opts: nn.LayerNormOptions = { eps: 1e-6 };
 * new nn.LayerNorm(8, opts);
 * ```
 */
export interface LayerNormOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Learn `weight` and `bias` (default `true`). */
  elementwiseAffine?: boolean;
  /** Backend for the parameters; the default backend when omitted. */
  backend?: string;
}

/**
 * `y = (x − mean) / √(var + eps) · weight + bias` over the trailing
 * `normalizedShape` dims, with the biased variance (as PyTorch). `weight`
 * starts at 1 and `bias` at 0.
 *
 * @example
 * ```ts
 * import { nn, randn } from "../mod.ts";
 * const ln = new nn.LayerNorm(8);
 * console.log(ln.forward(randn([2, 8])).shape); // [2, 8]
 * ```
 */
export class LayerNorm extends Module {
  /** Scale, shaped `normalizedShape` (or `null` without affine). */
  weight: Tensor | null;
  /** Shift, shaped `normalizedShape` (or `null` without affine). */
  bias: Tensor | null;
  /** The trailing shape normalised over. */
  readonly normalizedShape: readonly number[];
  /** The variance guard. */
  readonly eps: number;

  /**
   * @param normalizedShape Size of the last dim, or the trailing shape.
   * @param opts `{ eps?, elementwiseAffine?, backend? }`.
   * @throws {TypeError} When a size is not a number.
   * @throws {RangeError} When a size is not a positive integer or eps < 0.
   */
  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    const shape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    shape.forEach((s, i) => _checkSize("LayerNorm", `normalizedShape[${i}]`, s));
    const eps = opts.eps ?? 1e-5;
    if (!(eps >= 0)) throw new RangeError(`LayerNorm: eps must be ≥ 0, got ${eps}`);
    this.normalizedShape = shape;
    this.eps = eps;
    const where = { backend: opts.backend };
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine ? parameter(ones(shape, where)) : null;
    this.bias = affine ? parameter(zeros(shape, where)) : null;
  }

  /**
   * @param x Input whose trailing dims equal `normalizedShape`.
   * @returns The normalised tensor, same shape.
   * @throws {TypeError} When `x` is not float32.
   * @throws {RangeError} When `x`'s trailing dims do not match.
   */
  override forward(x: Tensor): Tensor {
    _checkFloat("LayerNorm", x);
    const k = this.normalizedShape.length;
    const tail = x.shape.slice(x.ndim - k);
    if (x.ndim < k || tail.some((s, i) => s !== this.normalizedShape[i])) {
      throw new RangeError(
        `LayerNorm: input shape ${_fmt(x.shape)} does not end in ${_fmt(this.normalizedShape)}`,
      );
    }
    const dims = Array.from({ length: k }, (_, i) => x.ndim - k + i);
    const mu = x.mean(dims, { keepdim: true });
    const centered = x.sub(mu);
    const variance = centered.mul(centered).mean(dims, { keepdim: true });
    const inv = variance.add(this.eps).sqrt();
    let y = centered.div(inv);
    if (this.weight) y = y.mul(this.weight);
    if (this.bias) y = y.add(this.bias);
    return y;
  }
}
