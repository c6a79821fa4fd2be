/**
 * Householder QR of a row-major float64 matrix on the host: reflector j
 * clears column j below the diagonal (LAPACK's geqrf in exact arithmetic,
 * so R's diagonal has LAPACK's signs: r_jj = −sign(a_jj)·‖column‖ when
 * something lies below a_jj, else a_jj itself).
 *
 * @module
 */

import { accumulate, applyLeft, makeReflector } from "./_householder.ts";

/** How much of Q and R to form (PyTorch's `mode`). */
export type QrMode = "reduced" | "complete" | "r";

/** A host QR: `A = Q·R`, row-major. */
export interface HostQr {
  /** m×k (reduced) or m×m (complete); null in mode "r". */
  q: Float64Array | null;
  /** k×n (reduced, "r") or m×n (complete), upper trapezoidal. */
  r: Float64Array;
}

/** `A = Q·R` for the row-major m×n matrix `a` (not changed); k = min(m, n). */
export function hostQr(a: Float64Array, m: number, n: number, mode: QrMode): HostQr {
  const k = Math.min(m, n);
  const work = a.slice();
  const taus = new Float64Array(k), w = new Float64Array(n);
  for (let j = 0; j < k; j++) {
    const diag = j * n + j;
    taus[j] = makeReflector(work, diag, n, m - j);
    applyLeft(work, n, j, m - j, j + 1, n, taus[j], work, diag, n, w);
  }
  const rRows = mode === "complete" ? m : k;
  const r = new Float64Array(rRows * n);
  for (let i = 0; i < k; i++) r.set(work.subarray(i * n + i, i * n + n), i * n + i);
  if (mode === "r") return { q: null, r };
  const p = mode === "complete" ? m : k;
  return { q: accumulate(m, p, taus, 0, work, (j) => j * n + j, n), r };
}
