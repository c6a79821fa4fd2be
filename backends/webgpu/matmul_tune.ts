/**
 * A small per-device tuner of the `vec4` matmul: for each layout it times
 * the handful of shapes in `VEC4_CANDIDATE_SHAPES` on one probe product
 * and records the fastest for the context (see matmul_config.ts). Until
 * (or unless) it runs, the defaults are used.
 *
 * `createWebGpuBackend` runs it before returning on a hardware adapter
 * (option `tuneMatmul`; not on a software adapter, whose defaults these
 * are); `await backend.tuneMatmul()` runs it again.
 * Each candidate runs once untimed (compiling it), then `reps` times, each
 * timed from submit to `sync` on the wall clock; the median decides. One
 * shape class per layout: the probe is M × K by K × N with M = 256 and
 * N = K = 512 by default (about 0.1 GFLOP, tens of milliseconds on a
 * software adapter), large enough that the kernel, not the submit, is timed.
 *
 * @module
 */

import type { View } from "../backend.ts";
import type { GpuContext } from "./gpu_context.ts";
import { setVec4Config, VEC4_LAYOUTS, vec4Candidates, vec4Config } from "./matmul_config.ts";
import { matmul } from "./ops_matmul.ts";
import type { Vec4Config, Vec4Layout } from "./wgsl_matmul.ts";

/** Options of {@link tuneMatmul}. */
export interface TuneOptions {
  /** Probe rows (a multiple of 4 in 20–8192; default 256). */
  readonly m?: number;
  /** Probe inner dimension (a multiple of 4 in 20–8192; default 512). */
  readonly k?: number;
  /** Probe columns (a multiple of 4 in 20–8192; default 512). */
  readonly n?: number;
  /** Timed runs per candidate (default 3). */
  readonly reps?: number;
}

/** What {@link tuneMatmul} measured for one layout. */
export interface TuneResult {
  readonly layout: Vec4Layout;
  /** The winner, now in use. */
  readonly chosen: Vec4Config;
  /** Median milliseconds of every candidate, in candidate order. */
  readonly timings: readonly { readonly config: Vec4Config; readonly ms: number }[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Times every candidate of each layout and keeps the fastest for `ctx`. */
export async function tuneMatmul(ctx: GpuContext, opts: TuneOptions = {}): Promise<TuneResult[]> {
  const { m = 256, k = 512, n = 512, reps = 3 } = opts;
  for (const [name, v] of [["m", m], ["k", k], ["n", n]] as const) {
    if (!Number.isInteger(v) || v <= 16 || v % 4 !== 0 || v > 8192) {
      throw new RangeError(
        `webgpu: tuneMatmul ${name} must be a multiple of 4 in 20–8192, got ${v}`,
      );
    }
  }
  if (!Number.isInteger(reps) || reps < 1 || reps > 100) {
    throw new RangeError(`webgpu: tuneMatmul reps must be an integer in 1–100, got ${reps}`);
  }
  await ctx.sync();
  const pool = ctx.pool;
  const a = pool.alloc(m * k, "float32"), b = pool.alloc(k * n, "float32");
  const out = pool.alloc(m * n, "float32");
  const results: TuneResult[] = [];
  try {
    // Small values, so no candidate meets inf or NaN (speed may depend on them).
    ctx.write(a.gpu, new Float32Array(m * k).fill(0.5));
    ctx.write(b.gpu, new Float32Array(k * n).fill(0.25));
    const av: View = { buffer: a, dtype: "float32", shape: [m, k], strides: [k, 1], offset: 0 };
    for (const layout of VEC4_LAYOUTS) {
      // nn: b is K × N row-major; nt: b is the transpose of an N × K row-major matrix.
      const bv: View = {
        buffer: b,
        dtype: "float32",
        shape: [k, n],
        strides: layout === "nn" ? [n, 1] : [1, k],
        offset: 0,
      };
      const timings: { config: Vec4Config; ms: number }[] = [];
      const before = vec4Config(ctx, layout);
      try {
        for (const config of vec4Candidates(layout)) {
          setVec4Config(ctx, config);
          matmul(ctx, av, bv, out);
          await ctx.sync();
          const times: number[] = [];
          for (let r = 0; r < reps; r++) {
            const t0 = performance.now();
            matmul(ctx, av, bv, out);
            await ctx.sync();
            times.push(performance.now() - t0);
          }
          timings.push({ config, ms: median(times) });
        }
      } catch (err) {
        setVec4Config(ctx, before); // a failed tuning leaves the shape it found
        throw err;
      }
      const best = timings.reduce((x, y) => (y.ms < x.ms ? y : x));
      setVec4Config(ctx, best.config);
      results.push({ layout, chosen: best.config, timings });
    }
  } finally {
    for (const h of [a, b, out]) pool.free(h);
  }
  return results;
}
