/**
 * Linear algebra on matrices, in PyTorch's `torch.linalg` conventions:
 * `svd`, `svdvals` and `qr`. They read the matrix back, compute in float64
 * on the host and upload float32 results on the input's backend, so they
 * are the same on every backend. `svd` and `qr` answer at once where the
 * backend reads synchronously (the CPU) and can always be awaited (WebGPU
 * reads back asynchronously); `svdvals` always returns a promise.
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "../mod.ts";
 * const x = tensor([[2, 0], [0, -3]]);
 * const { S } = await linalg.svd(x);
 * console.log(await S.toArray()); // [3, 2]
 * const { R } = await linalg.qr(x);
 * console.log(R.shape); // [2, 2]
 * ```
 *
 * @module
 */

export { svd, type SvdOptions, type SvdResult, svdvals } from "./svd.ts";
export { qr, type QrMode, type QrOptions, type QrResult } from "./qr.ts";
export type { Settled } from "./_matrix.ts";
