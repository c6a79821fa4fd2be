/**
 * Host side of batched matmul: the kernel choice (vec4, tiled, skinny,
 * split-K), products over windows of buffers larger than one binding, and
 * inner dimensions split to fit the adapter's loop limit. The fused linear
 * layers on top of it are `ops_linear.ts`.
 *
 * @module
 */

import type { BufferHandle, View } from "../backend.ts";
import type { GpuBuffer } from "./buffer_pool.ts";
import type { GpuContext } from "./gpu_context.ts";
import type { Binding } from "./kernel.ts";
import { grid2d, windowOf, WORKGROUP_SIZE } from "./limits.ts";
import { numel } from "../layout.ts";
import { vec4Config, vec4Layout } from "./matmul_config.ts";
import { SPLITK_LANES, splitKGroups, splitKSource, useSplitK } from "./matmul_split_k.ts";
import { checkBounds, checkCapacity, checkView, coalesce, gpuBuffer, Meta } from "./meta.ts";
import {
  MATMUL_SCALARS,
  matmulSource,
  type MatmulVariant,
  SKINNY_MAX,
  TILE,
  vec4Tile,
} from "./wgsl_matmul.ts";

/** Picks the matmul kernel for an M×K by K×N product (`vec4` where {@link vec4Layout} allows). */
export function matmulVariant(m: number, n: number, k: number): MatmulVariant {
  return n <= SKINNY_MAX || k <= SKINNY_MAX || m <= SKINNY_MAX ? "skinny" : "tiled";
}

/** A matrix operand: its buffer, first element and strides. */
export interface Operand {
  readonly handle: GpuBuffer;
  readonly offset: number;
  /** Row and column strides of the matrix. */
  readonly rs: number;
  readonly cs: number;
}

/** Left-pads a view to `rank` dims with size-1, stride-0 dims. */
function padded(v: View, rank: number): { shape: number[]; strides: number[] } {
  const extra = rank - v.shape.length;
  return {
    shape: [...Array(extra).fill(1), ...v.shape],
    strides: [...Array(extra).fill(0), ...v.strides],
  };
}

/** The batch layout of an unbatched product. */
export const NO_BATCH = { shape: [], a: [], b: [] };

/** A bias row: element `offset + n · stride` for output column n. */
export interface BiasOperand {
  readonly handle: GpuBuffer;
  readonly offset: number;
  readonly stride: number;
}

/**
 * `out = a · b (+ bias)`, or with `alpha` `out += (alpha·a) · b`, for every
 * batch. Where an operand's buffer is larger than one binding may cover
 * (`ctx.maxBindingBytes`), an unbatched product is split into tiles whose
 * operands fit and each tile binds windows of the buffers (see
 * {@link runTiled}).
 */
export function run(
  ctx: GpuContext,
  dtype: View["dtype"],
  dims: { m: number; n: number; k: number },
  batch: { shape: number[]; a: number[]; b: number[] },
  a: Operand,
  b: Operand,
  bias: BiasOperand | null,
  out: GpuBuffer,
  alpha: number | null = null,
): void {
  const { m, n, k } = dims;
  const batches = numel(batch.shape);
  if (m * n * batches === 0) return;
  checkCapacity(out, batches * m * n, "matmul output");
  const handles = [a.handle, b.handle, ...(bias ? [bias.handle] : []), out];
  if (handles.every((h) => h.bytes <= ctx.maxBindingBytes)) {
    const binds: Binding[] = handles.map((h) => ({ gpu: h.gpu, bytes: h.bytes }));
    dispatchProduct(ctx, dtype, dims, batch, binds, a, b, bias, { offset: 0, ld: n }, alpha);
    return;
  }
  if (batches !== 1) {
    throw new RangeError(
      `webgpu: a batched matmul (${batches} batches of ${m}×${k} by ${k}×${n}) has an ` +
        `operand over this device's maxStorageBufferBindingSize (${ctx.maxBindingBytes} ` +
        `bytes); only unbatched products are split`,
    );
  }
  runTiled(ctx, dtype, dims, a, b, bias, out, alpha);
}

/**
 * Loop iterations one invocation of `variant` runs over an inner dimension
 * of `k` (a bound: a loop of n iterations counts n + 1, plus the batch and
 * store loops), for the adapter's limit (`GpuContext.loopIterationLimit`).
 */
function loopIterations(variant: MatmulVariant | "splitk", k: number, nb: number): number {
  const fixed = nb + 40;
  switch (variant) {
    case "skinny":
      return k + 1 + fixed;
    case "splitk":
      return Math.ceil(k / SPLITK_LANES) + 1 + fixed;
    case "vec4":
      return Math.ceil(k / 4) + 1 + fixed;
    default: // tiled: 16-deep slices, a 4-step load loop and a 16-step product loop each
      return Math.ceil(k / 16) * 23 + 1 + fixed;
  }
}

/** Records the dispatches of one product whose buffers are `binds`. */
function dispatchProduct(
  ctx: GpuContext,
  dtype: View["dtype"],
  dims: { m: number; n: number; k: number },
  batch: { shape: number[]; a: number[]; b: number[] },
  binds: Binding[],
  a: { offset: number; rs: number; cs: number },
  b: { offset: number; rs: number; cs: number },
  bias: { offset: number; stride: number } | null,
  out: { offset: number; ld: number },
  alpha: number | null,
): void {
  const { m, n, k } = dims;
  const batches = numel(batch.shape);
  let variant = matmulVariant(m, n, k);
  const layout = variant === "tiled" ? vec4Layout(dims, batch, a, b) : null;
  const cfg = layout ? vec4Config(ctx, layout) : undefined;
  if (cfg) variant = "vec4";
  const nb = batch.shape.length;
  const acc = alpha !== null;
  if (variant === "skinny" && useSplitK(m, n, k)) variant = "splitk";
  if (loopIterations(variant, k, nb) > ctx.loopIterationLimit) {
    // The adapter would cut the invocation's loops short (llvmpipe): split
    // the inner dimension into chunks it runs whole, the first storing
    // (with the bias), the others adding theirs, as runTiled does.
    const kc = innerChunk(ctx, dtype, dims, variant, nb);
    for (let k0 = 0; k0 < k; k0 += kc) {
      const first = k0 === 0;
      dispatchProduct(
        ctx,
        dtype,
        { m, n, k: Math.min(kc, k - k0) },
        batch,
        first ? binds : binds.filter((_, i) => !(bias && i === 2)),
        { ...a, offset: a.offset + k0 * a.cs },
        { ...b, offset: b.offset + k0 * b.rs },
        first ? bias : null,
        out,
        first ? alpha : (alpha ?? 1),
      );
    }
    return;
  }
  const shape = cfg ? `:${cfg.layout}${cfg.rows}x${cfg.wx}x${cfg.wy}` : "";
  const kernel = ctx.kernel(
    `matmul:${variant}${shape}:${dtype}:${nb}:${bias !== null}:${acc}`,
    () =>
      variant === "splitk"
        ? splitKSource(dtype, nb, bias !== null, acc)
        : matmulSource(dtype, nb, variant, bias !== null, acc, cfg),
  );
  let gx: number, gy: number;
  if (variant === "splitk") [gx, gy] = grid2d(splitKGroups(m, n), ctx.maxGroupsPerDim);
  else if (cfg) {
    const { tm, tn } = vec4Tile(cfg);
    [gx, gy] = [Math.ceil(n / tn), Math.ceil(m / tm)];
  } else if (variant === "tiled") [gx, gy] = [Math.ceil(n / TILE), Math.ceil(m / TILE)];
  else [gx, gy] = grid2d(Math.ceil((m * n) / WORKGROUP_SIZE), ctx.maxGroupsPerDim);
  const maxDim = ctx.maxGroupsPerDim;
  if (gx > maxDim || gy > maxDim) {
    throw new Error(`webgpu: matmul of ${m}×${k} by ${k}×${n} exceeds the dispatch grid`);
  }
  for (let first = 0; first < batches; first += maxDim) {
    const count = Math.min(maxDim, batches - first);
    const meta = new Meta().u32(m, n, k, first).i32(a.offset, b.offset, a.rs, a.cs, b.rs, b.cs)
      .i32(bias?.offset ?? 0, bias?.stride ?? 0).f32(alpha ?? 1).u32(out.offset, out.ld);
    if (meta.length !== MATMUL_SCALARS) throw new Error("webgpu: matmul parameter layout");
    meta.u32(...batch.shape).i32(...batch.a, ...batch.b);
    ctx.dispatch(kernel, meta.finish(), binds, [gx, gy, count]);
  }
}

/**
 * The longest chunk of the inner dimension (halving, a multiple of 16 for
 * vec4 alignment) whose loops `variant` runs whole under the adapter's
 * limit; float32 only (later chunks accumulate).
 */
function innerChunk(
  ctx: GpuContext,
  dtype: View["dtype"],
  { m, n, k }: { m: number; n: number; k: number },
  variant: MatmulVariant | "splitk",
  nb: number,
): number {
  let kc = k;
  while (kc > 16 && loopIterations(variant, kc, nb) > ctx.loopIterationLimit) {
    kc = Math.max(16, Math.floor(kc / 32) * 16);
  }
  if (dtype !== "float32" || loopIterations(variant, kc, nb) > ctx.loopIterationLimit) {
    throw new RangeError(
      `webgpu: a ${dtype} matmul of ${m}×${k} by ${k}×${n} needs more loop iterations per ` +
        `invocation than this adapter runs (${ctx.loopIterationLimit}, Mesa's llvmpipe) and ` +
        `can be split only in float32`,
    );
  }
  return kc;
}

/** Elements from the first to the last one a `rows × cols` block touches. */
function span(rows: number, rs: number, cols: number, cs: number): number {
  return (rows - 1) * rs + (cols - 1) * cs + 1;
}

/**
 * An unbatched product split into tiles of `tm × tn` outputs over `tk` of
 * the inner dimension, halving whichever extent contributes most to an
 * operand window that does not fit one binding, until every window does
 * (a 128k × 2048 embedding used as the output head: a few column tiles).
 * The first inner tile stores (with the bias), later ones add theirs to
 * the output in place. Each dispatch binds only the windows it reads and
 * writes; offsets are relative to each window's aligned start.
 */
function runTiled(
  ctx: GpuContext,
  dtype: View["dtype"],
  dims: { m: number; n: number; k: number },
  a: Operand,
  b: Operand,
  bias: BiasOperand | null,
  out: GpuBuffer,
  alpha: number | null,
): void {
  const { m, n, k } = dims;
  const align = ctx.offsetAlignElements;
  const limit = Math.floor(ctx.maxBindingBytes / 4) - align;
  const strides = [a.rs, a.cs, b.rs, b.cs, ...(bias ? [bias.stride] : [])];
  if (strides.some((s) => s < 0) || limit < 1) {
    throw new RangeError(
      `webgpu: cannot split a ${m}×${k} by ${k}×${n} matmul into bindings of ` +
        `${ctx.maxBindingBytes} bytes (strides ${strides.join(", ")})`,
    );
  }
  let tm = m, tn = n, tk = k;
  for (;;) {
    // [extent to halve, its contribution] for each operand that is too big.
    const over: [string, number][] = [];
    const check = (parts: [string, number, number][]) => {
      const size = parts.reduce((acc, [, e, s]) => acc + (e - 1) * s, 1);
      if (size > limit) { for (const [d, e, s] of parts) if (e > 1) over.push([d, (e - 1) * s]); }
    };
    check([["m", tm, a.rs], ["k", tk, a.cs]]);
    check([["k", tk, b.rs], ["n", tn, b.cs]]);
    check([["m", tm, n], ["n", tn, 1]]);
    if (bias) check([["n", tn, bias.stride]]);
    if (over.length === 0) break;
    const [dim] = over.reduce((x, y) => (y[1] > x[1] ? y : x));
    if (dim === "m") tm = Math.ceil(tm / 2);
    else if (dim === "n") tn = Math.ceil(tn / 2);
    else tk = Math.ceil(tk / 2);
  }
  if (tk < k && dtype !== "float32") {
    throw new RangeError(
      `webgpu: a ${dtype} matmul of ${m}×${k} by ${k}×${n} would need its inner ` +
        `dimension split to fit bindings of ${ctx.maxBindingBytes} bytes (float32 only)`,
    );
  }
  const win = (h: GpuBuffer, first: number, count: number) => {
    const w = windowOf(first, first + count, align);
    return { bind: { gpu: h.gpu, bytes: w.bytes, offset: w.offset }, at: first - w.base };
  };
  // With k = 0, a and b are empty (bound whole at a 4-byte minimum, read
  // nothing) and the tiles only write the bias or zeros.
  const input = (h: GpuBuffer, first: number, count: number) =>
    k === 0 ? { bind: { gpu: h.gpu, bytes: Math.min(h.bytes, 4) }, at: 0 } : win(h, first, count);
  for (let m0 = 0; m0 < m; m0 += tm) {
    const mc = Math.min(tm, m - m0);
    for (let n0 = 0; n0 < n; n0 += tn) {
      const nc = Math.min(tn, n - n0);
      const o = win(out, m0 * n + n0, span(mc, n, nc, 1));
      for (let k0 = 0; k0 < k || k0 === 0; k0 += Math.max(tk, 1)) {
        const kc = Math.min(tk, k - k0);
        const aw = input(
          a.handle,
          a.offset + m0 * a.rs + k0 * a.cs,
          span(mc, a.rs, Math.max(kc, 1), a.cs),
        );
        const bw = input(
          b.handle,
          b.offset + k0 * b.rs + n0 * b.cs,
          span(Math.max(kc, 1), b.rs, nc, b.cs),
        );
        const first = k0 === 0;
        const biasWin = first && bias
          ? win(bias.handle, bias.offset + n0 * bias.stride, span(nc, bias.stride, 1, 0))
          : null;
        dispatchProduct(
          ctx,
          dtype,
          { m: mc, n: nc, k: kc },
          NO_BATCH,
          [aw.bind, bw.bind, ...(biasWin ? [biasWin.bind] : []), o.bind],
          { offset: aw.at, rs: a.rs, cs: a.cs },
          { offset: bw.at, rs: b.rs, cs: b.cs },
          biasWin && bias ? { offset: biasWin.at, stride: bias.stride } : null,
          { offset: o.at, ld: n },
          first ? alpha : (alpha ?? 1),
        );
        if (kc === 0) break;
      }
    }
  }
}

/** Batched `out = a · b` with broadcast batch dims and any strides. */
export function matmul(ctx: GpuContext, a: View, b: View, out: BufferHandle): void {
  const ah = checkView(a, "matmul a");
  const bh = checkView(b, "matmul b", a.dtype);
  if (a.shape.length < 2 || b.shape.length < 2) {
    throw new Error("webgpu: matmul operands need at least 2 dims");
  }
  const rank = Math.max(a.shape.length, b.shape.length);
  const pa = padded(a, rank), pb = padded(b, rank);
  const [m, k] = pa.shape.slice(-2), [k2, n] = pb.shape.slice(-2);
  if (k !== k2) throw new Error(`webgpu: matmul inner dims differ (${k} vs ${k2})`);
  const bshape: number[] = [];
  for (let d = 0; d < rank - 2; d++) {
    const [sa, sb] = [pa.shape[d], pb.shape[d]];
    if (sa !== sb && sa !== 1 && sb !== 1) {
      throw new Error(`webgpu: matmul batch dims [${a.shape}] and [${b.shape}] differ`);
    }
    bshape.push(Math.max(sa, sb));
  }
  if (numel(bshape) * m * n === 0) return;
  const sa = pa.strides.slice(0, rank - 2).map((s, d) => (pa.shape[d] === 1 ? 0 : s));
  const sb = pb.strides.slice(0, rank - 2).map((s, d) => (pb.shape[d] === 1 ? 0 : s));
  if (k > 0) {
    checkBounds(a, ah, "matmul a");
    checkBounds(b, bh, "matmul b");
  }
  const c = coalesce(bshape, [sa, sb]);
  run(
    ctx,
    a.dtype,
    { m, n, k },
    { shape: c.shape, a: c.strides[0], b: c.strides[1] },
    { handle: ah, offset: a.offset, rs: pa.strides[rank - 2], cs: pa.strides[rank - 1] },
    { handle: bh, offset: b.offset, rs: pb.strides[rank - 2], cs: pb.strides[rank - 1] },
    null,
    gpuBuffer(out),
  );
}
