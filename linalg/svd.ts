/**
 * `linalg.svd` and `linalg.svdvals`: the singular value decomposition of a
 * matrix, computed in float64 on the host.
 *
 * @module
 */

import type { Tensor } from "../tensor/mod.ts";
import { hostSvd } from "./_host_svd.ts";
import { checkMatrix, checkOptions, readMatrix, settle, type Settled, upload } from "./_matrix.ts";

/**
 * Options of {@link svd}.
 *
 * @example
 * ```ts
 * import { linalg, randn } from "../mod.ts";
 * const opts: linalg.SvdOptions = { fullMatrices: true };
 * const { U } = await linalg.svd(randn([5, 2]), opts);
 * console.log(U.shape); // [5, 5]
 * ```
 */
export interface SvdOptions {
  /**
   * Square U (m×m) and Vh (n×n) instead of the reduced U (m×k) and Vh
   * (k×n), k = min(m, n). Default false: the reduced form (PyTorch's
   * default is true; this library's contract fixes the reduced one).
   */
  fullMatrices?: boolean;
}

/**
 * The result of {@link svd}: `x ≈ U·diag(S)·Vh`.
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "../mod.ts";
 * const r: linalg.SvdResult = await linalg.svd(tensor([[3, 0], [0, 4]]));
 * console.log(await r.S.toArray()); // [4, 3]
 * ```
 */
export interface SvdResult {
  /** Left singular vectors as columns: m×k, or m×m with `fullMatrices`. */
  U: Tensor;
  /** The k = min(m, n) singular values, descending, ≥ 0. */
  S: Tensor;
  /** Right singular vectors as rows: k×n, or n×n with `fullMatrices`. */
  Vh: Tensor;
}

/**
 * The singular value decomposition `x = U·diag(S)·Vh` of a 2-D float32
 * tensor, as `torch.linalg.svd` (reduced by default). Asynchronous: it
 * reads `x` back, computes in float64 on the host (Householder
 * bidiagonalisation, then implicit-shift QR) and uploads U, S and Vh as
 * float32 tensors on `x`'s backend. Any shape works, including rank-
 * deficient, 1×n, n×1, zero and empty matrices.
 *
 * Signs: singular vectors are unique only up to a common sign per pair
 * (and, for repeated singular values, up to a rotation), so they need not
 * equal PyTorch's. This function fixes one choice: in each of the first k
 * columns of U the entry of largest magnitude (the first on a tie) is
 * positive, and row i of Vh carries the matching sign. With
 * `fullMatrices`, U's columns past k (and Vh's rows past k) are an
 * orthonormal completion, as unique as that. Check results by their
 * properties (reconstruction, orthonormality, order), not by entries.
 *
 * The results are constants: no gradient flows back to `x` through them.
 *
 * @param x An m×n float32 tensor of finite values.
 * @param opts `{ fullMatrices? }` (default false).
 * @returns `{ U, S, Vh }` on `x`'s backend.
 * @throws {TypeError} When `x` is not a Tensor or not float32, or for a
 *   bad option.
 * @throws {RangeError} When `x` is not 2-D, or holds a NaN or an infinity
 *   (PyTorch raises for these too; the message names the element).
 * @example
 * ```ts
 * import { linalg, tensor } from "../mod.ts";
 * const x = tensor([[1, 2], [3, 4], [5, 6]]);
 * const { U, S, Vh } = await linalg.svd(x);
 * console.log(U.shape, S.shape, Vh.shape); // [3, 2] [2] [2, 2]
 * const back = U.mul(S).matmul(Vh); // ≈ x
 * ```
 */
export function svd(x: Tensor, opts?: SvdOptions): Settled<SvdResult> {
  const who = "linalg.svd";
  checkMatrix(who, x);
  const o = checkOptions(who, opts, ["fullMatrices"]);
  const full = o.fullMatrices ?? false;
  if (typeof full !== "boolean") {
    throw new TypeError(`${who}: fullMatrices must be a boolean, got ${typeof full}`);
  }
  const [m, n] = x.shape, k = Math.min(m, n);
  return settle(who, x, ["U", "S", "Vh"], (a) => {
    const r = hostSvd(a, m, n, { full, vectors: true });
    const made: Tensor[] = [];
    try {
      made.push(upload(r.u!, [m, full ? m : k], x.backend));
      made.push(upload(r.s, [k], x.backend));
      made.push(upload(r.vt!, [full ? n : k, n], x.backend));
    } catch (e) {
      for (const t of made) t.dispose();
      throw e;
    }
    return { U: made[0], S: made[1], Vh: made[2] };
  });
}

/**
 * The singular values of a 2-D float32 tensor, descending, as
 * `torch.linalg.svdvals`: the `S` of {@link svd} without forming U and Vh
 * (faster). Asynchronous, computed in float64 on the host.
 *
 * @param x An m×n float32 tensor of finite values.
 * @returns A tensor of the min(m, n) singular values on `x`'s backend.
 * @throws {TypeError} When `x` is not a float32 Tensor.
 * @throws {RangeError} When `x` is not 2-D or holds a NaN or an infinity.
 * @example
 * ```ts
 * import { linalg, tensor } from "../mod.ts";
 * const s = await linalg.svdvals(tensor([[0, 2], [1, 0]]));
 * console.log(await s.toArray()); // [2, 1]
 * ```
 */
export async function svdvals(x: Tensor): Promise<Tensor> {
  const who = "linalg.svdvals";
  checkMatrix(who, x);
  const [m, n] = x.shape;
  const a = await readMatrix(who, x);
  const r = hostSvd(a, m, n, { full: false, vectors: false });
  return upload(r.s, [Math.min(m, n)], x.backend);
}
