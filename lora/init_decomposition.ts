/**
 * PEFT's decomposition initialisations (`LoraLayer.pissa_init`,
 * `olora_init`): A and B from the SVD / QR of the base weight, with
 * `scaling·B·A` subtracted from it so the wrapped model starts where the
 * base was.
 *
 * - `"pissa"`: `V, S, Uh = svd(W)`; with `Sr = S[:r] / scaling`,
 *   `A = diag(√Sr)·Uh[:r]`, `B = V[:, :r]·diag(√Sr)`.
 * - `"pissa_niter_N"`: the same from `torch.svd_lowrank(W, r, niter=N)`, a
 *   randomised range finder with N power iterations (drawn from the
 *   library's RNG, so `seed` fixes it).
 * - `"olora"`: `Q, R = qr(W)`; `A = R[:r]`, `B = Q[:, :r]`.
 *
 * The base weight is read back (at once where the backend reads
 * synchronously, awaited elsewhere), factorised on the CPU backend with
 * `linalg`, and the results are uploaded to the layer's backend: the same
 * numbers on every backend.
 *
 * @module
 */

import { noGrad, randn, scope, type Tensor, tensor } from "../tensor/mod.ts";
import { Conv1D, type Module } from "../nn/mod.ts";
import * as linalg from "../linalg/mod.ts";

/** Where the factorisations run. */
const HOST = "cpu";

/** A 2-D matrix on the host: row-major values and its shape. */
export interface _HostMatrix {
  data: Float32Array;
  shape: [number, number];
}

/** One layer's decomposition: its A, B and residual base weight (storage layout), on the host. */
export interface _Decomposed {
  a: _HostMatrix;
  b: _HostMatrix;
  residual: _HostMatrix;
}

/** A layer to decompose: its name, base layer, rank and scaling. */
export type _DecompositionTarget = [name: string, base: Module, rank: number, scaling: number];

/** Whether values of `t`'s backend read back synchronously. */
export function _readsSync(t: Tensor): boolean {
  return t._backend.readSync !== undefined;
}

/** The base weight with one row per output, [out, in] (a Conv1D's transposed view). */
function _rowWeight(base: Module): Tensor {
  const l = base as unknown as { weight: Tensor; linearWeight?: Tensor };
  return base instanceof Conv1D ? l.linearWeight! : l.weight;
}

function _host(t: Tensor, data: ArrayLike<number>): _HostMatrix {
  return { data: Float32Array.from(data), shape: [t.shape[0], t.shape[1]] };
}

/** `torch.svd_lowrank`'s `get_approximate_basis`: an orthonormal basis of W·R's range, refined N times. */
function _basis(w: Tensor, q: number, niter: number): Tensor {
  const r = randn([w.shape[1], q], { backend: HOST });
  let Q = linalg.qr(w.matmul(r)).Q;
  for (let i = 0; i < niter; i++) {
    Q = linalg.qr(w.transpose(0, 1).matmul(Q)).Q;
    Q = linalg.qr(w.matmul(Q)).Q;
  }
  return Q;
}

/**
 * `torch.svd_lowrank(W, q, niter)` → [U, S, V] with W ≈ U·diag(S)·Vᵀ; as
 * torch, through the transpose when W is wide or has more than q columns.
 */
function _svdLowrank(w: Tensor, q: number, niter: number): [Tensor, Tensor, Tensor] {
  const [m, n] = w.shape;
  if (m < n || n > q) {
    const qb = _basis(w.transpose(0, 1), q, niter); // [n, q]
    const { U, S, Vh } = linalg.svd(w.matmul(qb)); // [m, q]
    return [U, S, qb.matmul(Vh.transpose(0, 1))];
  }
  const qb = _basis(w, q, niter); // [m, q]
  const { U, S, Vh } = linalg.svd(qb.transpose(0, 1).matmul(w)); // [q, n]
  return [qb.matmul(U), S, Vh.transpose(0, 1)];
}

/** A and B of one weight on the host backend. */
function _factors(w: Tensor, init: string, rank: number, scaling: number): [Tensor, Tensor] {
  if (init === "olora") {
    const { Q, R } = linalg.qr(w);
    return [R.narrow(0, 0, rank), Q.narrow(1, 0, rank)];
  }
  let v: Tensor, s: Tensor, uh: Tensor;
  if (init === "pissa") {
    const { U, S, Vh } = linalg.svd(w);
    [v, s, uh] = [U.narrow(1, 0, rank), S.narrow(0, 0, rank), Vh.narrow(0, 0, rank)];
  } else {
    const [u, sv, vv] = _svdLowrank(w, rank, Number(init.split("_niter_")[1]));
    [v, s, uh] = [u, sv, vv.transpose(0, 1)];
  }
  const root = s.div(scaling).sqrt();
  return [uh.mul(root.reshape([-1, 1])), v.mul(root.reshape([1, -1]))];
}

/**
 * Decomposes one weight read back to the host: A, B and `W − scaling·B·A`.
 *
 * @param w The weight with one row per output, [out, in], as host values.
 * @param init The init.
 * @param rank r.
 * @param scaling The adapter's scaling.
 * @param conv Whether the base stores its weight [in, out] (the residual is given so).
 * @returns The host results.
 */
export function _decomposeHost(
  w: _HostMatrix,
  init: string,
  rank: number,
  scaling: number,
  conv: boolean,
): _Decomposed {
  return noGrad(() =>
    scope(() => {
      const wt = tensor(w.data, { shape: w.shape, backend: HOST });
      const [a, b] = _factors(wt, init, rank, scaling);
      const res = wt.sub(b.matmul(a).mul(scaling));
      const stored = conv ? res.transpose(0, 1) : res;
      return {
        a: _host(a, a.dataSync()),
        b: _host(b, b.dataSync()),
        residual: _host(stored, stored.dataSync()),
      };
    })
  );
}

/**
 * The decompositions of several layers, every weight read back at once
 * (a synchronous backend).
 *
 * @param layers The layers.
 * @param init The init.
 * @returns Name → host results.
 */
export function _decomposeSync(
  layers: _DecompositionTarget[],
  init: string,
): Map<string, _Decomposed> {
  const out = new Map<string, _Decomposed>();
  for (const [name, base, rank, scaling] of layers) {
    const wr = _rowWeight(base);
    const w = _host(wr, wr.dataSync());
    out.set(name, _decomposeHost(w, init, rank, scaling, base instanceof Conv1D));
  }
  return out;
}

/**
 * The decompositions of several layers, each weight read back with await.
 *
 * @param layers The layers.
 * @param init The init.
 * @returns Name → host results.
 */
export async function _decomposeAsync(
  layers: _DecompositionTarget[],
  init: string,
): Promise<Map<string, _Decomposed>> {
  const out = new Map<string, _Decomposed>();
  for (const [name, base, rank, scaling] of layers) {
    const wr = _rowWeight(base);
    const w = _host(wr, await wr.data());
    out.set(name, _decomposeHost(w, init, rank, scaling, base instanceof Conv1D));
  }
  return out;
}

/**
 * Checks that an init can be decomposed for these layers.
 *
 * @throws {TypeError} For OLoRA on a Conv1D (PEFT does not transpose it).
 * @throws {RangeError} For a rank above min(in, out).
 */
export function _checkDecomposable(
  who: string,
  init: string,
  layers: _DecompositionTarget[],
): void {
  for (const [name, base, rank] of layers) {
    if (init === "olora" && base instanceof Conv1D) {
      throw new TypeError(`${who}: init "olora" on the Conv1D "${name}" is not supported`);
    }
    const l = base as unknown as { inFeatures: number; outFeatures: number };
    const most = Math.min(l.inFeatures, l.outFeatures);
    if (rank > most) {
      throw new RangeError(
        `${who}: init "${init}" needs rank ≤ min(in, out) = ${most} for "${name}", got ${rank}`,
      );
    }
  }
}
