/**
 * Loss functions: mean squared error and cross-entropy.
 *
 * @module
 */

import { crossEntropyRows, scope, type Tensor } from "../tensor/mod.ts";
import { _checkFloat, _checkIndexRange, _fmt } from "./checks.ts";

/**
 * How a loss reduces its per-element values.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "../mod.ts";
 * const reduction: nn.Reduction = "sum";
 * nn.mseLoss(tensor([1, 2]), tensor([0, 0]), { reduction }); // 5
 * ```
 */
export type Reduction = "mean" | "sum" | "none";

/**
 * Options of the losses.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "../mod.ts";
 * const opts: nn.LossOptions = { reduction: "none" };
 * console.log(nn.mseLoss(tensor([1, 2]), tensor([0, 0]), opts).shape); // [2]
 * ```
 */
export interface LossOptions {
  /** `"mean"` (default), `"sum"` or `"none"` (no reduction). */
  reduction?: Reduction;
}

function _checkReduction(who: string, reduction: unknown): void {
  if (reduction !== undefined && !["mean", "sum", "none"].includes(reduction as string)) {
    throw new TypeError(
      `${who}: reduction must be "mean", "sum" or "none", got "${reduction}"`,
    );
  }
}

function _reduce(t: Tensor, reduction: Reduction | undefined): Tensor {
  if (reduction === "none") return t;
  return reduction === "sum" ? t.sum() : t.mean();
}

/**
 * Mean squared error, `mean((input − target)²)`.
 *
 * @param input Predictions, float32.
 * @param target Targets, float32, the same shape.
 * @param opts `{ reduction? }`.
 * @returns A scalar (or the elementwise errors with `reduction: "none"`).
 * @throws {TypeError} When a tensor is not float32.
 * @throws {RangeError} When the shapes differ.
 * @example
 * ```ts
 * import { nn, tensor } from "../mod.ts";
 * console.log(nn.mseLoss(tensor([1, 2]), tensor([1, 4])).dataSync()); // [2]
 * ```
 */
export function mseLoss(input: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  _checkReduction("mseLoss", opts.reduction);
  _checkFloat("mseLoss", input);
  _checkFloat("mseLoss", target);
  if (
    input.ndim !== target.ndim || input.shape.some((s, i) => s !== target.shape[i])
  ) {
    throw new RangeError(
      `mseLoss: input shape ${_fmt(input.shape)} and target shape ${_fmt(target.shape)} differ`,
    );
  }
  const d = input.sub(target);
  return _reduce(d.mul(d), opts.reduction);
}

/**
 * Cross-entropy of unnormalised `logits` against class indices, through a
 * stable log-softmax: `−mean(log_softmax(logits)[i, targets[i]])`.
 *
 * @param logits Scores [N, C] (or [..., C]), float32.
 * @param targets Class indices [N] (or [...]), int32, each in [0, C).
 * @param opts `{ reduction? }`.
 * @returns A scalar (or the per-sample losses with `reduction: "none"`).
 * @throws {TypeError} For wrong dtypes.
 * @throws {RangeError} For mismatched shapes, or a target outside [0, C)
 *   (checked where the backend reads synchronously, i.e. the CPU).
 * @example
 * ```ts
 * import { nn, tensor } from "../mod.ts";
 * const logits = tensor([[2, 0, 0], [0, 0, 3]]);
 * const loss = nn.crossEntropy(logits, tensor([0, 2], { dtype: "int32" }));
 * console.log(loss.shape); // []
 * ```
 */
export function crossEntropy(
  logits: Tensor,
  targets: Tensor,
  opts: LossOptions = {},
): Tensor {
  _checkReduction("crossEntropy", opts.reduction);
  _checkFloat("crossEntropy", logits);
  if (targets.dtype !== "int32") {
    throw new TypeError(`crossEntropy: targets must be int32, got ${targets.dtype}`);
  }
  const lead = logits.shape.slice(0, -1);
  if (
    logits.ndim < 1 || targets.ndim !== lead.length ||
    lead.some((s, i) => s !== targets.shape[i])
  ) {
    throw new RangeError(
      `crossEntropy: logits shape ${_fmt(logits.shape)} does not fit targets shape ${
        _fmt(targets.shape)
      } (expected logits [...targets.shape, C])`,
    );
  }
  const c = logits.shape[logits.ndim - 1];
  _checkIndexRange("crossEntropy: target", targets, c);
  const n = targets.size;
  // One fused op (softmax + pick) whose backward is softmax − onehot. The
  // scope frees the views and rows made here, or leaves them to the
  // result's graph (the rows' backward reads `t`), which frees them with it.
  return scope(() => {
    const rows = logits.reshape([n, c]), t = targets.reshape([n]);
    const picked = crossEntropyRows(rows, t);
    return opts.reduction === "none" ? picked.reshape(lead) : _reduce(picked, opts.reduction);
  });
}
