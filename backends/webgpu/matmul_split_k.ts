/**
 * Split-K for skinny products with a long inner dimension (LoRA's
 * rank-side products: the down projection `x·Aᵀ` with K = features and
 * N = rank, and its gradients at large batch, with K = rows of the batch),
 * where the serial skinny kernel would give a few hundred invocations K
 * multiply-adds each.
 *
 * One dispatch, no temporary: a workgroup of {@link SPLITK_LANES}
 * invocations owns 4 outputs side by side in a row; invocation `l` sums
 * k = l, l + 64, … in order (one read of a per k, shared by the 4 outputs),
 * then the 64 partial sums are added pairwise in workgroup memory in a fixed
 * tree, so the result is deterministic (and within rounding of the serial
 * sum). Same parameter words, buffers, bias and accumulate variant as the
 * other matmul kernels.
 *
 * @module
 */

import type { DType } from "../backend.ts";
import { type BufferDecl, type KernelSource, kernelSource, wgslType } from "./wgsl_common.ts";
import { batchBases } from "./wgsl_matmul.ts";

/** Invocations sharing one group of outputs' K. */
export const SPLITK_LANES = 64;
/** Outputs (along N) per workgroup. */
export const SPLITK_GROUP = 4;
/** Skinny products with K at least this… */
export const SPLITK_MIN_K = 256;
/** …and at most this many outputs per batch are split along K. */
export const SPLITK_MAX_OUTPUTS = 65536;

/** Whether a skinny M×K by K×N product is split along K. */
export function useSplitK(m: number, n: number, k: number): boolean {
  return k >= SPLITK_MIN_K && m * n <= SPLITK_MAX_OUTPUTS;
}

/** Workgroups per batch of a split-K product. */
export function splitKGroups(m: number, n: number): number {
  return m * Math.ceil(n / SPLITK_GROUP);
}

/** Source of the split-K kernel for `nb` batch dims (see the module notes). */
export function splitKSource(
  dtype: DType,
  nb: number,
  bias: boolean,
  accumulate: boolean,
): KernelSource {
  const t = wgslType(dtype);
  if (accumulate && (dtype !== "float32" || bias)) {
    throw new Error("webgpu: accumulating matmul is float32 without bias");
  }
  const bufs: BufferDecl[] = [
    { name: "A", type: t, access: "read" },
    { name: "B", type: t, access: "read" },
    ...(bias ? [{ name: "bias", type: t, access: "read" } as const] : []),
    { name: "out", type: t, access: "read_write" },
  ];
  const L = SPLITK_LANES;
  const lanes = [0, 1, 2, 3];
  const store = (j: number) => {
    const v = `r[${j}]${
      bias ? ` + bias[bitcast<i32>(prm[10]) + i32(n0 + ${j}u) * bitcast<i32>(prm[11])]` : ""
    }`;
    return `    if (n0 + ${j}u < N) { out[o + ${j}u] ${accumulate ? "+=" : "="} ${v}; }`;
  };
  return kernelSource(
    bufs,
    `
var<workgroup> red: array<vec4<${t}>, ${L}>;

@compute @workgroup_size(${L})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let M = prm[0];
  let N = prm[1];
  let K = prm[2];
  let NG = (N + ${SPLITK_GROUP - 1}u) / ${SPLITK_GROUP}u;
  let g = wid.y * nwg.x + wid.x;
  let z = wid.z + prm[3];${batchBases(nb)}${
      accumulate ? "\n  let alpha = bitcast<f32>(prm[12]);" : ""
    }
  // Workgroups past the last group still reach the barriers, with a clamped group.
  let gc = min(g, M * NG - 1u);
  let m = gc / NG;
  let n0 = (gc % NG) * ${SPLITK_GROUP}u;
${lanes.map((j) => `  let bn${j} = b_base + i32(min(n0 + ${j}u, N - 1u)) * sbn;`).join("\n")}
  var ap = a_base + i32(m) * sam + i32(lid) * sak;
  var kb = i32(lid) * sbk;
  var acc = vec4<${t}>();
  for (var k = lid; k < K; k += ${L}u) {
    let a = ${accumulate ? "alpha * " : ""}A[ap];
    acc += a * vec4<${t}>(B[bn0 + kb], B[bn1 + kb], B[bn2 + kb], B[bn3 + kb]);
    ap += ${L} * sak;
    kb += ${L} * sbk;
  }
  red[lid] = acc;
  workgroupBarrier();
${
      [32, 16, 8, 4, 2, 1].filter((s) => s < L).map((s) =>
        `  if (lid < ${s}u) { red[lid] += red[lid + ${s}u]; }\n  workgroupBarrier();`
      ).join("\n")
    }
  if (lid == 0u && g < M * NG) {
    let r = red[0];
    let o = prm[13] + (z * M + m) * prm[14] + n0;
${lanes.map(store).join("\n")}
  }
}
`,
  );
}
