/**
 * DoRA (Liu et al., 2024) as PEFT computes it: the adapted weight's rows are
 * rescaled to a trainable magnitude m, `W' = m / ‖W + s·B·A‖ · (W + s·B·A)`,
 * with the norm detached from autograd (the paper's §4.3).
 *
 * @module
 */

import { linear, noGrad, scope, type Tensor } from "../tensor/mod.ts";

/**
 * `‖Wr + s·B·A‖` per row, detached, without forming the [rows, cols]
 * product: `‖Wᵢ‖² + 2s·⟨Bᵢ, (W·Aᵀ)ᵢ⟩ + s²·Bᵢ·(A·Aᵀ)·Bᵢᵀ`. One pass over W
 * for its row norms and one thin GEMM W·Aᵀ [rows, r], where PEFT forms
 * B·A [rows, cols] and W + s·B·A.
 *
 * @param wr The base weight with one row per output, [rows, cols] (any strides).
 * @param a A, [r, cols].
 * @param b B, [rows, r].
 * @param s The adapter's scaling.
 * @param rowSquares `‖Wrᵢ‖²` when the caller has them (W is frozen: see
 *   `LoraLayer._rowSquares`).
 * @returns The norms, [rows] (no gradient).
 */
export function _doraWeightNorm(
  wr: Tensor,
  a: Tensor,
  b: Tensor,
  s: number,
  rowSquares?: Tensor,
): Tensor {
  return noGrad(() =>
    scope(() => {
      const sq = rowSquares ?? wr.mul(wr).sum(1);
      const cross = b.mul(linear(wr, a)).sum(1);
      const quad = linear(b, linear(a, a)).mul(b).sum(1);
      // Clamped at 0: rounding may leave a tiny negative where W + s·B·A ≈ 0.
      return sq.add(cross.mul(2 * s)).add(quad.mul(s * s)).relu().sqrt();
    })
  );
}

/**
 * `‖Wr + Δ‖` per row with the update formed, as PEFT's `get_weight_norm`
 * (used when merging, where W + Δ is formed anyway).
 *
 * @param wr The base weight, rows being outputs.
 * @param delta `s·B·A`, the same shape.
 * @returns The norms, [rows] (no gradient).
 */
export function _doraWeightNormDirect(wr: Tensor, delta: Tensor): Tensor {
  return noGrad(() =>
    scope(() => {
      const w = wr.add(delta);
      return w.mul(w).sum(1).sqrt();
    })
  );
}
