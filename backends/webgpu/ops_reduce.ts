/**
 * Host side of reductions, the fused row softmax / log-softmax and the
 * fused row cross-entropy.
 *
 * @module
 */

import type { BufferHandle, ReduceOp, View } from "../backend.ts";
import type { GpuContext } from "./gpu_context.ts";
import { ERROR_BYTES } from "./device_errors.ts";
import { grid2d } from "./limits.ts";
import { numel } from "../layout.ts";
import { checkBounds, checkCapacity, checkView, coalesce, gpuBuffer, Meta } from "./meta.ts";
import {
  crossEntropySource,
  reduceSource,
  type ReduceVariant,
  softmaxSource,
} from "./wgsl_reduce.ts";

/** Reductions at least this long get a workgroup per output. */
export const GROUP_REDUCE_MIN = 256;

/** Picks the reduction kernel for `outputs` reductions of length `len`. */
export function reduceVariant(outputs: number, len: number): ReduceVariant {
  return len >= GROUP_REDUCE_MIN || (len >= 16 && outputs <= 256) ? "group" : "thread";
}

/** Reduces `x` over sorted, unique `axes` into contiguous `out`. */
export function reduce(
  ctx: GpuContext,
  op: ReduceOp,
  x: View,
  axes: readonly number[],
  out: BufferHandle,
): void {
  const xb = checkView(x, `reduce ${op} input`);
  const ob = gpuBuffer(out);
  const rank = x.shape.length;
  axes.forEach((a, i) => {
    if (!Number.isInteger(a) || a < 0 || a >= rank || (i > 0 && a <= axes[i - 1])) {
      throw new Error(`webgpu: reduce axes [${axes}] must be sorted, unique dims of rank ${rank}`);
    }
  });
  if (op === "argmax" && axes.length !== 1) {
    throw new Error(`webgpu: argmax takes exactly one axis, got [${axes}]`);
  }
  const isRed = (d: number) => axes.includes(d);
  const dims = [...x.shape.keys()];
  const kept = dims.filter((d) => !isRed(d));
  const red = dims.filter(isRed);
  const k = coalesce(kept.map((d) => x.shape[d]), [kept.map((d) => x.strides[d])]);
  const r = coalesce(red.map((d) => x.shape[d]), [red.map((d) => x.strides[d])]);
  const outputs = numel(k.shape);
  const len = numel(r.shape);
  if (outputs === 0) return;
  if (len > 0) checkBounds(x, xb, `reduce ${op} input`);
  checkCapacity(ob, outputs, `reduce ${op} output`);
  const variant = reduceVariant(outputs, len);
  const kr = k.shape.length, rr = r.shape.length;
  const kernel = ctx.kernel(
    `reduce:${op}:${x.dtype}:${kr}:${rr}:${variant}`,
    () => reduceSource(op, x.dtype, kr, rr, variant),
  );
  const meta = new Meta().u32(outputs, len).i32(x.offset)
    .u32(...k.shape).i32(...k.strides[0])
    .u32(...r.shape).i32(...r.strides[0]);
  const groups = variant === "group" ? outputs : Math.ceil(outputs / 256);
  const [gx, gy] = grid2d(groups, ctx.maxGroupsPerDim);
  ctx.dispatch(kernel, meta.finish(), [
    { gpu: xb.gpu, bytes: xb.bytes },
    { gpu: ob.gpu, bytes: ob.bytes },
  ], [gx, gy, 1]);
}

/** Row softmax (or log-softmax) over the last axis into contiguous `out`. */
export function softmax(ctx: GpuContext, x: View, out: BufferHandle, log: boolean): void {
  const what = log ? "logSoftmax" : "softmax";
  const xb = checkView(x, what, "float32");
  const ob = gpuBuffer(out);
  if (x.shape.length === 0) throw new Error(`webgpu: ${what} needs at least one dim`);
  const last = x.shape.length - 1;
  const cols = x.shape[last];
  const lead = coalesce(x.shape.slice(0, last), [x.strides.slice(0, last)]);
  if (lead.shape.length > 1) {
    throw new Error(`webgpu: ${what} rows must be evenly spaced (one row stride)`);
  }
  const rows = numel(lead.shape);
  if (rows * cols === 0) return;
  checkBounds(x, xb, what);
  checkCapacity(ob, rows * cols, `${what} output`);
  const kernel = ctx.kernel(`softmax:${log}`, () => softmaxSource(log));
  const meta = new Meta().u32(rows, cols).i32(x.offset, lead.strides[0][0] ?? 0, x.strides[last]);
  const [gx, gy] = grid2d(rows, ctx.maxGroupsPerDim);
  ctx.dispatch(kernel, meta.finish(), [
    { gpu: xb.gpu, bytes: xb.bytes },
    { gpu: ob.gpu, bytes: ob.bytes },
  ], [gx, gy, 1]);
}

/**
 * Row cross-entropy of logits x [rows, C] against int32 targets [rows]:
 * one dispatch writing `probs = softmax(x)` [rows, C] and `losses` [rows]
 * (NaN where a target is outside [0, C), and a device-side RangeError that
 * the next read or sync throws).
 */
export function crossEntropy(
  ctx: GpuContext,
  x: View,
  targets: View,
  losses: BufferHandle,
  probs: BufferHandle,
): void {
  const xb = checkView(x, "crossEntropy logits", "float32");
  const tb = checkView(targets, "crossEntropy targets", "int32");
  if (x.shape.length !== 2 || targets.shape.length !== 1 || targets.shape[0] !== x.shape[0]) {
    throw new Error(
      `webgpu: crossEntropy needs logits [rows, C] and targets [rows], got [${x.shape}] and ` +
        `[${targets.shape}]`,
    );
  }
  const [rows, cols] = x.shape;
  const lb = gpuBuffer(losses), pb = gpuBuffer(probs);
  if (lb === pb) throw new Error("webgpu: crossEntropy losses and probs must differ");
  if (rows === 0) return;
  checkBounds(targets, tb, "crossEntropy targets");
  if (cols > 0) checkBounds(x, xb, "crossEntropy logits");
  checkCapacity(lb, rows, "crossEntropy losses");
  checkCapacity(pb, rows * cols, "crossEntropy probs");
  for (const h of [xb, tb]) {
    if (h === lb || (h === pb && cols > 0)) {
      throw new Error("webgpu: crossEntropy outputs must not alias its inputs");
    }
  }
  const kernel = ctx.kernel("crossEntropy", crossEntropySource);
  const site = ctx.errors.site(`crossEntropy:${cols}`, () => ({
    op: "crossEntropy",
    error: () =>
      new RangeError(
        `crossEntropy: a target is out of range [0, ${cols}) (found on the device by a ` +
          `cross-entropy recorded before this read)`,
      ),
  }));
  const meta = new Meta().u32(rows, cols).i32(x.offset, x.strides[0], x.strides[1])
    .i32(targets.offset, targets.strides[0]).u32(site);
  const [gx, gy] = grid2d(rows, ctx.maxGroupsPerDim);
  ctx.dispatch(kernel, meta.finish(), [
    { gpu: xb.gpu, bytes: xb.bytes },
    { gpu: tb.gpu, bytes: tb.bytes },
    { gpu: lb.gpu, bytes: lb.bytes },
    { gpu: pb.gpu, bytes: pb.bytes },
    { gpu: ctx.errors.buffer, bytes: ERROR_BYTES },
  ], [gx, gy, 1]);
}
