/**
 * `Linear`: the affine layer `y = x·Wᵀ + b`.
 *
 * @module
 */

import { linear, type Tensor, zeros } from "../tensor/mod.ts";
import { Module } from "./module.ts";
import { normalParameter, parameter, uniformParameter } from "./init.ts";
import { _checkFloat, _checkLastDim, _checkSize } from "./checks.ts";

/**
 * Options of {@link Linear}.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * const opts: nn.LinearOptions = { bias: false };
 * new nn.Linear(4, 2, opts);
 * ```
 */
export interface LinearOptions {
  /** Learn an additive bias (default `true`). */
  bias?: boolean;
  /** Backend for the parameters; the default backend when omitted. */
  backend?: string;
}

/**
 * Applies `y = x·Wᵀ + b` over the last dimension of `x`, any leading dims.
 * `weight` is [out, in] and `bias` [out]; both start at PyTorch's default,
 * U(−1/√in, 1/√in) (kaiming_uniform with a = √5 gives that bound for W).
 *
 * @example
 * ```ts
 * import { nn, randn } from "../mod.ts";
 * const lin = new nn.Linear(6, 5);
 * console.log(lin.forward(randn([8, 6])).shape); // [8, 5]
 * ```
 */
export class Linear extends Module {
  /** The weight, [outFeatures, inFeatures]. */
  weight: Tensor;
  /** The bias, [outFeatures], or `null` with `{ bias: false }`. */
  bias: Tensor | null;
  /** Size of each input's last dimension. */
  readonly inFeatures: number;
  /** Size of each output's last dimension. */
  readonly outFeatures: number;

  /**
   * @param inFeatures Input size (a positive integer).
   * @param outFeatures Output size (a positive integer).
   * @param opts `{ bias?, backend? }`.
   * @throws {TypeError} When a size is not a number.
   * @throws {RangeError} When a size is not a positive integer.
   */
  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    _checkSize("Linear", "inFeatures", inFeatures);
    _checkSize("Linear", "outFeatures", outFeatures);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const bound = 1 / Math.sqrt(inFeatures);
    const where = { backend: opts.backend };
    this.weight = uniformParameter([outFeatures, inFeatures], -bound, bound, where);
    this.bias = opts.bias === false ? null : uniformParameter([outFeatures], -bound, bound, where);
  }

  /**
   * @param x Input [..., inFeatures], float32.
   * @returns Output [..., outFeatures].
   * @throws {TypeError} When `x` is not float32.
   * @throws {RangeError} When `x`'s last dimension is not `inFeatures`.
   */
  override forward(x: Tensor): Tensor {
    _checkFloat("Linear", x);
    _checkLastDim("Linear", x, this.inFeatures, "inFeatures");
    return _linearAnyDims(x, this.weight, this.bias);
  }
}

/**
 * `x·Wᵀ + b` for x of any rank ≥ 1: flattens the leading dims to one.
 *
 * @param x Input [..., in].
 * @param w Weight [out, in].
 * @param b Bias [out] or null.
 * @returns Output [..., out].
 */
export function _linearAnyDims(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  if (x.ndim === 2) return b ? linear(x, w, b) : linear(x, w);
  const lead = x.shape.slice(0, -1);
  const rows = lead.reduce((a, s) => a * s, 1);
  const x2 = x.reshape([rows, x.shape[x.ndim - 1]]);
  const y2 = b ? linear(x2, w, b) : linear(x2, w);
  return y2.reshape([...lead, w.shape[0]]);
}

/**
 * transformers' `Conv1D` (GPT-2's projections): an affine layer that stores
 * its weight transposed, [in, out], and computes `y = x·W + b`. It is not a
 * convolution; checkpoints of GPT-2 hold their weights in this layout, so
 * this layer loads them as they are. `lora.wrap` adapts it as PEFT does with
 * `fan_in_fan_out: true`.
 *
 * @example
 * ```ts
 * import { nn, randn } from "../mod.ts";
 * const proj = new nn.Conv1D(4, 6); // in 4, out 6: weight [4, 6]
 * console.log(proj.forward(randn([2, 4])).shape); // [2, 6]
 * ```
 */
export class Conv1D extends Module {
  /** The weight, [inFeatures, outFeatures] (transposed against Linear). */
  weight: Tensor;
  /** The bias, [outFeatures]. */
  bias: Tensor;
  /** Size of each input's last dimension. */
  readonly inFeatures: number;
  /** Size of each output's last dimension. */
  readonly outFeatures: number;

  /**
   * @param inFeatures Input size (a positive integer).
   * @param outFeatures Output size (a positive integer).
   * @param opts `{ backend? }`. Weights start at N(0, 0.02²) and the bias at 0, as transformers'.
   * @throws {TypeError} When a size is not a number.
   * @throws {RangeError} When a size is not a positive integer.
   */
  constructor(inFeatures: number, outFeatures: number, opts: { backend?: string } = {}) {
    super();
    _checkSize("Conv1D", "inFeatures", inFeatures);
    _checkSize("Conv1D", "outFeatures", outFeatures);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = normalParameter([inFeatures, outFeatures], 0, 0.02, opts);
    this.bias = parameter(zeros([outFeatures], { backend: opts.backend }));
  }

  /** The weight as a Linear holds it, [out, in]: a transposed view, no copy. */
  get linearWeight(): Tensor {
    return this.weight.transpose(0, 1);
  }

  /**
   * @param x Input [..., inFeatures], float32.
   * @returns Output [..., outFeatures].
   * @throws {TypeError} When `x` is not float32.
   * @throws {RangeError} When `x`'s last dimension is not `inFeatures`.
   */
  override forward(x: Tensor): Tensor {
    _checkFloat("Conv1D", x);
    _checkLastDim("Conv1D", x, this.inFeatures, "inFeatures");
    return _linearAnyDims(x, this.linearWeight, this.bias);
  }
}
