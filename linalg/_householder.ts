/**
 * Householder reflectors on row-major float64 matrices, the building block
 * of the QR factorisation and of the bidiagonalisation before the SVD.
 *
 * A reflector is `H = I − τ·v·vᵀ` with `v[0] = 1`; it maps a vector `x` to
 * `β·e₁`. The sign is LAPACK's: `β = −sign(x₀)·‖x‖`, which avoids
 * cancellation in `x₀ − β`, so R's diagonal (and the bidiagonal's) may be
 * negative. A vector with nothing below its head gets `τ = 0` (H = I) and
 * `β = x₀`, so a zero column stays zero instead of dividing by zero.
 *
 * All loops run along rows (the contiguous direction): a reflector applied
 * from the left first accumulates `w = vᵀ·A` row by row, then subtracts
 * `τ·v·wᵀ` row by row.
 *
 * @module
 */

/**
 * Makes the reflector for the `len` entries of `a` at `off`, `off + stride`,
 * …: writes `β` at `off` and `v[1..]` over the entries below it, and
 * returns `τ`.
 */
export function makeReflector(a: Float64Array, off: number, stride: number, len: number): number {
  const alpha = a[off];
  let ss = 0;
  for (let i = 1, p = off + stride; i < len; i++, p += stride) ss += a[p] * a[p];
  if (ss === 0) return 0;
  const norm = Math.sqrt(alpha * alpha + ss);
  const beta = alpha >= 0 ? -norm : norm;
  const scale = 1 / (alpha - beta);
  for (let i = 1, p = off + stride; i < len; i++, p += stride) a[p] *= scale;
  a[off] = beta;
  return (beta - alpha) / beta;
}

/**
 * Applies a reflector from the left to the block of the row-major matrix
 * `a` (row length `ld`) at rows `r0..r0+len−1`, columns `c0..c1−1`. The
 * reflector's `v[1..]` is read from `vsrc` at `voff + i·vstride`
 * (`v[0] = 1`). `w` is scratch of at least `c1` entries.
 */
export function applyLeft(
  a: Float64Array,
  ld: number,
  r0: number,
  len: number,
  c0: number,
  c1: number,
  tau: number,
  vsrc: Float64Array,
  voff: number,
  vstride: number,
  w: Float64Array,
): void {
  if (tau === 0 || c0 >= c1) return;
  const head = r0 * ld;
  for (let c = c0; c < c1; c++) w[c] = a[head + c];
  for (let i = 1; i < len; i++) {
    const vi = vsrc[voff + i * vstride];
    if (vi === 0) continue;
    const row = (r0 + i) * ld;
    for (let c = c0; c < c1; c++) w[c] += vi * a[row + c];
  }
  for (let c = c0; c < c1; c++) {
    w[c] *= tau;
    a[head + c] -= w[c];
  }
  for (let i = 1; i < len; i++) {
    const vi = vsrc[voff + i * vstride];
    if (vi === 0) continue;
    const row = (r0 + i) * ld;
    for (let c = c0; c < c1; c++) a[row + c] -= vi * w[c];
  }
}

/**
 * Applies a reflector from the right to rows `r0..r1−1` of `a` (row length
 * `ld`), columns `c0..c0+len−1`; `v[1..]` is contiguous in `vsrc` from
 * `voff + 1` (`v[0] = 1`).
 */
export function applyRight(
  a: Float64Array,
  ld: number,
  r0: number,
  r1: number,
  c0: number,
  len: number,
  tau: number,
  vsrc: Float64Array,
  voff: number,
): void {
  if (tau === 0) return;
  for (let r = r0; r < r1; r++) {
    const row = r * ld + c0;
    let t = a[row];
    for (let i = 1; i < len; i++) t += a[row + i] * vsrc[voff + i];
    t *= tau;
    a[row] -= t;
    for (let i = 1; i < len; i++) a[row + i] -= t * vsrc[voff + i];
  }
}

/**
 * The first `p` columns of `H₀·H₁·…·H_{k−1}` (an m×p row-major matrix,
 * k = `taus.length`), where reflector j acts on rows `j + shift..m−1`, has
 * `τ = taus[j]` and reads its `v[1..]` from `vsrc` at `voff(j) + i·vstride`.
 * Accumulated backwards, so each reflector touches only the block it
 * changes: columns left of its first row are still unit vectors there.
 */
export function accumulate(
  m: number,
  p: number,
  taus: Float64Array,
  shift: number,
  vsrc: Float64Array,
  voff: (j: number) => number,
  vstride: number,
): Float64Array {
  const q = new Float64Array(m * p);
  for (let i = 0; i < Math.min(m, p); i++) q[i * p + i] = 1;
  const w = new Float64Array(p);
  for (let j = taus.length - 1; j >= 0; j--) {
    const r0 = j + shift;
    if (r0 >= m) continue;
    applyLeft(q, p, r0, m - r0, Math.min(r0, p), p, taus[j], vsrc, voff(j), vstride, w);
  }
  return q;
}
