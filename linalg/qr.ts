/**
 * `linalg.qr`: the QR decomposition of a matrix by Householder
 * reflections, computed in float64 on the host.
 *
 * @module
 */

import type { Tensor } from "../tensor/mod.ts";
import { hostQr, type QrMode } from "./_host_qr.ts";
import { checkMatrix, checkOptions, settle, type Settled, upload } from "./_matrix.ts";

export type { QrMode } from "./_host_qr.ts";

/**
 * Options of {@link qr}.
 *
 * @example
 * ```ts
 * import { linalg, randn } from "../mod.ts";
 * const opts: linalg.QrOptions = { mode: "complete" };
 * const { Q, R } = await linalg.qr(randn([4, 2]), opts);
 * console.log(Q.shape, R.shape); // [4, 4] [4, 2]
 * ```
 */
export interface QrOptions {
  /**
   * `"reduced"` (default): Q m×k, R k×n, k = min(m, n). `"complete"`: Q
   * m×m, R m×n. `"r"`: R (k×n) only; Q is an empty tensor of shape [0],
   * as PyTorch returns.
   */
  mode?: QrMode;
}

/**
 * The result of {@link qr}: `x = Q·R`.
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "../mod.ts";
 * const r: linalg.QrResult = await linalg.qr(tensor([[3], [4]]));
 * console.log(await r.R.toArray()); // [[-5]]
 * ```
 */
export interface QrResult {
  /** Orthonormal columns: m×k, or m×m in mode "complete". */
  Q: Tensor;
  /** Upper triangular (trapezoidal): k×n, or m×n in mode "complete". */
  R: Tensor;
}

const MODES: readonly string[] = ["reduced", "complete", "r"];

/**
 * The QR decomposition `x = Q·R` of a 2-D float32 tensor, as
 * `torch.linalg.qr`: Q has orthonormal columns, R is upper triangular.
 * Asynchronous: it reads `x` back, computes Householder QR in float64 on
 * the host and uploads Q and R as float32 tensors on `x`'s backend.
 *
 * Signs: QR is unique only up to the sign of each column of Q (with the
 * matching row of R). This function makes LAPACK's choice (which PyTorch's
 * CPU path uses): `R[j][j] = −sign(a)·‖c‖` where `c` is what is left of
 * column j from the diagonal down and `a` its top entry, so R's diagonal
 * may be negative; a column with nothing below the diagonal is left as it
 * is. For a rank-deficient `x`, Q's columns past the rank are one
 * orthonormal completion. Check results by their properties
 * (reconstruction, orthonormality, triangularity) and |diag R|.
 *
 * Unlike `torch.linalg.qr`, which returns NaNs, a NaN or an infinity in
 * `x` is an error. The results are constants: no gradient flows back to
 * `x` through them.
 *
 * @param x An m×n float32 tensor of finite values.
 * @param opts `{ mode? }`: `"reduced"` (default), `"complete"` or `"r"`.
 * @returns `{ Q, R }` on `x`'s backend.
 * @throws {TypeError} When `x` is not a float32 Tensor, or for a bad option.
 * @throws {RangeError} When `x` is not 2-D or holds a NaN or an infinity.
 * @example
 * ```ts
 * import { linalg, tensor } from "../mod.ts";
 * const { Q, R } = await linalg.qr(tensor([[1, 2], [3, 4], [5, 6]]));
 * console.log(Q.shape, R.shape); // [3, 2] [2, 2]
 * const back = Q.matmul(R); // ≈ x
 * ```
 */
export function qr(x: Tensor, opts?: QrOptions): Settled<QrResult> {
  const who = "linalg.qr";
  checkMatrix(who, x);
  const o = checkOptions(who, opts, ["mode"]);
  const mode = o.mode ?? "reduced";
  if (typeof mode !== "string" || !MODES.includes(mode)) {
    throw new TypeError(
      `${who}: mode must be "reduced", "complete" or "r", got ${
        typeof mode === "string" ? JSON.stringify(mode) : typeof mode
      }`,
    );
  }
  const [m, n] = x.shape, k = Math.min(m, n);
  return settle(who, x, ["Q", "R"], (a) => {
    const r = hostQr(a, m, n, mode as QrMode);
    const Q = r.q === null
      ? upload(new Float64Array(0), [0], x.backend)
      : upload(r.q, [m, mode === "complete" ? m : k], x.backend);
    try {
      return { Q, R: upload(r.r, [mode === "complete" ? m : k, n], x.backend) };
    } catch (e) {
      Q.dispose();
      throw e;
    }
  });
}
