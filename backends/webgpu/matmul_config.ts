/**
 * Which `vec4` matmul shape each device uses, per layout: a default, the
 * candidates `tuneMatmul` (matmul_tune.ts) times, and the winners it
 * records for the device's context (kept for the life of the context, so
 * for the process). A shape is a compiled kernel of its own; sizes never
 * are (they are parameter words), so at most `candidates × layouts ×
 * (dtype, batch rank, bias, accumulate)` matmul kernels exist.
 *
 * Every candidate sums each output over k in the same order with the same
 * operations, so which one wins changes speed, not results.
 *
 * @module
 */

import type { GpuContext } from "./gpu_context.ts";
import type { Vec4Config, Vec4Layout } from "./wgsl_matmul.ts";

/** The layouts of the `vec4` kernel. */
export const VEC4_LAYOUTS: readonly Vec4Layout[] = ["nn", "nt"];

/**
 * Default `vec4` shape of each layout: 16 × 4 outputs per invocation, 8 × 4
 * invocations (a 64 × 32 tile; M = 64, W2's batch, fills one tile row).
 * Interleaved sweeps on llvmpipe (2 shared cores, median of 4): 1024³ nt
 * 119 ms vs 138 for 8 × 4 outputs on 8 × 8 invocations; 64 × 4096 by
 * 4096 × 1024 nt 60 vs 67 ms, nn 47 vs 53 ms; 24 or 32 rows, or 16 rows
 * on 8 × 8 invocations (a 128-row tile, half idle at M = 64), were slower.
 */
export const VEC4_DEFAULTS: Readonly<Record<Vec4Layout, Vec4Config>> = {
  nn: { layout: "nn", rows: 16, wx: 8, wy: 4 },
  nt: { layout: "nt", rows: 16, wx: 8, wy: 4 },
};

/** Shapes `tuneMatmul` tries for each layout (`rows`, `wx`, `wy`); the first is the default. */
export const VEC4_CANDIDATE_SHAPES: readonly (readonly [number, number, number])[] = [
  [16, 8, 4],
  [8, 8, 8],
  [16, 16, 4],
  [8, 16, 8],
  [4, 16, 16],
];

/** The candidate configurations of `layout`. */
export function vec4Candidates(layout: Vec4Layout): Vec4Config[] {
  return VEC4_CANDIDATE_SHAPES.map(([rows, wx, wy]) => ({ layout, rows, wx, wy }));
}

const chosen = new WeakMap<GpuContext, Map<Vec4Layout, Vec4Config>>();

/** The shape `ctx` uses for `layout`: the tuned (or set) one, else the default. */
export function vec4Config(ctx: GpuContext, layout: Vec4Layout): Vec4Config {
  return chosen.get(ctx)?.get(layout) ?? VEC4_DEFAULTS[layout];
}

/**
 * Makes `ctx` use `config` for its layout (`tuneMatmul` records winners
 * this way; tests force each candidate). Throws a RangeError for a shape
 * the kernel cannot take: `rows` 1–16, `wx`, `wy` ≥ 1 with at most 256
 * invocations (the WebGPU default workgroup limit).
 */
export function setVec4Config(ctx: GpuContext, config: Vec4Config): void {
  const { layout, rows, wx, wy } = config;
  if (!VEC4_LAYOUTS.includes(layout)) throw new RangeError(`webgpu: no vec4 layout "${layout}"`);
  const ok = (x: number, hi: number) => Number.isInteger(x) && x >= 1 && x <= hi;
  if (!ok(rows, 16) || !ok(wx, 256) || !ok(wy, 256) || wx * wy > 256) {
    throw new RangeError(
      `webgpu: vec4 matmul shape rows ${rows}, ${wx}×${wy} invocations is out of range ` +
        `(rows 1–16, at most 256 invocations)`,
    );
  }
  let m = chosen.get(ctx);
  if (!m) chosen.set(ctx, m = new Map());
  m.set(layout, { layout, rows, wx, wy });
}

/** Forgets tuned or set shapes of `ctx` (back to the defaults). */
export function resetVec4Config(ctx: GpuContext): void {
  chosen.delete(ctx);
}

const mult4 = (x: number) => x % 4 === 0;

/**
 * The `vec4` layout a product can use, or null: a contiguous along K with
 * its offset, row stride and batch strides multiples of 4, K a positive
 * multiple of 4, and b either contiguous along N (`nn`, N and its K stride
 * multiples of 4) or along K (`nt`, its N stride a multiple of 4), its
 * offset and batch strides multiples of 4. Then every vec4 the kernel reads
 * is an aligned group of 4 elements of the operand.
 */
export function vec4Layout(
  dims: { m: number; n: number; k: number },
  batch: { a: readonly number[]; b: readonly number[] },
  a: { offset: number; rs: number; cs: number },
  b: { offset: number; rs: number; cs: number },
): Vec4Layout | null {
  const { n, k } = dims;
  if (k <= 0 || !mult4(k)) return null;
  if (a.cs !== 1 || !mult4(a.rs) || !mult4(a.offset) || !batch.a.every(mult4)) return null;
  if (!mult4(b.offset) || !batch.b.every(mult4)) return null;
  if (b.cs === 1 && mult4(b.rs) && mult4(n)) return "nn";
  if (b.rs === 1 && mult4(b.cs)) return "nt";
  return null;
}
