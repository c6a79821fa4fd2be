/**
 * The cache-blocked SGEMM driver (Goto/BLIS loop order) over the wasm
 * pack and gebp kernels, for one {@link HeapGemmCall}: the whole call on
 * one thread ({@link sgemmBlocked}) or one thread's part of a call shared
 * with the worker ({@link sgemmParallelPart}). Runs on whichever thread
 * owns `ex`/`scratch`.
 *
 * @module
 */

import { KC, MC, MR, NC, NR } from "./blocking.ts";
import type { GemmExports } from "./exports.ts";
import type { HeapGemmCall } from "../gemm_call.ts";

/** Scratch bytes one thread needs: packed A, packed B, one edge tile. */
export const SCRATCH_BYTES: number = (MC * KC + KC * NC + MR * NR) * 4 + 256;

/** Byte address of C(i, j). */
function atC(call: HeapGemmCall, i: number, j: number): number {
  const { c } = call;
  return c.data + (c.offset + i * c.ld + j) * 4;
}

/**
 * Packs lanes x0..x0+len at depths k0..k0+kc of one operand into strips at
 * `dst`: side "a" packs rows of A into MR-wide strips, side "b" columns of
 * B into NR-wide strips.
 */
function pack(
  ex: GemmExports,
  call: HeapGemmCall,
  side: "a" | "b",
  x0: number,
  len: number,
  k0: number,
  kc: number,
  dst: number,
): void {
  const m = call[side], rows = side === "a";
  const sLane = rows ? m.rowStride : m.colStride, sK = rows ? m.colStride : m.rowStride;
  const src = m.data + (m.offset + x0 * sLane + k0 * sK) * 4;
  ex.pack(len, kc, src, sLane * 4, sK * 4, dst, rows ? MR : NR);
}

/**
 * The whole call on this thread. `scratch` is a 64-byte aligned block of
 * {@link SCRATCH_BYTES}. K must be ≥ 1.
 */
export function sgemmBlocked(ex: GemmExports, scratch: number, call: HeapGemmCall): void {
  const { M, N, K } = call;
  const pa = scratch;
  const pb = pa + MC * KC * 4;
  const tile = pb + KC * NC * 4;
  const ldc = call.c.ld * 4;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      pack(ex, call, "b", jc, nc, pc, kc, pb);
      const load = pc > 0 || call.accumulate ? 1 : 0;
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic);
        pack(ex, call, "a", ic, mc, pc, kc, pa);
        ex.gebp(mc, nc, kc, pa, pb, atC(call, ic, jc), ldc, load, tile);
      }
    }
  }
}

/** Control-block slots (Int32 indices) the parallel driver counts with. */
export const NEXT_PACK = 5, PACKED = 6, NEXT_CHUNK = 7;

/** How the two threads of a parallel SGEMM share it (same on both). */
export interface GemmShare {
  /** Byte address of the operand packed once for both threads. */
  readonly buffer: number;
  /** True: A is shared and chunks are column blocks of N; else the mirror. */
  readonly shareA: boolean;
  /** Chunk width (columns, multiple of NR) or height (rows, multiple of MR). */
  readonly chunk: number;
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
  call: HeapGemmCall,
  share: GemmShare,
): void {
  const { M, N, K } = call;
  const { buffer: shared, shareA, chunk } = share;
  const privA = scratch;
  const privB = privA + MC * KC * 4;
  const tile = privB + KC * NC * 4;
  const ldc = call.c.ld * 4;
  const kBlocks = Math.ceil(K / KC);
  // Shared operand layout: per k block pc, [strips][kc][W] over all of M
  // (shareA) or N; block (pc, x0) starts at (pc·KC·pad + x0·kc)·4.
  const step = shareA ? MC : NC, W = shareA ? MR : NR;
  const mn = shareA ? M : N;
  const pad = Math.ceil(mn / W) * W;
  const xBlocks = Math.ceil(mn / step);
  const total = kBlocks * xBlocks;
  const sharedSide = shareA ? "a" : "b", ownSide = shareA ? "b" : "a";
  for (;;) {
    const t = Atomics.add(ctrl, NEXT_PACK, 1);
    if (t >= total) break;
    const pc = Math.floor(t / xBlocks) * KC, x0 = (t % xBlocks) * step;
    const kc = Math.min(KC, K - pc), len = Math.min(step, mn - x0);
    pack(ex, call, sharedSide, x0, len, pc, kc, shared + (pc * pad + x0 * kc) * 4);
    Atomics.add(ctrl, PACKED, 1);
  }
  while (Atomics.load(ctrl, PACKED) < total) { /* others finish packing */ }
  const other = shareA ? N : M;
  for (;;) {
    const q = Atomics.add(ctrl, NEXT_CHUNK, 1);
    const y0 = q * chunk;
    if (y0 >= other) break;
    const len = Math.min(chunk, other - y0);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      const load = pc > 0 || call.accumulate ? 1 : 0;
      const base = shared + pc * pad * 4;
      pack(ex, call, ownSide, y0, len, pc, kc, shareA ? privB : privA);
      if (shareA) {
        for (let ic = 0; ic < M; ic += MC) {
          const mc = Math.min(MC, M - ic);
          ex.gebp(mc, len, kc, base + ic * kc * 4, privB, atC(call, ic, y0), ldc, load, tile);
        }
      } else {
        for (let jc = 0; jc < N; jc += NC) {
          const nc = Math.min(NC, N - jc);
          ex.gebp(len, nc, kc, privA, base + jc * kc * 4, atC(call, y0, jc), ldc, load, tile);
        }
      }
    }
  }
}
