/**
 * The SVD of a row-major float64 matrix on the host: Householder
 * bidiagonalisation `A = Q·B·Pᵀ` (Golub & Kahan), then implicit-shift QR
 * on B (`_bidiagonal_qr.ts`), then signs, order and the sign convention.
 * A wide matrix is handled through its transpose.
 *
 * @module
 */

import { accumulate, applyLeft, applyRight, makeReflector } from "./_householder.ts";
import { bidiagonalQr } from "./_bidiagonal_qr.ts";

/** A host SVD: `A = U·diag(s)·Vh`, row-major. */
export interface HostSvd {
  /** m×(m or k) left vectors, or null when only values were asked for. */
  u: Float64Array | null;
  /** The k = min(m, n) singular values, descending, ≥ 0. */
  s: Float64Array;
  /** (n or k)×n right vectors as rows, or null. */
  vt: Float64Array | null;
}

/** What to compute. */
export interface HostSvdOptions {
  /** Square U and Vh (`fullMatrices`) instead of the reduced ones. */
  full: boolean;
  /** False: singular values only. */
  vectors: boolean;
}

/** The transpose of a row-major r×c matrix. */
export function transpose(a: Float64Array, r: number, c: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a[i * c + j];
  return out;
}

function identity(k: number): Float64Array {
  const out = new Float64Array(k * k);
  for (let i = 0; i < k; i++) out[i * k + i] = 1;
  return out;
}

/** Reduces a (m ≥ n, overwritten) to bidiagonal form; returns d, e and the τ's. */
function bidiagonalise(a: Float64Array, m: number, n: number) {
  const d = new Float64Array(n), e = new Float64Array(Math.max(n - 1, 0));
  const tauL = new Float64Array(n), tauR = new Float64Array(Math.max(n - 1, 0));
  const w = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const diag = k * n + k;
    tauL[k] = makeReflector(a, diag, n, m - k);
    d[k] = a[diag];
    applyLeft(a, n, k, m - k, k + 1, n, tauL[k], a, diag, n, w);
    if (k < n - 1) {
      tauR[k] = makeReflector(a, diag + 1, 1, n - k - 1);
      e[k] = a[diag + 1];
      applyRight(a, n, k + 1, m, k + 1, n - k - 1, tauR[k], a, diag + 1);
    }
  }
  return { d, e, tauL, tauR };
}

/**
 * Negates negative values (and their right vectors) and sorts descending
 * (stable). Returns U (m×p, from the rows `ut`) and the reordered Vh.
 */
function finish(
  s: Float64Array,
  ut: Float64Array | null,
  vt: Float64Array | null,
  m: number,
  n: number,
  p: number,
): HostSvd {
  const k = s.length;
  const order = Array.from({ length: k }, (_, i) => i).sort((a, b) =>
    Math.abs(s[b]) - Math.abs(s[a]) || a - b
  );
  const sorted = Float64Array.from(order, (i) => Math.abs(s[i]));
  if (ut === null || vt === null) return { u: null, s: sorted, vt: null };
  const u = new Float64Array(m * p), v = vt.slice();
  for (let c = 0; c < p; c++) {
    const src = c < k ? order[c] : c;
    for (let r = 0; r < m; r++) u[r * p + c] = ut[src * m + r];
    if (c < k) {
      const sign = s[src] < 0 ? -1 : 1;
      for (let j = 0; j < n; j++) v[c * n + j] = sign * vt[src * n + j];
    }
  }
  return { u, s: sorted, vt: v };
}

/**
 * The sign convention: for i < k, the largest-magnitude entry of U's
 * column i (the first on a tie) is made positive, negating row i of Vh
 * with it, so the result does not depend on the iteration's path or on
 * whether A was handled through its transpose.
 */
function normaliseSigns(r: HostSvd, m: number, n: number): HostSvd {
  const { u, vt } = r;
  if (u === null || vt === null) return r;
  const p = u.length / m;
  for (let c = 0; c < r.s.length; c++) {
    let big = 0, neg = false;
    for (let i = 0; i < m; i++) {
      const x = u[i * p + c];
      if (Math.abs(x) > big) [big, neg] = [Math.abs(x), x < 0];
    }
    if (!neg) continue;
    for (let i = 0; i < m; i++) u[i * p + c] = -u[i * p + c];
    for (let j = 0; j < n; j++) vt[c * n + j] = -vt[c * n + j];
  }
  return r;
}

/** The SVD of a tall (m ≥ n) matrix; `a` is not changed. */
function tallSvd(a: Float64Array, m: number, n: number, o: HostSvdOptions): HostSvd {
  const work = a.slice();
  const { d, e, tauL, tauR } = bidiagonalise(work, m, n);
  const p = o.full ? m : n;
  let ut: Float64Array | null = null, vt: Float64Array | null = null;
  if (o.vectors) {
    ut = transpose(accumulate(m, p, tauL, 0, work, (j) => j * n + j, n), m, p);
    vt = transpose(accumulate(n, n, tauR, 1, work, (j) => j * n + j + 1, 1), n, n);
  }
  bidiagonalQr(d, e, { ut, m, vt, n });
  return finish(d, ut, vt, m, n, p);
}

/**
 * `A = U·diag(s)·Vh` for the row-major m×n float64 matrix `a` (not
 * changed). Reduced: U m×k, Vh k×n; full: U m×m, Vh n×n.
 */
export function hostSvd(a: Float64Array, m: number, n: number, o: HostSvdOptions): HostSvd {
  if (m === 0 || n === 0) {
    return {
      u: o.vectors ? (o.full ? identity(m) : new Float64Array(0)) : null,
      s: new Float64Array(0),
      vt: o.vectors ? (o.full ? identity(n) : new Float64Array(0)) : null,
    };
  }
  if (m >= n) return normaliseSigns(tallSvd(a, m, n, o), m, n);
  // Aᵀ = U'·S·V'ᵀ, so A = V'·S·U'ᵀ.
  const t = tallSvd(transpose(a, m, n), n, m, o);
  const vRows = t.u === null ? 0 : t.u.length / n;
  const r: HostSvd = {
    u: t.vt === null ? null : transpose(t.vt, m, m),
    s: t.s,
    vt: t.u === null ? null : transpose(t.u, n, vRows),
  };
  return normaliseSigns(r, m, n);
}
