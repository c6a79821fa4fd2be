/**
 * Host side of gather and the deterministic two-pass scatterAdd.
 *
 * @module
 */

import type { BufferHandle, View } from "../backend.ts";
import type { GpuContext } from "./gpu_context.ts";
import { bindingBytes, windowOf } from "./limits.ts";
import type { GpuBuffer } from "./buffer_pool.ts";
import type { Binding } from "./kernel.ts";
import { ERROR_BYTES } from "./device_errors.ts";
import { numel } from "../layout.ts";
import { checkBounds, checkCapacity, checkView, coalesce, gpuBuffer, Meta } from "./meta.ts";
import { grid1d } from "./ops_elementwise.ts";
import {
  GATHER_SCALARS,
  gatherSource,
  indexCheckSource,
  SCATTER_SCALARS,
  scatterLinkSource,
  scatterSource,
} from "./wgsl_index.ts";

function indexOf(index: View, what: string) {
  const h = checkView(index, what);
  const c = coalesce(index.shape, [index.strides]);
  if (c.shape.length > 1) throw new Error(`webgpu: ${what} must be one-dimensional`);
  const n = numel(index.shape);
  if (n > 0) checkBounds(index, h, what);
  return { h, n, stride: c.strides[0][0] ?? 0 };
}

/**
 * `out[i, …] = x[index[i], …]`; an out-of-range row gives zeros and a
 * device-side RangeError that the next read or sync throws.
 */
export function gather(ctx: GpuContext, x: View, index: View, out: BufferHandle): void {
  const xh = checkView(x, "gather x");
  const ob = gpuBuffer(out);
  if (x.shape.length < 1) throw new Error("webgpu: gather x needs at least one dim");
  const ix = indexOf(index, "gather index");
  const inner = coalesce(x.shape.slice(1), [x.strides.slice(1)]);
  const row = numel(inner.shape);
  const total = ix.n * row;
  if (ix.n === 0) return;
  const rows = x.shape[0];
  const site = ctx.errors.site(`gather:${rows}`, () => ({
    op: "indexSelect",
    error: () =>
      new RangeError(
        `indexSelect(): an index is out of range [0, ${rows}) (found on the device by a ` +
          `gather recorded before this read)`,
      ),
  }));
  if (total === 0) {
    // Nothing to copy, but the indices are still checked.
    const check = ctx.kernel(`indexCheck:${index.dtype}`, () => indexCheckSource(index.dtype));
    ctx.dispatch(
      check,
      new Meta().u32(ix.n, rows).i32(index.offset, ix.stride).u32(site).finish(),
      [{ gpu: ix.h.gpu, bytes: ix.h.bytes }, { gpu: ctx.errors.buffer, bytes: ERROR_BYTES }],
      grid1d(ctx, ix.n),
    );
    return;
  }
  if (rows > 0) checkBounds(x, xh, "gather x");
  checkCapacity(ob, total, "gather output");
  const rank = inner.shape.length;
  const kernel = ctx.kernel(
    `gather:${x.dtype}:${index.dtype}:${rank}`,
    () => gatherSource(x.dtype, index.dtype, rank),
  );
  for (const w of gatherWindows(ctx, x, inner, rows, xh)) {
    const meta = new Meta().u32(total, row, ix.n, rows)
      .i32(w.offset, x.strides[0], index.offset, ix.stride).u32(site, w.first, w.end);
    if (meta.length !== GATHER_SCALARS) throw new Error("webgpu: gather parameter layout");
    meta.strided(inner.shape, [{ offset: 0, strides: inner.strides[0] }]);
    ctx.dispatch(kernel, meta.finish(), [
      w.bind,
      { gpu: ix.h.gpu, bytes: ix.h.bytes },
      { gpu: ob.gpu, bytes: ob.bytes },
      { gpu: ctx.errors.buffer, bytes: ERROR_BYTES },
    ], grid1d(ctx, total));
  }
}

/**
 * The bindings of a gather's table: the whole buffer where it fits one
 * binding, else windows of whole rows (an embedding table over
 * `maxStorageBufferBindingSize`), each with the x offset of its first row
 * relative to the window.
 */
function gatherWindows(
  ctx: GpuContext,
  x: View,
  inner: { shape: number[]; strides: number[][] },
  rows: number,
  xh: GpuBuffer,
): { bind: Binding; offset: number; first: number; end: number }[] {
  if (xh.bytes <= ctx.maxBindingBytes) {
    return [{ bind: { gpu: xh.gpu, bytes: xh.bytes }, offset: x.offset, first: 0, end: rows }];
  }
  const align = ctx.offsetAlignElements;
  const limit = Math.floor(ctx.maxBindingBytes / 4) - align;
  const stride = x.strides[0];
  // Elements one row spans from its start (inner strides are not negative
  // for the tables this meets; anything else is refused).
  const rowSpan = inner.shape.reduce((acc, s, d) => acc + (s - 1) * inner.strides[0][d], 1);
  if (stride < 0 || inner.strides[0].some((s) => s < 0) || rowSpan > limit) {
    throw new RangeError(
      `webgpu: gather from a [${x.shape}] table cannot be split into bindings of ` +
        `${ctx.maxBindingBytes} bytes`,
    );
  }
  const per = stride === 0 ? rows : Math.max(1, Math.floor((limit - rowSpan) / stride) + 1);
  const out = [];
  for (let first = 0; first < rows; first += per) {
    const end = Math.min(rows, first + per);
    const start = x.offset + first * stride;
    const w = windowOf(start, start + (end - 1 - first) * stride + rowSpan, align);
    out.push({
      bind: { gpu: xh.gpu, bytes: w.bytes, offset: w.offset },
      offset: start - w.base,
      first,
      end,
    });
  }
  return out;
}

/** `out[index[i], …] += src[i, …]` in index order; out-of-range rows skipped. */
export function scatterAdd(ctx: GpuContext, out: View, index: View, src: View): void {
  const oh = checkView(out, "scatterAdd out");
  const sh = checkView(src, "scatterAdd src", out.dtype);
  if (out.shape.length < 1 || src.shape.length !== out.shape.length) {
    throw new Error("webgpu: scatterAdd needs out [R, …] and src [n, …] of one rank");
  }
  const ix = indexOf(index, "scatterAdd index");
  if (src.shape[0] !== ix.n) {
    throw new Error(`webgpu: scatterAdd src has ${src.shape[0]} rows for ${ix.n} indices`);
  }
  const innerShape = out.shape.slice(1);
  if (src.shape.slice(1).some((s, i) => s !== innerShape[i])) {
    throw new Error(`webgpu: scatterAdd rows [${src.shape.slice(1)}] vs [${innerShape}]`);
  }
  const inner = coalesce(innerShape, [out.strides.slice(1), src.strides.slice(1)]);
  const row = numel(inner.shape);
  const total = ix.n * row;
  if (total === 0 || out.shape[0] === 0) return;
  checkBounds(out, oh, "scatterAdd out");
  checkBounds(src, sh, "scatterAdd src");

  const link = ctx.pool.acquire(bindingBytes(2 * ix.n));
  const linkBytes = bindingBytes(2 * ix.n);
  const linkKernel = ctx.kernel(`scatterLink:${index.dtype}`, () => scatterLinkSource(index.dtype));
  ctx.dispatch(
    linkKernel,
    new Meta().u32(ix.n).i32(index.offset, ix.stride).finish(),
    [{ gpu: ix.h.gpu, bytes: ix.h.bytes }, { gpu: link, bytes: linkBytes }],
    grid1d(ctx, ix.n),
  );
  const rank = inner.shape.length;
  const kernel = ctx.kernel(
    `scatter:${out.dtype}:${index.dtype}:${rank}`,
    () => scatterSource(out.dtype, index.dtype, rank),
  );
  const meta = new Meta().u32(total, row, ix.n, out.shape[0])
    .i32(out.offset, out.strides[0], src.offset, src.strides[0], index.offset, ix.stride);
  if (meta.length !== SCATTER_SCALARS) throw new Error("webgpu: scatter parameter layout");
  meta.strided(inner.shape, [
    { offset: 0, strides: inner.strides[0] },
    { offset: 0, strides: inner.strides[1] },
  ]);
  ctx.dispatch(kernel, meta.finish(), [
    { gpu: oh.gpu, bytes: oh.bytes },
    { gpu: ix.h.gpu, bytes: ix.h.bytes },
    { gpu: sh.gpu, bytes: sh.bytes },
    { gpu: link, bytes: linkBytes },
  ], grid1d(ctx, total));
  ctx.pool.release(link); // reused only by later commands, in program order
}
