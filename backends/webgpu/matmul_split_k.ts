/**
 * Split-K for skinny products with a long inner dimension (LoRA's
 * rank-side gradients at large batch, where K is the number of rows of the
 * batch and M·N ≤ rank × features): kernels and host side. The serial
 * skinny kernel would give each of a few thousand invocations K
 * multiply-adds; here each sums a chunk of 256 and a second pass adds the
 * chunks in order, so results are deterministic.
 *
 * @module
 */

import type { DType, View } from "../backend.ts";
import type { GpuContext } from "./gpu_context.ts";
import type { Binding } from "./kernel.ts";
import { grid2d, WORKGROUP_SIZE } from "./limits.ts";
import { Meta } from "./meta.ts";
import { type BufferDecl, type KernelSource, kernelSource, wgslType } from "./wgsl_common.ts";
import { MATMUL_SCALARS } from "./wgsl_matmul.ts";

/** Inner-dim chunk of one split-K partial product. */
export const SPLITK_CHUNK = 256;

/**
 * Split-K partial products of an unbatched skinny product (LoRA's rank-side
 * gradients at large batch: K = rows of the batch, M·N small): workgroup
 * row `wid.z` sums its chunk of `SPLITK_CHUNK` k's (in order) for every
 * output and writes it to `part[wid.z · M·N + m·N + n]`. Same parameter
 * words as the matmul kernels (bias, alpha and the output words unused;
 * with `scaled`, a is multiplied by alpha as it is read).
 */
export function splitKPartialSource(dtype: DType, scaled: boolean): KernelSource {
  const t = wgslType(dtype);
  return kernelSource(
    [
      { name: "A", type: t, access: "read" },
      { name: "B", type: t, access: "read" },
      { name: "part", type: t, access: "read_write" },
    ],
    `
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let M = prm[0];
  let N = prm[1];
  let K = prm[2];
  let i = (wid.y * nwg.x + wid.x) * ${WORKGROUP_SIZE}u + lid;
  if (i >= M * N) { return; }
  let m = i / N;
  let n = i % N;
  let k0 = wid.z * ${SPLITK_CHUNK}u;
  let k1 = min(K, k0 + ${SPLITK_CHUNK}u);
  let sak = bitcast<i32>(prm[7]);
  let sbk = bitcast<i32>(prm[8]);
  var ap = bitcast<i32>(prm[4]) + i32(m) * bitcast<i32>(prm[6]) + i32(k0) * sak;
  var bp = bitcast<i32>(prm[5]) + i32(n) * bitcast<i32>(prm[9]) + i32(k0) * sbk;${
      scaled ? "\n  let alpha = bitcast<f32>(prm[12]);" : ""
    }
  var acc = ${t}(0);
  for (var k = k0; k < k1; k++) {
    acc += ${scaled ? "alpha * " : ""}A[ap] * B[bp];
    ap += sak;
    bp += sbk;
  }
  part[wid.z * M * N + i] = acc;
}
`,
  );
}

/**
 * Second pass of split-K: each output is the sum of its `prm[15]` partials
 * in chunk order (then plus the bias, or added to `out` with `accumulate`),
 * so results are deterministic. Same parameter words as the matmul kernels,
 * then the chunk count.
 */
export function splitKReduceSource(dtype: DType, bias: boolean, accumulate: boolean): KernelSource {
  const t = wgslType(dtype);
  const bufs: BufferDecl[] = [
    { name: "part", type: t, access: "read" },
    ...(bias ? [{ name: "bias", type: t, access: "read" } as const] : []),
    { name: "out", type: t, access: "read_write" },
  ];
  const biasAdd = bias ? " + bias[bitcast<i32>(prm[10]) + i32(n) * bitcast<i32>(prm[11])]" : "";
  return kernelSource(
    bufs,
    `
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let M = prm[0];
  let N = prm[1];
  let i = (wid.y * nwg.x + wid.x) * ${WORKGROUP_SIZE}u + lid;
  if (i >= M * N) { return; }
  let m = i / N;
  let n = i % N;
  var acc = ${t}(0);
  for (var s = 0u; s < prm[15]; s++) {
    acc += part[s * M * N + i];
  }
  let o = prm[13] + m * prm[14] + n;
  ${accumulate ? "out[o] += acc;" : `out[o] = acc${biasAdd};`}
}
`,
  );
}

/** Split-K is used for unbatched skinny products with K at least this… */
export const SPLITK_MIN_K = 1024;
/** …and at most this many outputs (more give the serial kernel enough invocations). */
export const SPLITK_MAX_OUTPUTS = 65536;

/** Whether a skinny product is split along K (see {@link splitK}). */
export function useSplitK(ctx: GpuContext, m: number, n: number, k: number, nb: number): boolean {
  const chunks = Math.ceil(k / SPLITK_CHUNK);
  return nb === 0 && k >= SPLITK_MIN_K && m * n <= SPLITK_MAX_OUTPUTS &&
    chunks * m * n * 4 <= ctx.maxBindingBytes;
}

/**
 * A skinny product with a long K (LoRA's rank-side gradients at large
 * batch: K is the number of rows, M·N ≤ r·features): one dispatch writes
 * `⌈K / SPLITK_CHUNK⌉` partial products into a pooled temporary, each
 * summing its chunk of K in order, and a second sums the partials in chunk
 * order into the output (with the bias, or added with `alpha`), so the
 * result is deterministic and each invocation loops over 256 k's instead of
 * K.
 */
export function splitK(
  ctx: GpuContext,
  dtype: View["dtype"],
  dims: { m: number; n: number; k: number },
  binds: Binding[],
  a: { offset: number; rs: number; cs: number },
  b: { offset: number; rs: number; cs: number },
  bias: { offset: number; stride: number } | null,
  out: { offset: number; ld: number },
  alpha: number | null,
): void {
  const { m, n, k } = dims;
  const chunks = Math.ceil(k / SPLITK_CHUNK);
  const scaled = alpha !== null;
  const partial = ctx.kernel(
    `matmul:splitk-part:${dtype}:${scaled}`,
    () => splitKPartialSource(dtype, scaled),
  );
  const reduce = ctx.kernel(
    `matmul:splitk-sum:${dtype}:${bias !== null}:${scaled}`,
    () => splitKReduceSource(dtype, bias !== null, scaled),
  );
  const meta = new Meta().u32(m, n, k, 0).i32(a.offset, b.offset, a.rs, a.cs, b.rs, b.cs)
    .i32(bias?.offset ?? 0, bias?.stride ?? 0).f32(alpha ?? 1).u32(out.offset, out.ld);
  if (meta.length !== MATMUL_SCALARS) throw new Error("webgpu: matmul parameter layout");
  const [gx, gy] = grid2d(Math.ceil((m * n) / WORKGROUP_SIZE), ctx.maxGroupsPerDim);
  const bytes = chunks * m * n * 4;
  const tmp = ctx.pool.acquire(bytes);
  const part = { gpu: tmp, bytes };
  ctx.dispatch(partial, meta.finish(), [binds[0], binds[1], part], [gx, gy, chunks]);
  ctx.dispatch(reduce, meta.u32(chunks).finish(), [part, ...binds.slice(2)], [gx, gy, 1]);
  ctx.pool.release(tmp); // reuse comes later in program order
}
