/**
 * The `"svd"` combination of `addWeightedAdapter` (PEFT's
 * `_svd_generalized_task_arithmetic_weighted_adapter` with
 * `task_arithmetic`): per layer, `ΔW = Σ wᵢ·sᵢ·(sᵢ·Bᵢ·Aᵢ)` (PEFT weights the
 * already-scaled update by the scaling again), then `U, S, Vh = svd(ΔW)`,
 * `B = U[:, :r]·diag(S[:r])`, `A = Vh[:r]`, optionally clamped at the
 * `svdClamp` quantile of their entries.
 *
 * ΔW is formed on the layer's backend, read back (at once where the backend
 * reads synchronously, awaited elsewhere) and factorised on the CPU backend
 * with `linalg.svd`.
 *
 * @module
 */

import { noGrad, scope, type Tensor, tensor } from "../tensor/mod.ts";
import * as linalg from "../linalg/mod.ts";
import type { LoraAdapter } from "./adapter.ts";
import type { _HostMatrix } from "./init_decomposition.ts";

/** The new adapter's A and B for one layer, on the host. */
export interface _SvdFactors {
  a: _HostMatrix;
  b: _HostMatrix;
}

/** `torch.quantile` (linear interpolation) of the values. */
function _quantile(values: Float32Array, q: number): number {
  const v = Float64Array.from(values).sort();
  const pos = q * (v.length - 1);
  const lo = Math.floor(pos), hi = Math.min(lo + 1, v.length - 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

/**
 * The weighted sum of the adapters' updates on the layer's backend, rows
 * being outputs (B·A's orientation for Linear, Conv1D and Embedding alike).
 *
 * @param present The layer's adapters among the combined ones, with their weights.
 * @returns ΔW [rows, cols].
 */
export function _weightedDelta(present: [LoraAdapter, number][]): Tensor {
  return noGrad(() =>
    scope(() =>
      present
        .map(([a, w]) => a.loraB.matmul(a.loraA).mul(a.scaling * w * a.scaling))
        .reduce((acc, d) => acc.add(d))
    )
  );
}

/**
 * Factors ΔW read back to the host: its rank-`rank` truncated SVD.
 *
 * @param delta ΔW's values, [rows, cols].
 * @param rank The new rank (≤ min(rows, cols), checked by the caller).
 * @param clamp PEFT's `svd_clamp` quantile, or undefined.
 * @returns A [rank, cols] and B [rows, rank].
 */
export function _svdFactors(delta: _HostMatrix, rank: number, clamp?: number): _SvdFactors {
  return noGrad(() =>
    scope(() => {
      const d = tensor(delta.data, { shape: delta.shape, backend: "cpu" });
      const { U, S, Vh } = linalg.svd(d);
      const u = U.narrow(1, 0, rank).mul(S.narrow(0, 0, rank).reshape([1, -1])).contiguous();
      const vh = Vh.narrow(0, 0, rank).contiguous();
      const b = Float32Array.from(u.dataSync()), a = Float32Array.from(vh.dataSync());
      if (clamp !== undefined) {
        const all = new Float32Array(b.length + a.length);
        all.set(b, 0);
        all.set(a, b.length);
        const hi = _quantile(all, clamp), lo = -hi;
        for (const arr of [a, b]) {
          for (let i = 0; i < arr.length; i++) arr[i] = Math.min(Math.max(arr[i], lo), hi);
        }
      }
      return {
        a: { data: a, shape: [rank, delta.shape[1]] as [number, number] },
        b: { data: b, shape: [delta.shape[0], rank] as [number, number] },
      };
    })
  );
}
