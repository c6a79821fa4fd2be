/**
 * The singular values of an upper bidiagonal matrix B (diagonal `d`,
 * superdiagonal `e`) by implicit-shift QR iteration (Golub & Kahan 1965,
 * Golub & Van Loan §8.6), in float64 and in place: on return `d` holds
 * B's singular values up to sign and order, `e` is zero.
 *
 * Every rotation applied to B's rows is applied to the rows of `ut` (the
 * left singular vectors, stored as rows so a rotation runs over contiguous
 * memory), every rotation of B's columns to the rows of `vt`, so
 * `A = Uᵀ·B·V` stays true throughout.
 *
 * The loop: split off the trailing block whose superdiagonal is negligible
 * (|eᵢ| ≤ ε·(|dᵢ| + |dᵢ₊₁|)); inside an unreduced block a negligible
 * diagonal entry (|dᵢ| ≤ ε·‖B‖) is set to zero and its row or column is
 * rotated out, which splits the block; otherwise one Golub–Kahan step
 * with the Wilkinson shift of the trailing 2×2 of BᵀB chases a bulge down
 * the block. This handles rank-deficient and zero matrices without a
 * special case.
 *
 * @module
 */

const EPS = 2 ** -52;

/** Rows of the singular vector matrices (either may be absent). */
export interface Rows {
  /** Left vectors as rows, row length `m`. */
  ut: Float64Array | null;
  m: number;
  /** Right vectors as rows, row length `n`. */
  vt: Float64Array | null;
  n: number;
}

/** Rows i and j of `x` (row length `len`) ← (c·xᵢ + s·xⱼ, c·xⱼ − s·xᵢ). */
function rotate(x: Float64Array | null, len: number, i: number, j: number, c: number, s: number) {
  if (x === null) return;
  const oi = i * len, oj = j * len;
  for (let t = 0; t < len; t++) {
    const a = x[oi + t], b = x[oj + t];
    x[oi + t] = c * a + s * b;
    x[oj + t] = c * b - s * a;
  }
}

/** √(a² + b²), falling back to Math.hypot where the squares leave float64's range. */
function hypot(a: number, b: number): number {
  const r = Math.sqrt(a * a + b * b);
  return Number.isFinite(r) && (r > 1e-150 || (a === 0 && b === 0)) ? r : Math.hypot(a, b);
}

/** d[i] = 0 with i < hi: rotate row i against rows i+1..hi to clear e[i]. */
function clearRow(d: Float64Array, e: Float64Array, i: number, hi: number, v: Rows): void {
  let f = e[i];
  e[i] = 0;
  for (let j = i + 1; j <= hi && f !== 0; j++) {
    const r = hypot(f, d[j]);
    const c = d[j] / r, s = f / r;
    d[j] = r;
    if (j < hi) {
      f = -s * e[j];
      e[j] *= c;
    }
    rotate(v.ut, v.m, j, i, c, s);
  }
}

/** d[hi] = 0: rotate column hi against columns hi−1..lo to clear e[hi−1]. */
function clearColumn(d: Float64Array, e: Float64Array, lo: number, hi: number, v: Rows): void {
  let f = e[hi - 1];
  e[hi - 1] = 0;
  for (let j = hi - 1; j >= lo && f !== 0; j--) {
    const r = hypot(d[j], f);
    const c = d[j] / r, s = f / r;
    d[j] = r;
    if (j > lo) {
      f = -s * e[j - 1];
      e[j - 1] *= c;
    }
    rotate(v.vt, v.n, j, hi, c, s);
  }
}

/** The eigenvalue of the trailing 2×2 of BᵀB (block lo..hi) nearer its last entry. */
function wilkinsonShift(d: Float64Array, e: Float64Array, lo: number, hi: number): number {
  const dm = d[hi - 1], dn = d[hi], em = e[hi - 1];
  const el = hi - 1 > lo ? e[hi - 2] : 0;
  const t11 = dm * dm + el * el, t12 = dm * em, t22 = dn * dn + em * em;
  const delta = (t11 - t22) / 2;
  const root = hypot(delta, t12);
  const den = delta + (delta >= 0 ? root : -root);
  return den === 0 ? t22 : t22 - (t12 * t12) / den;
}

/** One implicit-shift Golub–Kahan step on the unreduced block lo..hi. */
function step(d: Float64Array, e: Float64Array, lo: number, hi: number, v: Rows): void {
  const mu = wilkinsonShift(d, e, lo, hi);
  let y = d[lo] * d[lo] - mu, z = d[lo] * e[lo];
  for (let k = lo; k < hi; k++) {
    // Columns k, k+1: clear z (B[k−1][k+1], or the shift's start) against y.
    let r = hypot(y, z);
    let c = r === 0 ? 1 : y / r, s = r === 0 ? 0 : z / r;
    if (k > lo) e[k - 1] = r;
    const dk = d[k], ek = e[k], dk1 = d[k + 1];
    d[k] = c * dk + s * ek;
    e[k] = c * ek - s * dk;
    const bulge = s * dk1;
    d[k + 1] = c * dk1;
    rotate(v.vt, v.n, k, k + 1, c, s);
    // Rows k, k+1: clear the bulge B[k+1][k] against d[k].
    r = hypot(d[k], bulge);
    c = r === 0 ? 1 : d[k] / r;
    s = r === 0 ? 0 : bulge / r;
    d[k] = r;
    const ek2 = e[k], dk12 = d[k + 1];
    e[k] = c * ek2 + s * dk12;
    d[k + 1] = c * dk12 - s * ek2;
    if (k < hi - 1) {
      y = e[k];
      z = s * e[k + 1];
      e[k + 1] *= c;
    }
    rotate(v.ut, v.m, k, k + 1, c, s);
  }
}

const negligible = (d: Float64Array, e: Float64Array, i: number) =>
  Math.abs(e[i]) <= EPS * (Math.abs(d[i]) + Math.abs(d[i + 1]));

/**
 * Diagonalises B in place (see the module comment).
 *
 * @throws {Error} If the iteration has not converged after 100·n steps
 *   (never seen; a guard against an endless loop).
 */
export function bidiagonalQr(d: Float64Array, e: Float64Array, v: Rows): void {
  const n = d.length;
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(d[i]) + Math.abs(e[i] ?? 0));
  const tiny = EPS * norm;
  let hi = n - 1, steps = 0;
  while (hi > 0) {
    if (negligible(d, e, hi - 1)) {
      e[hi - 1] = 0;
      hi--;
      continue;
    }
    let lo = hi - 1;
    while (lo > 0 && !negligible(d, e, lo - 1)) lo--;
    if (lo > 0) e[lo - 1] = 0;
    let zero = -1;
    for (let i = lo; i <= hi; i++) {
      if (Math.abs(d[i]) <= tiny) {
        d[i] = 0;
        zero = i;
        break;
      }
    }
    if (zero >= 0) {
      if (zero < hi) clearRow(d, e, zero, hi, v);
      else clearColumn(d, e, lo, hi, v);
      continue;
    }
    if (++steps > 100 * n) {
      throw new Error(`bidiagonal QR did not converge in ${100 * n} steps`);
    }
    step(d, e, lo, hi, v);
  }
}
