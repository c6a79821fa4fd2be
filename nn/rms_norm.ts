/**
 * `RMSNorm`: root-mean-square normalisation over the trailing dimensions
 * (Zhang & Sennrich, 2019), as Llama, Mistral and Qwen2 use it.
 *
 * @module
 */

import { ones, scope, type Tensor } from "../tensor/mod.ts";
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
    return rmsNorm(x, this.normalizedShape, this.weight, this.eps);
  }
}

/**
 * `x / √(mean(x²) + eps) · weight` over the trailing `normalizedShape` dims
 * (PyTorch's `F.rms_norm`).
 *
 * @param x Input [..., ...normalizedShape], float32.
 * @param normalizedShape The trailing shape normalised over.
 * @param weight Scale shaped `normalizedShape`, or null.
 * @param eps Added to the mean square (float32's epsilon by default).
 * @returns Same shape as `x`.
 * @throws {TypeError} When a tensor is not float32.
 * @throws {RangeError} When the shapes do not fit or eps < 0.
 * @example
 * ```ts
 * import { nn, tensor } from "../mod.ts";
 * nn.rmsNorm(tensor([[3, 4]]), [2], null, 0); // [[0.8485, 1.1314]]
 * ```
 */
export function rmsNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  weight: Tensor | null = null,
  eps = 2 ** -23,
): Tensor {
  _checkFloat("rmsNorm", x);
  if (typeof eps !== "number" || !(eps >= 0)) {
    throw new RangeError(`rmsNorm: eps must be a number ≥ 0, got ${eps}`);
  }
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (x.ndim < k || tail.some((s, i) => s !== normalizedShape[i])) {
    throw new RangeError(
      `rmsNorm: input shape ${_fmt(x.shape)} does not end in ${_fmt(normalizedShape)}`,
    );
  }
  if (weight) {
    _checkFloat("rmsNorm", weight);
    if (weight.ndim !== k || weight.shape.some((s, i) => s !== normalizedShape[i])) {
      throw new RangeError(
        `rmsNorm: weight shape ${_fmt(weight.shape)} is not ${_fmt(normalizedShape)}`,
      );
    }
  }
  const dims = Array.from({ length: k }, (_, i) => x.ndim - k + i);
  return scope(() => {
    const ms = x.mul(x).mean(dims, { keepdim: true });
    const y = x.div(ms.add(eps).sqrt());
    return weight ? y.mul(weight) : y;
  });
}
