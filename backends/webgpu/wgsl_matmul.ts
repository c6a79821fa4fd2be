/**
 * WGSL templates of batched matmul (and the fused linear, which is matmul
 * plus a bias row, and the accumulating variant the fused LoRA linear adds
 * its adapter product with).
 *
 * Parameter words: `[0] M, [1] N, [2] K, [3] first batch of this dispatch,
 * [4] a offset, [5] b offset, [6] a row stride, [7] a col stride, [8] b row
 * stride, [9] b col stride, [10] bias offset, [11] bias stride, [12] alpha
 * (f32 bits), [13] out offset, [14] out row stride (N unless a window of a
 * wider output is written)`, then batch `shape[nb]`, a batch `strides[nb]`,
 * b batch `strides[nb]`. Batches of the output follow each other, M rows
 * of the row stride apart.
 *
 * The `accumulate` variant computes `out += (alpha·a)·b` (float32 only):
 * each element of a is scaled as it is read, so the sum is rounded exactly
 * as a plain matmul of a pre-scaled a would be, then added to what `out`
 * already holds — no temporary of the product.
 *
 * `tiled`: 64×64 output tiles, 16-deep K slices staged in workgroup memory,
 * 16×16 invocations computing 4×4 outputs each, scalar strided loads (any
 * layout). `skinny`: one invocation per output looping over K, for N or
 * K ≤ 16 (the rank side of LoRA) or M ≤ 16, where 64-wide tiles would mostly
 * hold padding. `vec4` ({@link Vec4Config}): no workgroup memory and no
 * barriers; each invocation keeps an `rows × 4` block of outputs in vec4
 * registers and reads a and b straight from storage as vec4 along K (and
 * along N for b in the `nn` layout), for operands whose inner dims are
 * contiguous and 4-aligned. On a software adapter (llvmpipe) each invocation
 * is a SIMD lane and barriers are coroutine switches, so this is 3–7× the
 * tiled kernel there; on a GPU the caches do the staging.
 *
 * @module
 */

import type { DType } from "../backend.ts";
import { WORKGROUP_SIZE } from "./limits.ts";
import {
  type BufferDecl,
  header,
  type KernelSource,
  kernelSource,
  wgslType,
} from "./wgsl_common.ts";

/** Which matmul kernel to use. */
export type MatmulVariant = "tiled" | "skinny" | "vec4" | "splitk";

/**
 * Layout of a `vec4` matmul: a is always contiguous along K (row-major);
 * `nn`: b is K×N contiguous along N (`a · b`); `nt`: b is read as the
 * transpose of an N×K matrix contiguous along K (`x · wᵀ`).
 */
export type Vec4Layout = "nn" | "nt";

/** Shape of a `vec4` kernel: `rows × 4` outputs per invocation, `wx × wy` invocations. */
export interface Vec4Config {
  readonly layout: Vec4Layout;
  readonly rows: number;
  readonly wx: number;
  readonly wy: number;
}

/** Output rows and columns one `vec4` workgroup covers. */
export function vec4Tile(c: Vec4Config): { tm: number; tn: number } {
  return { tm: c.rows * c.wy, tn: 4 * c.wx };
}

/** Output tile edge of the tiled kernel. */
export const TILE = 64;
/** Shapes with N, K or M at most this take the skinny kernel. */
export const SKINNY_MAX = 16;
/** Words before the batch layout. */
export const MATMUL_SCALARS = 15;

/**
 * Statements setting `a_base`, `b_base` (the batch's first elements) and
 * the strides `sam`, `sak`, `sbk`, `sbn` from the parameter words, for
 * batch `z`.
 */
export function batchBases(nb: number): string {
  const s = MATMUL_SCALARS;
  return `
  var a_base = bitcast<i32>(prm[4]);
  var b_base = bitcast<i32>(prm[5]);
  var rem = z;
  for (var d = ${nb - 1}; d >= 0; d--) {
    let sz = prm[${s}u + u32(d)];
    let c = i32(rem % sz);
    rem = rem / sz;
    a_base += c * bitcast<i32>(prm[${s + nb}u + u32(d)]);
    b_base += c * bitcast<i32>(prm[${s + 2 * nb}u + u32(d)]);
  }
  let sam = bitcast<i32>(prm[6]);
  let sak = bitcast<i32>(prm[7]);
  let sbk = bitcast<i32>(prm[8]);
  let sbn = bitcast<i32>(prm[9]);`;
}

/**
 * Source of a matmul kernel for `nb` batch dims, with or without bias, and
 * either storing or (`accumulate`, float32) adding `(alpha·a)·b` to `out`.
 */
export function matmulSource(
  dtype: DType,
  nb: number,
  variant: MatmulVariant,
  bias: boolean,
  accumulate = false,
  vec4?: Vec4Config,
): KernelSource {
  const t = wgslType(dtype);
  if (accumulate && (dtype !== "float32" || bias)) {
    throw new Error("webgpu: accumulating matmul is float32 without bias");
  }
  /** An element of a as the kernel uses it. */
  const aRead = (idx: string) => accumulate ? `alpha * A[${idx}]` : `A[${idx}]`;
  const alphaDecl = accumulate ? "\n  let alpha = bitcast<f32>(prm[12]);" : "";
  /** Stores (or adds) `v` at output element `o`. */
  const store = (o: string, v: string) => accumulate ? `out[${o}] += ${v};` : `out[${o}] = ${v};`;
  const bufs: BufferDecl[] = [
    { name: "A", type: t, access: "read" },
    { name: "B", type: t, access: "read" },
    ...(bias ? [{ name: "bias", type: t, access: "read" } as const] : []),
    { name: "out", type: t, access: "read_write" },
  ];
  const biasAt = (n: string) =>
    bias ? ` + bias[bitcast<i32>(prm[10]) + i32(${n}) * bitcast<i32>(prm[11])]` : "";
  if (variant === "vec4") {
    if (!vec4) throw new Error("webgpu: a vec4 matmul needs its configuration");
    return vec4Source(t, nb, bufs, vec4, accumulate, store, biasAt);
  }
  if (variant === "splitk") throw new Error("webgpu: the split-K kernel is in matmul_split_k.ts");
  if (variant === "skinny") {
    return kernelSource(
      bufs,
      `
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let M = prm[0];
  let N = prm[1];
  let K = prm[2];
  let i = (wid.y * nwg.x + wid.x) * ${WORKGROUP_SIZE}u + lid;
  if (i >= M * N) { return; }
  let z = wid.z + prm[3];
  let m = i / N;
  let n = i % N;${batchBases(nb)}${alphaDecl}
  var ap = a_base + i32(m) * sam;
  var bp = b_base + i32(n) * sbn;
  var acc = ${t}(0);
  for (var k = 0u; k < K; k++) {
    acc += ${aRead("ap")} * B[bp];
    ap += sak;
    bp += sbk;
  }
  ${store("prm[13] + (z * M + m) * prm[14] + n", `acc${biasAt("n")}`)}
}
`,
    );
  }
  return kernelSource(
    bufs,
    `
var<workgroup> As: array<${t}, ${16 * TILE}>;
var<workgroup> Bs: array<${t}, ${16 * TILE}>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid3: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let M = prm[0];
  let N = prm[1];
  let K = prm[2];
  let z = wid.z + prm[3];${batchBases(nb)}${alphaDecl}
  let row0 = wid.y * ${TILE}u;
  let col0 = wid.x * ${TILE}u;
  let tx = lid3.x;
  let ty = lid3.y;
  var acc: array<vec4<${t}>, 4>;
  for (var k0 = 0u; k0 < K; k0 += 16u) {
    for (var l = 0u; l < 4u; l++) {
      let e = lid + l * 256u;
      let am = e / 16u;
      let ak = e % 16u;
      var av = ${t}(0);
      if (row0 + am < M && k0 + ak < K) {
        av = ${aRead("a_base + i32(row0 + am) * sam + i32(k0 + ak) * sak")};
      }
      As[ak * ${TILE}u + am] = av;
      let bk = e / ${TILE}u;
      let bn = e % ${TILE}u;
      var bv = ${t}(0);
      if (col0 + bn < N && k0 + bk < K) {
        bv = B[b_base + i32(k0 + bk) * sbk + i32(col0 + bn) * sbn];
      }
      Bs[bk * ${TILE}u + bn] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let bo = kk * ${TILE}u + tx * 4u;
      let b4 = vec4<${t}>(Bs[bo], Bs[bo + 1u], Bs[bo + 2u], Bs[bo + 3u]);
      let ao = kk * ${TILE}u + ty * 4u;
      acc[0] += As[ao] * b4;
      acc[1] += As[ao + 1u] * b4;
      acc[2] += As[ao + 2u] * b4;
      acc[3] += As[ao + 3u] * b4;
    }
    workgroupBarrier();
  }
  let ob = prm[13] + z * M * prm[14];
  for (var i = 0u; i < 4u; i++) {
    let m = row0 + ty * 4u + i;
    if (m >= M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = col0 + tx * 4u + j;
      if (n < N) { ${store("ob + m * prm[14] + n", `acc[i][j]${biasAt("n")}`)} }
    }
  }
}
`,
  );
}

/**
 * The `vec4` kernel (see the module notes). The host guarantees (see
 * `vec4Layout` in ops_matmul.ts): K, the a offset and row stride, every
 * batch stride, and in the `nn` layout N and b's K stride (in `nt` its N
 * stride) are multiples of 4, and the other inner strides are 1 — so every
 * vec4 read is a whole, aligned group of elements inside the operand.
 * Rows and columns past M and N read a clamped (valid) address and are not
 * stored. Each output is summed over k in order, as the other kernels do.
 */
function vec4Source(
  t: "f32" | "i32",
  nb: number,
  bufs: BufferDecl[],
  c: Vec4Config,
  accumulate: boolean,
  store: (o: string, v: string) => string,
  biasAt: (n: string) => string,
): KernelSource {
  const { tm } = vec4Tile(c);
  const v = `vec4<${t}>` as const;
  const rows = Array.from({ length: c.rows }, (_, i) => i);
  const cols = [0, 1, 2, 3];
  const decl = bufs.map((b): BufferDecl =>
    (b.name === "A" || b.name === "B") ? { ...b, type: v } : b
  );
  const scale = accumulate ? "alpha * " : "";
  const bRead = c.layout === "nn"
    ? `    let b0 = B[bp];
    let b1 = B[bp + sbk4];
    let b2 = B[bp + 2 * sbk4];
    let b3 = B[bp + 3 * sbk4];
    bp += 4 * sbk4;`
    : `    let w0 = B[bp0 + kq];
    let w1 = B[bp1 + kq];
    let w2 = B[bp2 + kq];
    let w3 = B[bp3 + kq];
    let b0 = ${v}(w0.x, w1.x, w2.x, w3.x);
    let b1 = ${v}(w0.y, w1.y, w2.y, w3.y);
    let b2 = ${v}(w0.z, w1.z, w2.z, w3.z);
    let b3 = ${v}(w0.w, w1.w, w2.w, w3.w);`;
  const bSetup = c.layout === "nn"
    ? `  let sbk4 = sbk / 4;
  var bp = (b_base + i32(min(n0, N - 4u))) / 4;`
    : cols.map((j) => `  let bp${j} = (b_base + i32(min(n0 + ${j}u, N - 1u)) * sbn) / 4;`).join(
      "\n",
    );
  return {
    code: header(decl) + `
@compute @workgroup_size(${c.wx}, ${c.wy})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid3: vec3u) {
  let M = prm[0];
  let N = prm[1];
  let K = prm[2];
  let z = wid.z + prm[3];${batchBases(nb)}${
      accumulate ? "\n  let alpha = bitcast<f32>(prm[12]);" : ""
    }
  let row0 = wid.y * ${tm}u + lid3.y * ${c.rows}u;
  let n0 = (wid.x * ${c.wx}u + lid3.x) * 4u;
${rows.map((i) => `  let ap${i} = (a_base + i32(min(row0 + ${i}u, M - 1u)) * sam) / 4;`).join("\n")}
${bSetup}
  var acc: array<${v}, ${c.rows}>;
  let K4 = i32(K / 4u);
  for (var kq = 0; kq < K4; kq++) {
${bRead}
${
      rows.map((i) =>
        `    {
      let a = ${scale}A[ap${i} + kq];
      var s = acc[${i}] + b0 * a.x;
      s += b1 * a.y;
      s += b2 * a.z;
      acc[${i}] = s + b3 * a.w;
    }`
      ).join("\n")
    }
  }
  let ob = prm[13] + z * M * prm[14];
${
      rows.map((i) =>
        `  if (row0 + ${i}u < M) {
    let o = ob + (row0 + ${i}u) * prm[14] + n0;
    let r = acc[${i}];
${
          cols.map((j) =>
            `    if (n0 + ${j}u < N) { ${store(`o + ${j}u`, `r[${j}]${biasAt(`n0 + ${j}u`)}`)} }`
          ).join("\n")
        }
  }`
      ).join("\n")
    }
}
`,
    access: bufs.map((b) => b.access),
  };
}
