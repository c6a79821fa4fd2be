/**
 * Host side of the fused attention and its backward (`wgsl_attention.ts`):
 * views checked, parameter words packed, one dispatch for the forward,
 * three (delta, dq, dk/dv) for the backward; the blocked kernels take one
 * workgroup per block of rows of a head.
 *
 * @module
 */
import type { FusedArgs, View } from "../backend.ts";
import type { GpuContext } from "./gpu_context.ts";
import type { Binding } from "./kernel.ts";
import { bindingBytes, grid2d } from "./limits.ts";
import { checkBounds, checkCapacity, checkView, gpuBuffer, Meta } from "./meta.ts";
import { grid1d } from "./ops_elementwise.ts";
import {
  ATTENTION_ROWS,
  ATTENTION_WORDS,
  attentionLoopIterations,
  attentionSource,
} from "./wgsl_attention.ts";
import {
  attentionDeltaSource,
  attentionDkvSource,
  attentionDqSource,
} from "./wgsl_attention_backward.ts";

/** The grid of a blocked kernel: one workgroup per block of rows of a head. */
function blocks(ctx: GpuContext, heads: number, rows: number): [number, number, number] {
  const [x, y] = grid2d(heads * Math.ceil(rows / ATTENTION_ROWS), ctx.maxGroupsPerDim);
  return [x, y, 1];
}

/** Head dims the kernels are built for at most (private arrays). */
export const MAX_HEAD_DIM = 256;

interface Sizes {
  B: number;
  H: number;
  T: number;
  S: number;
  Hkv: number;
  D: number;
  Dv: number;
}

function sizes(ctx: GpuContext, q: View, k: View, v: View, backward: boolean): Sizes {
  const [B, H, T, D] = q.shape, [, Hkv, S] = k.shape, Dv = v.shape[3];
  if (D > MAX_HEAD_DIM || Dv > MAX_HEAD_DIM || D === 0 || Dv === 0) {
    throw new RangeError(`webgpu: attention head dims ${D}/${Dv} outside 1..${MAX_HEAD_DIM}`);
  }
  const loops = attentionLoopIterations({ T, S, D, Dv, group: Hkv > 0 ? H / Hkv : 0 });
  const most = backward ? Math.max(loops.dq, loops.dkv) : loops.forward;
  if (most > ctx.loopIterationLimit) {
    throw new RangeError(
      `webgpu: attention${
        backward ? "'s backward" : ""
      } of ${T} queries over ${S} keys (head dims ${D}/${Dv}, ${H}/${Hkv} ` +
        `heads) needs ${most} loop iterations per invocation; this adapter stops each ` +
        `invocation after ${ctx.loopIterationLimit} (Mesa's llvmpipe) and would return wrong ` +
        `numbers: use a shorter sequence or the cpu backend`,
    );
  }
  return { B, H, T, S, Hkv, D, Dv };
}

/** The common words, and the bindings of q, k, v and the bias. */
function common(
  z: Sizes,
  count: number,
  q: View,
  k: View,
  v: View,
  bias: View | null,
  scale: number,
  causal: number | null,
  offsets: [number, number, number],
): { meta: Meta; binds: Binding[] } {
  const views = [q, k, v, bias ?? q].map((x, i) => {
    const h = checkView(x, ["q", "k", "v", "bias"][i], "float32");
    if (x.shape.every((s) => s > 0)) checkBounds(x, h, ["q", "k", "v", "bias"][i]);
    return h;
  });
  const meta = new Meta().u32(count, z.B, z.H, z.T, z.S, z.Hkv, causal === null ? 0 : 1)
    .i32(causal ?? 0).f32(scale).u32(bias ? 1 : 0);
  for (const x of [q, k, v, bias ?? q]) meta.i32(x.offset, ...x.strides);
  meta.u32(...offsets);
  if (meta.length !== ATTENTION_WORDS) throw new Error("webgpu: attention parameter layout");
  return { meta, binds: views.map((h) => ({ gpu: h.gpu, bytes: h.bytes })) };
}

/** The forward (see `FusedOps.attention`). */
export function attention(
  ctx: GpuContext,
  ...[q, k, v, bias, scale, causal, out, lse]: FusedArgs<"attention">
): void {
  const z = sizes(ctx, q, k, v, false);
  const rows = z.B * z.H * z.T;
  if (rows === 0) return;
  const ob = gpuBuffer(out), lb = gpuBuffer(lse);
  checkCapacity(ob, rows * z.Dv, "attention output");
  checkCapacity(lb, rows, "attention lse");
  const { meta, binds } = common(z, rows, q, k, v, bias, scale, causal, [0, 0, 0]);
  const kernel = ctx.kernel(`attention:${z.D}:${z.Dv}`, () => attentionSource(z.D, z.Dv));
  ctx.dispatch(kernel, meta.finish(), [
    ...binds,
    { gpu: ob.gpu, bytes: ob.bytes },
    { gpu: lb.gpu, bytes: lb.bytes },
  ], blocks(ctx, z.B * z.H, z.T));
}

/** The backward (see `FusedOps.attentionBackward`). */
export function attentionBackward(
  ctx: GpuContext,
  ...[q, k, v, bias, scale, causal, out, lse, gOut, dq, dk, dv]: FusedArgs<"attentionBackward">
): void {
  const z = sizes(ctx, q, k, v, true);
  const rows = z.B * z.H * z.T, keys = z.B * z.Hkv * z.S;
  const [dqb, dkb, dvb] = [dq, dk, dv].map(gpuBuffer);
  checkCapacity(dqb, rows * z.D, "attention dq");
  checkCapacity(dkb, keys * z.D, "attention dk");
  checkCapacity(dvb, keys * z.Dv, "attention dv");
  const [ob, lb, gb] = [out, lse, gOut].map((x, i) =>
    checkView(x, ["out", "lse", "gOut"][i], "float32")
  );
  const bind = (h: { gpu: GPUBuffer; bytes: number }) => ({ gpu: h.gpu, bytes: h.bytes });
  const offsets: [number, number, number] = [out.offset, lse.offset, gOut.offset];
  const deltaBytes = bindingBytes(Math.max(rows, 1));
  const delta = ctx.pool.acquire(deltaBytes);
  const d = { gpu: delta, bytes: deltaBytes };
  if (rows > 0) {
    const dm = new Meta().u32(rows, 0, 0, 0, 0, 0, 0).i32(0).f32(0).u32(0);
    for (let i = 0; i < 4; i++) dm.i32(0, 0, 0, 0, 0);
    dm.u32(...offsets);
    ctx.dispatch(
      ctx.kernel(`attentionDelta:${z.Dv}`, () => attentionDeltaSource(z.Dv)),
      dm.finish(),
      [bind(ob), bind(gb), d],
      grid1d(ctx, rows),
    );
    const { meta, binds } = common(z, rows, q, k, v, bias, scale, causal, offsets);
    ctx.dispatch(
      ctx.kernel(`attentionDq:${z.D}:${z.Dv}`, () => attentionDqSource(z.D, z.Dv)),
      meta.finish(),
      [...binds, bind(lb), bind(gb), d, bind(dqb)],
      blocks(ctx, z.B * z.H, z.T),
    );
  }
  if (keys > 0) {
    const { meta, binds } = common(z, keys, q, k, v, bias, scale, causal, offsets);
    ctx.dispatch(
      ctx.kernel(`attentionDkv:${z.D}:${z.Dv}`, () => attentionDkvSource(z.D, z.Dv)),
      meta.finish(),
      [...binds, bind(lb), bind(gb), d, bind(dkb), bind(dvb)],
      blocks(ctx, z.B * z.Hkv, z.S),
    );
  }
  ctx.pool.release(delta); // reused only by later commands, in program order
}
