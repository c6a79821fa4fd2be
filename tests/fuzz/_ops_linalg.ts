/**
 * The fuzzed `linalg` functions, `svd` and `qr`. A factorisation is unique
 * only up to signs, so the library side does not return raw factors: the
 * call reads U, S, Vh (or Q, R) back, checks their shapes, reconstruction,
 * orthonormality and structure in float64, disposes them, and reports a
 * {@link LinalgSummary} that is compared with `_ref_linalg.ts`'s
 * (singular values and |diag R| from independent algorithms).
 *
 * @module
 */
import { linalg, type Tensor } from "../../mod.ts";
import { type Arg, type Gen, T, V } from "./_gen.ts";
import type { OpSpec } from "./_ops.ts";
import { type LinalgSummary, qrRef, svdRef } from "./_ref_linalg.ts";

/** ‖A − X·Y‖_F / ‖A‖_F for row-major A m×n, X m×k, Y k×n (Y's rows at stride n). */
function residual(a: Float64Array, x: Float64Array, y: Float64Array, m: number, k: number) {
  const n = a.length / Math.max(m, 1) || 0;
  let err = 0, norm = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let t = 0;
      for (let l = 0; l < k; l++) t += x[i * k + l] * y[l * n + j];
      err += (a[i * n + j] - t) ** 2;
      norm += a[i * n + j] ** 2;
    }
  }
  return Math.sqrt(err) / (Math.sqrt(norm) || 1);
}

/** max |XᵀX − I| over X's `cols` columns (X row-major rows×cols). */
function ortho(x: Float64Array, rows: number, cols: number): number {
  let worst = 0;
  for (let p = 0; p < cols; p++) {
    for (let q = p; q < cols; q++) {
      let t = 0;
      for (let i = 0; i < rows; i++) t += x[i * cols + p] * x[i * cols + q];
      worst = Math.max(worst, Math.abs(t - (p === q ? 1 : 0)));
    }
  }
  return worst;
}

const f64 = async (t: Tensor) => Float64Array.from(await t.data());

function transposed(x: Float64Array, r: number, c: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = x[i * c + j];
  return out;
}

async function svdSummary(x: Tensor, opts: unknown): Promise<LinalgSummary> {
  const r = await linalg.svd(x, opts as linalg.SvdOptions);
  try {
    const [m, n] = x.shape, k = Math.min(m, n);
    const [a, u, s, vh] = await Promise.all([x, r.U, r.S, r.Vh].map(f64));
    const p = r.U.shape[1], q = r.Vh.shape[0];
    const us = new Float64Array(m * k);
    for (let i = 0; i < m; i++) for (let l = 0; l < k; l++) us[i * k + l] = u[i * p + l] * s[l];
    const norm = Math.sqrt(a.reduce((t, v) => t + v * v, 0)) || 1;
    return {
      shapes: [r.U.shape, r.S.shape, r.Vh.shape].map((sh) => [...sh]),
      values: Array.from(s, (v) => v / norm),
      recon: residual(a, us, vh, m, k),
      ortho: Math.max(ortho(u, m, p), ortho(transposed(vh, q, n), n, q)),
      structure: s.every((v, i) => v >= 0 && (i === 0 || v <= s[i - 1])),
    };
  } finally {
    for (const t of [r.U, r.S, r.Vh]) t.dispose();
  }
}

async function qrSummary(x: Tensor, opts: unknown): Promise<LinalgSummary> {
  const r = await linalg.qr(x, opts as linalg.QrOptions);
  try {
    const [m, n] = x.shape, k = Math.min(m, n);
    const [a, q, rr] = await Promise.all([x, r.Q, r.R].map(f64));
    const p = r.Q.shape[1] ?? 0;
    const norm = Math.sqrt(a.reduce((t, v) => t + v * v, 0)) || 1;
    let below = true;
    for (let i = 0; i < r.R.shape[0]; i++) {
      for (let j = 0; j < Math.min(i, n); j++) {
        if (rr[i * n + j] !== 0) below = false;
      }
    }
    return {
      shapes: [r.Q.shape, r.R.shape].map((sh) => [...sh]),
      values: Array.from({ length: k }, (_, i) => Math.abs(rr[i * n + i]) / norm),
      recon: residual(a, q, rr, m, p),
      ortho: ortho(q, m, p),
      structure: below,
    };
  } finally {
    r.Q.dispose();
    r.R.dispose();
  }
}

/** A matrix argument: mostly 2-D (small, or one long dim), sometimes another rank or int32. */
function matrixArg(g: Gen): Arg {
  const r = g.rng;
  const shape = r.chance(0.12)
    ? g.shape()
    : r.chance(0.5)
    ? g.shape(2)
    : [r.int(0, 12), r.int(0, 12)];
  return T(g.tensor(shape, g.dtype(0.06)));
}

function optsArg(g: Gen, key: string, good: unknown[]): Arg {
  const r = g.rng;
  if (r.chance(0.4)) return V(undefined);
  if (r.chance(0.05)) return V(g.junk());
  if (r.chance(0.05)) return V({ [key]: g.junk() });
  if (r.chance(0.03)) return V({ [key]: r.pick(good), extra: 1 });
  return V({ [key]: r.pick(good) });
}

/** The linalg ops. */
export function linalgOps(): OpSpec[] {
  return [
    {
      name: "svd",
      names: ["linalg.svd"],
      gen: (
        g,
      ) => [
        g.rng.chance(0.03) ? V(g.junk()) : matrixArg(g),
        optsArg(g, "fullMatrices", [true, false]),
      ],
      run: (a) => svdSummary(a[0] as Tensor, a[1]),
      ref: (a) => svdRef(a[0], a[1]),
      show: (a) => `linalg.svd(${a.join(", ")})`,
    },
    {
      name: "qr",
      names: ["linalg.qr"],
      gen: (g) => [matrixArg(g), optsArg(g, "mode", ["reduced", "complete"])],
      run: (a) => qrSummary(a[0] as Tensor, a[1]),
      ref: (a) => qrRef(a[0], a[1]),
      show: (a) => `linalg.qr(${a.join(", ")})`,
    },
  ];
}
