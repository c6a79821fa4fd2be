/**
 * The cache-blocked SGEMM driver (Goto/BLIS loop order) over the wasm
 * pack and gebp kernels. Runs on whichever thread owns `ex`/`scratch`.
 *
 * @module
 */

import { MR, NR } from "./wasm_module.ts";

/** Depth of a packed block (B micro-panel KC×NR×4 = 8 KiB stays in L1). */
export const KC = 256;
/** Rows of a packed A block (MC×KC×4 ≈ 120 KiB stays in L2). */
export const MC = 120;
/** Columns of a packed B block. */
export const NC = 2048;
/** Scratch bytes one thread needs: packed A, packed B, one edge tile. */
export const SCRATCH_BYTES = (MC * KC + KC * NC + MR * NR) * 4 + 256;

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
