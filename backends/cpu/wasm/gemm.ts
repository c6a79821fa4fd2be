/**
 * The cache-blocked SGEMM driver (Goto/BLIS loop order) over the wasm
 * pack and gebp kernels. Runs on whichever thread owns `ex`/`scratch`.
 *
 * @module
 */

import { KC, MC, MR, NC, NR } from "./blocking.ts";

/** Scratch bytes one thread needs: packed A, packed B, one edge tile. */
export const SCRATCH_BYTES: number = (MC * KC + KC * NC + MR * NR) * 4 + 256;

/** The wasm exports the driver uses. */
export interface GemmExports {
  /** See `gebp` in wasm_module.ts. */
  gebp(
    mc: number,
    nc: number,
    kc: number,
    pa: number,
    pb: number,
    c: number,
    ldc: number,
    load: number,
    tile: number,
  ): void;
  /** See `pack` in wasm_module.ts. */
  pack(
    mn: number,
    kc: number,
    src: number,
    sMN: number,
    sK: number,
    dst: number,
    w: number,
  ): void;
}

/**
 * C[M,N] (+)= A·B with element strides; pointers in bytes. `scratch` is a
 * 64-byte aligned block of {@link SCRATCH_BYTES}. K must be ≥ 1.
 */
export function sgemmBlocked(
  ex: GemmExports,
  scratch: number,
  M: number,
  N: number,
  K: number,
  a: number,
  rsA: number,
  csA: number,
  b: number,
  rsB: number,
  csB: number,
  c: number,
  ldc: number,
  accumulate: boolean,
): void {
  const packA = scratch;
  const packB = packA + MC * KC * 4;
  const tile = packB + KC * NC * 4;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      ex.pack(
        nc,
        kc,
        b + (pc * rsB + jc * csB) * 4,
        csB * 4,
        rsB * 4,
        packB,
        NR,
      );
      const load = pc > 0 || accumulate ? 1 : 0;
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic);
        ex.pack(
          mc,
          kc,
          a + (ic * rsA + pc * csA) * 4,
          rsA * 4,
          csA * 4,
          packA,
          MR,
        );
        ex.gebp(
          mc,
          nc,
          kc,
          packA,
          packB,
          c + (ic * ldc + jc) * 4,
          ldc * 4,
          load,
          tile,
        );
      }
    }
  }
}

/** Control-block slots (Int32 indices) the parallel driver counts with. */
export const NEXT_PACK = 5, PACKED = 6, NEXT_CHUNK = 7;

/** Arguments of one parallel SGEMM, identical on every thread. */
export interface ParallelGemm {
  /** Rows of C. */
  M: number;
  /** Columns of C. */
  N: number;
  /** Inner dimension. */
  K: number;
  /** A's byte address. */
  a: number;
  /** A's row stride (elements). */
  rsA: number;
  /** A's column stride (elements). */
  csA: number;
  /** B's byte address. */
  b: number;
  /** B's row stride (elements). */
  rsB: number;
  /** B's column stride (elements). */
  csB: number;
  /** C's byte address. */
  c: number;
  /** C's leading dimension (elements). */
  ldc: number;
  /** Add to C instead of overwriting it. */
  accumulate: boolean;
  /** Buffer for the operand packed once and shared by both threads. */
  shared: number;
  /** True: A is shared and chunks are column blocks of N; else the mirror. */
  shareA: boolean;
  /** Chunk width (columns, multiple of NR) or height (rows, multiple of MR). */
  chunk: number;
}

/** Bytes of the shared packed operand for a call. */
export function sharedBytes(
  M: number,
  N: number,
  K: number,
  shareA: boolean,
): number {
  const mn = shareA ? Math.ceil(M / MR) * MR : Math.ceil(N / NR) * NR;
  return mn * K * 4 + 64;
}

/** Chunk size so that each thread gets several chunks (dynamic balance). */
export function chunkSize(M: number, N: number, shareA: boolean): number {
  if (shareA) return Math.min(512, Math.max(32, Math.ceil(N / 8 / NR) * NR));
  return Math.min(MC, Math.max(24, Math.ceil(M / 8 / MR) * MR));
}

/**
 * One thread's share of a parallel SGEMM. Phase 1 packs the shared operand
 * in blocks grabbed from an atomic counter; phase 2 (after every block is
 * packed) grabs chunks of the other dimension and computes them with a
 * privately packed slice. A slow or late thread simply takes fewer
 * chunks. Results are bit-identical to {@link sgemmBlocked}: the k order
 * and the edge tiles are the same.
 */
export function sgemmParallelPart(
  ex: GemmExports,
  scratch: number,
  ctrl: Int32Array,
  p: ParallelGemm,
): void {
  const { M, N, K, a, rsA, csA, b, rsB, csB, c, ldc, shared, shareA } = p;
  const privA = scratch;
  const privB = privA + MC * KC * 4;
  const tile = privB + KC * NC * 4;
  const kBlocks = Math.ceil(K / KC);
  // Shared operand layout: per k block pc, [strips][kc][W] over all of M
  // (shareA) or N; block (pc, x0) starts at (pc·KC·pad + x0·kc)·4.
  const step = shareA ? MC : NC, W = shareA ? MR : NR;
  const mn = shareA ? M : N;
  const pad = Math.ceil(mn / W) * W;
  const xBlocks = Math.ceil(mn / step);
  const total = kBlocks * xBlocks;
  for (;;) {
    const t = Atomics.add(ctrl, NEXT_PACK, 1);
    if (t >= total) break;
    const pc = Math.floor(t / xBlocks) * KC, x0 = (t % xBlocks) * step;
    const kc = Math.min(KC, K - pc), len = Math.min(step, mn - x0);
    const dst = shared + (pc * pad + x0 * kc) * 4;
    if (shareA) {
      ex.pack(len, kc, a + (x0 * rsA + pc * csA) * 4, rsA * 4, csA * 4, dst, W);
    } else {
      ex.pack(len, kc, b + (pc * rsB + x0 * csB) * 4, csB * 4, rsB * 4, dst, W);
    }
    Atomics.add(ctrl, PACKED, 1);
  }
  while (Atomics.load(ctrl, PACKED) < total) { /* others finish packing */ }
  const other = shareA ? N : M;
  for (;;) {
    const q = Atomics.add(ctrl, NEXT_CHUNK, 1);
    const y0 = q * p.chunk;
    if (y0 >= other) break;
    const len = Math.min(p.chunk, other - y0);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      const load = pc > 0 || p.accumulate ? 1 : 0;
      const base = shared + pc * pad * 4;
      if (shareA) {
        const src = b + (pc * rsB + y0 * csB) * 4;
        ex.pack(len, kc, src, csB * 4, rsB * 4, privB, NR);
        for (let ic = 0; ic < M; ic += MC) {
          const mc = Math.min(MC, M - ic);
          const cc = c + (ic * ldc + y0) * 4;
          ex.gebp(mc, len, kc, base + ic * kc * 4, privB, cc, ldc * 4, load, tile);
        }
      } else {
        const src = a + (y0 * rsA + pc * csA) * 4;
        ex.pack(len, kc, src, rsA * 4, csA * 4, privA, MR);
        for (let jc = 0; jc < N; jc += NC) {
          const nc = Math.min(NC, N - jc);
          const cc = c + (y0 * ldc + jc) * 4;
          ex.gebp(len, nc, kc, privA, base + jc * kc * 4, cc, ldc * 4, load, tile);
        }
      }
    }
  }
}
