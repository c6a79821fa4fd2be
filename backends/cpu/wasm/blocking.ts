/**
 * The SGEMM's blocking constants (register tile and cache blocks) and the
 * invariants that tie them together, checked by {@link checkBlocking} each
 * time the kernel module is built: a change that breaks one fails loudly
 * at load instead of computing wrong or slow results.
 *
 * @module
 */

/** Micro-kernel rows (A values broadcast per k). */
export const MR = 6;
/** Micro-kernel columns (two f32x4 vectors of B per k). */
export const NR = 8;
/** Depth of a packed block (B micro-panel KC×NR×4 = 8 KiB stays in L1). */
export const KC = 256;
/** Rows of a packed A block (MC×KC×4 ≈ 120 KiB stays in L2). */
export const MC = 120;
/** Columns of a packed B block. */
export const NC = 2048;
/**
 * v128 values the micro-kernel may keep live at once: x86-64 has 16 XMM
 * registers (arm64 has 32); one more and the engine spills accumulators to
 * the stack inside the innermost loop.
 */
export const V128_REGISTERS = 16;

/** One set of blocking constants (see {@link checkBlocking}). */
export interface Blocking {
  /** Micro-kernel rows. */
  readonly MR: number;
  /** Micro-kernel columns. */
  readonly NR: number;
  /** Depth of a packed block. */
  readonly KC: number;
  /** Rows of a packed A block. */
  readonly MC: number;
  /** Columns of a packed B block. */
  readonly NC: number;
}

/** The constants this module defines. */
export const BLOCKING: Blocking = { MR, NR, KC, MC, NC };

/**
 * Live v128 values of the MR×NR micro-kernel: MR·NR/4 accumulators, NR/4
 * vectors of B and one broadcast of A.
 */
export function microKernelRegisters(b: Blocking = BLOCKING): number {
  return (b.MR * b.NR) / 4 + b.NR / 4 + 1;
}

/**
 * Throws unless the blocking constants are consistent:
 * - all are positive integers; NR is a multiple of 4 (whole f32x4
 *   vectors) and MR of 2 (pack transposes lanes in pairs);
 * - `MC % MR === 0` and `NC % NR === 0`: block edges fall on tile edges, so
 *   the threaded driver's chunks tile C exactly as the one-thread driver
 *   does (an edge tile adds C last, a full one first: different rounding);
 * - the micro-kernel's live vectors fit {@link V128_REGISTERS}.
 *
 * @param b The constants to check (this module's by default).
 * @throws {Error} naming the broken invariant.
 */
export function checkBlocking(b: Blocking = BLOCKING): void {
  const fail = (what: string): never => {
    throw new Error(`wasm sgemm blocking ${JSON.stringify(b)}: ${what}`);
  };
  for (const [k, v] of Object.entries(b)) {
    if (!Number.isInteger(v) || v <= 0) fail(`${k} must be a positive integer`);
  }
  if (b.NR % 4 !== 0 || b.MR % 2 !== 0) fail("NR must be a multiple of 4 and MR of 2");
  if (b.MC % b.MR !== 0) fail("MC must be a multiple of MR");
  if (b.NC % b.NR !== 0) fail("NC must be a multiple of NR");
  const live = microKernelRegisters(b);
  if (live > V128_REGISTERS) {
    fail(`the micro-kernel keeps ${live} v128 values live, over ${V128_REGISTERS} registers`);
  }
}
