/**
 * The fuzz suite's independent reference for `linalg.svd` and `linalg.qr`,
 * by other algorithms than the library's: singular values as the square
 * roots of the eigenvalues of the Gram matrix (AᵀA or AAᵀ, whichever is
 * smaller) by cyclic Jacobi rotations, and |diag R| as the diagonal of the
 * Cholesky factor of AᵀA. Both are normalised by ‖A‖_F so one tolerance
 * fits every scale. Argument checks are written out again in the order the
 * library documents (tensor, dtype, rank, options, finite values).
 *
 * @module
 */
import { Invalid, Ref } from "./_ref.ts";

/** What a linalg fuzz call reports (the library side computes the same). */
export interface LinalgSummary {
  shapes: number[][];
  /** Singular values or |diag R|, divided by ‖A‖_F (absent where not unique). */
  values?: number[];
  /** ‖A − product‖_F / ‖A‖_F. */
  recon: number;
  /** max |XᵀX − I| over the orthonormal factors. */
  ortho: number;
  /** S descending and ≥ 0 (svd); R zero below its diagonal (qr). */
  structure: boolean;
}

function checkArgs(who: string, x: unknown, opts: unknown, keys: string[]): Ref {
  if (!(x instanceof Ref)) throw new Invalid("TypeError", `${who}: not a tensor`);
  if (x.dtype !== "float32") throw new Invalid("TypeError", `${who}: dtype ${x.dtype}`);
  if (x.ndim !== 2) throw new Invalid("RangeError", `${who}: shape [${x.shape}]`);
  if (opts !== undefined) {
    if (opts === null || typeof opts !== "object" || Array.isArray(opts)) {
      throw new Invalid("TypeError", `${who}: options ${String(opts)}`);
    }
    const unknown = Object.keys(opts).filter((k) => !keys.includes(k));
    if (unknown.length > 0) throw new Invalid("TypeError", `${who}: unknown ${unknown}`);
  }
  return x;
}

function checkFinite(who: string, x: Ref): void {
  if (!x.data.every(Number.isFinite)) throw new Invalid("RangeError", `${who}: non-finite`);
}

function frobenius(a: Float64Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return Math.sqrt(s);
}

/** G = XᵀX for the row-major r×c X, or XXᵀ with `outer`. */
function gram(x: Float64Array, r: number, c: number, outer: boolean): Float64Array {
  const k = outer ? r : c, g = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      let t = 0;
      if (outer) { for (let l = 0; l < c; l++) t += x[i * c + l] * x[j * c + l]; }
      else for (let l = 0; l < r; l++) t += x[l * c + i] * x[l * c + j];
      g[i * k + j] = t;
    }
  }
  return g;
}

/** Eigenvalues of the symmetric k×k `g` by cyclic Jacobi rotations. */
export function jacobiEigenvalues(g: Float64Array, k: number): Float64Array {
  const a = g.slice();
  const at = (i: number, j: number) => i * k + j;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0, all = 0;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        all += a[at(i, j)] ** 2;
        if (i !== j) off += a[at(i, j)] ** 2;
      }
    }
    if (off <= 1e-32 * all) break;
    for (let p = 0; p < k; p++) {
      for (let q = p + 1; q < k; q++) {
        const apq = a[at(p, q)];
        if (apq === 0) continue;
        const theta = (a[at(q, q)] - a[at(p, p)]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let r = 0; r < k; r++) {
          const arp = a[at(r, p)], arq = a[at(r, q)];
          a[at(r, p)] = c * arp - s * arq;
          a[at(r, q)] = s * arp + c * arq;
        }
        for (let r = 0; r < k; r++) {
          const apr = a[at(p, r)], aqr = a[at(q, r)];
          a[at(p, r)] = c * apr - s * aqr;
          a[at(q, r)] = s * apr + c * aqr;
        }
      }
    }
  }
  return Float64Array.from({ length: k }, (_, i) => a[at(i, i)]);
}

/** The reference for `linalg.svd(x, opts)`. */
export function svdRef(x: unknown, opts: unknown): LinalgSummary {
  const a = checkArgs("linalg.svd", x, opts, ["fullMatrices"]);
  const full = (opts as { fullMatrices?: unknown } | undefined)?.fullMatrices ?? false;
  if (typeof full !== "boolean") throw new Invalid("TypeError", "linalg.svd: fullMatrices");
  checkFinite("linalg.svd", a);
  const [m, n] = a.shape, k = Math.min(m, n);
  const norm = frobenius(a.data) || 1;
  const eig = jacobiEigenvalues(gram(a.data, m, n, m < n), k);
  const values = Array.from(eig, (l) => Math.sqrt(Math.max(l, 0)) / norm).sort((p, q) => q - p);
  const shapes = [[m, full ? m : k], [k], [full ? n : k, n]];
  return { shapes, values, recon: 0, ortho: 0, structure: true };
}

/** The reference for `linalg.qr(x, opts)` (modes "reduced" and "complete"). */
export function qrRef(x: unknown, opts: unknown): LinalgSummary {
  const a = checkArgs("linalg.qr", x, opts, ["mode"]);
  const mode = (opts as { mode?: unknown } | undefined)?.mode ?? "reduced";
  if (mode !== "reduced" && mode !== "complete") {
    throw new Invalid("TypeError", `linalg.qr: mode ${String(mode)}`);
  }
  checkFinite("linalg.qr", a);
  const [m, n] = a.shape, k = Math.min(m, n), p = mode === "complete" ? m : k;
  const out: LinalgSummary = { shapes: [[m, p], [p, n]], recon: 0, ortho: 0, structure: true };
  // Cholesky of the leading k×k of AᵀA: its diagonal is |diag R|, unique
  // while every pivot stays clear of zero (else Q's columns past the rank,
  // and the later diagonal entries with them, are a free choice).
  const norm = frobenius(a.data) || 1;
  const g = gram(a.data, m, n, false), l = new Float64Array(k * k), values: number[] = [];
  for (let j = 0; j < k; j++) {
    let d = g[j * n + j];
    for (let i = 0; i < j; i++) d -= l[j * k + i] ** 2;
    const pivot = Math.sqrt(Math.max(d, 0));
    if (pivot <= 1e-4 * norm) return out;
    l[j * k + j] = pivot;
    for (let r = j + 1; r < k; r++) {
      let t = g[r * n + j];
      for (let i = 0; i < j; i++) t -= l[r * k + i] * l[j * k + i];
      l[r * k + j] = t / pivot;
    }
    values.push(pivot / norm);
  }
  return { ...out, values };
}
