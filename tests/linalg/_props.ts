/**
 * Property checks for SVD and QR results, in float64 on the host, from the
 * input's float32 values: reconstruction, orthonormality, order, signs of
 * S, triangularity and shapes. These hold for every correct factorisation
 * whatever signs it picked, so they check the results without assuming
 * this library's sign convention; together they pin an SVD down (a
 * factorisation with orthonormal U, V, a descending non-negative S and
 * U·diag(S)·Vh = A is an SVD).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { linalg, Tensor } from "../../mod.ts";

/** A seeded float32 matrix with entries in [−1, 1), times `scale`. */
export function randomMatrix(next: () => number, m: number, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: m * n }, () => (next() * 2 - 1) * scale);
}

/** A = B·C rounded to float32 for B m×k, C k×n random: rank ≤ k. */
export function lowRank(next: () => number, m: number, n: number, k: number): Float32Array {
  const b = randomMatrix(next, m, k), c = randomMatrix(next, k, n);
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let t = 0;
      for (let l = 0; l < k; l++) t += b[i * k + l] * c[l * n + j];
      out[i * n + j] = t;
    }
  }
  return out;
}

async function host(t: Tensor, shape: number[], what: string): Promise<Float64Array> {
  assert.deepEqual(t.shape, shape, `${what} shape`);
  assert.equal(t.dtype, "float32", `${what} dtype`);
  return Float64Array.from(await t.data());
}

function frobenius(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** max |XᵀX − I| for the `cols` columns of the row-major rows×cols X. */
function columnOrthonormality(x: Float64Array, rows: number, cols: number): number {
  let worst = 0;
  for (let a = 0; a < cols; a++) {
    for (let b = a; b < cols; b++) {
      let t = 0;
      for (let i = 0; i < rows; i++) t += x[i * cols + a] * x[i * cols + b];
      worst = Math.max(worst, Math.abs(t - (a === b ? 1 : 0)));
    }
  }
  return worst;
}

/** ‖A − X·Y‖_F / max(‖A‖_F, tiny), X m×k, Y k×n row-major. */
function residual(
  a: ArrayLike<number>,
  x: Float64Array,
  y: Float64Array,
  m: number,
  k: number,
  n: number,
): number {
  const diff = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let t = 0;
      for (let l = 0; l < k; l++) t += x[i * k + l] * y[l * n + j];
      diff[i * n + j] = a[i * n + j] - t;
    }
  }
  const norm = frobenius(a);
  return norm === 0 ? frobenius(diff) : frobenius(diff) / norm;
}

/** Tolerances: float32 results of a float64 computation. */
const RECON = 1e-5, ORTHO = 1e-5;

/**
 * Asserts that `r` is an SVD of the m×n matrix `a` with the shapes of
 * `full` or reduced matrices; returns S in float64.
 */
export async function checkSvd(
  a: Float32Array,
  m: number,
  n: number,
  r: linalg.SvdResult,
  full: boolean,
): Promise<Float64Array> {
  const k = Math.min(m, n), p = full ? m : k, q = full ? n : k;
  const u = await host(r.U, [m, p], "U");
  const s = await host(r.S, [k], "S");
  const vh = await host(r.Vh, [q, n], "Vh");
  for (let i = 0; i < k; i++) {
    assert.ok(s[i] >= 0, `S[${i}] = ${s[i]} is negative`);
    if (i > 0) assert.ok(s[i] <= s[i - 1], `S not descending at ${i}: ${s[i - 1]}, ${s[i]}`);
  }
  const o1 = columnOrthonormality(u, m, p);
  assert.ok(o1 <= ORTHO, `UᵀU differs from I by ${o1} (${m}×${n})`);
  const vt = new Float64Array(n * q);
  for (let i = 0; i < q; i++) for (let j = 0; j < n; j++) vt[j * q + i] = vh[i * n + j];
  const o2 = columnOrthonormality(vt, n, q);
  assert.ok(o2 <= ORTHO, `Vh·Vhᵀ differs from I by ${o2} (${m}×${n})`);
  // U[:, :k]·diag(S) then times Vh[:k].
  const us = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let l = 0; l < k; l++) us[i * k + l] = u[i * p + l] * s[l];
  const res = residual(a, us, vh.subarray(0, k * n), m, k, n);
  assert.ok(res <= RECON, `‖A − U·diag(S)·Vh‖/‖A‖ = ${res} (${m}×${n})`);
  return s;
}

/** Asserts that `r` is a QR factorisation of the m×n matrix `a` in `mode`. */
export async function checkQr(
  a: Float32Array,
  m: number,
  n: number,
  r: linalg.QrResult,
  mode: "reduced" | "complete",
): Promise<{ q: Float64Array; r: Float64Array }> {
  const k = Math.min(m, n), p = mode === "complete" ? m : k;
  const q = await host(r.Q, [m, p], "Q");
  const rr = await host(r.R, [p, n], "R");
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < Math.min(i, n); j++) {
      assert.equal(rr[i * n + j], 0, `R[${i}][${j}] = ${rr[i * n + j]} below the diagonal`);
    }
  }
  const o = columnOrthonormality(q, m, p);
  assert.ok(o <= ORTHO, `QᵀQ differs from I by ${o} (${m}×${n})`);
  const res = residual(a, q, rr, m, p, n);
  assert.ok(res <= RECON, `‖A − Q·R‖/‖A‖ = ${res} (${m}×${n})`);
  return { q, r: rr };
}

/** Asserts |got| ≈ |want| entry by entry, to atol + rtol·|want|. */
export function assertAbsClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  atol: number,
  rtol: number,
  what: string,
): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const g = Math.abs(got[i]), w = Math.abs(want[i]);
    assert.ok(Math.abs(g - w) <= atol + rtol * w, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}
