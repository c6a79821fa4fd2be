/**
 * WGSL templates of gather and scatterAdd.
 *
 * Gather words: `[0] out elements, [1] row size, [2] index count, [3] rows
 * of x, [4] x offset, [5] x row stride, [6] index offset, [7] index stride,
 * [8] error site, [9] first and [10] end row of the bound window of x`,
 * then the strided layout of one row (shape, x: 0 + strides). The x
 * offset is that of the window's first row; a dispatch copies only the
 * rows whose index falls in the window (a table over one binding is
 * gathered window by window). A row index outside `[0, rows)` writes
 * zeros and flags the site (see `device_errors.ts`), so the next read
 * throws.
 *
 * scatterAdd runs deterministically without float atomics in two passes.
 * `link` (one invocation per index entry j) finds whether j is the first
 * entry naming its row (`head`) and the next entry naming the same row
 * (`next`). `scatter` (one invocation per element of src) lets only heads
 * walk their chain, summing `out + src[j₀] + src[j₁] + …` in index order —
 * the same order as a sequential host loop — so no two invocations ever
 * write one output element. Link words: `[0] n, [1] index offset, [2] index
 * stride`. Scatter words: `[0] n·row, [1] row size, [2] n, [3] rows of out,
 * [4] out offset, [5] out row stride, [6] src offset, [7] src row stride,
 * [8] index offset, [9] index stride`, then the strided layout of one row
 * (shape, out: 0 + strides, src: 0 + strides).
 *
 * @module
 */

import type { DType } from "../backend.ts";
import {
  type KernelSource,
  kernelSource,
  main1d,
  MATH,
  stridedOffsets,
  wgslType,
} from "./wgsl_common.ts";

/** Words before the row layout of gather. */
export const GATHER_SCALARS = 11;
/** Words before the row layout of scatter. */
export const SCATTER_SCALARS = 10;

function indexFn(indexType: DType, offWord: number, strideWord: number): string {
  const read = `ids[bitcast<i32>(prm[${offWord}u]) + i32(q) * bitcast<i32>(prm[${strideWord}u])]`;
  return `
fn ix(q: u32) -> i32 { return ${indexType === "int32" ? read : `f2i(${read})`}; }
`;
}

/** Gather rows of x by index; `rank` is the rank of one row. */
export function gatherSource(dtype: DType, indexType: DType, rank: number): KernelSource {
  const t = wgslType(dtype);
  const body = `
  let r = idx / prm[1];
  let inner = idx % prm[1];
  let row = ix(r);
  if (row < 0 || u32(row) >= prm[3]) {
    atomicMin(&err[0], prm[8]);
    out[idx] = ${t}(0);
    return;
  }
  if (u32(row) < prm[9] || u32(row) >= prm[10]) { return; }
${stridedOffsets(rank, GATHER_SCALARS, ["x"], "inner")}
  out[idx] = xs[bitcast<i32>(prm[4]) + (row - i32(prm[9])) * bitcast<i32>(prm[5]) + o_x];`;
  return kernelSource([
    { name: "xs", type: t, access: "read" },
    { name: "ids", type: wgslType(indexType), access: "read" },
    { name: "out", type: t, access: "read_write" },
    { name: "err", type: "atomic<u32>", access: "read_write" },
  ], MATH + indexFn(indexType, 6, 7) + main1d(0, body));
}

/**
 * Index check alone (a gather whose rows are empty still validates its
 * indices): words `[0] n, [1] rows, [2] index offset, [3] index stride,
 * [4] error site`.
 */
export function indexCheckSource(indexType: DType): KernelSource {
  const body = `
  let row = ix(idx);
  if (row < 0 || u32(row) >= prm[1]) { atomicMin(&err[0], prm[4]); }`;
  return kernelSource([
    { name: "ids", type: wgslType(indexType), access: "read" },
    { name: "err", type: "atomic<u32>", access: "read_write" },
  ], MATH + indexFn(indexType, 2, 3) + main1d(0, body));
}

/** First pass of scatterAdd: chains of equal indices. */
export function scatterLinkSource(indexType: DType): KernelSource {
  const body = `
  let n = prm[0];
  let r = ix(idx);
  var head = 1;
  for (var q = 0u; q < idx; q++) {
    if (ix(q) == r) { head = 0; break; }
  }
  var next = -1;
  for (var q = idx + 1u; q < n; q++) {
    if (ix(q) == r) { next = i32(q); break; }
  }
  link[idx] = next;
  link[n + idx] = head;`;
  return kernelSource([
    { name: "ids", type: wgslType(indexType), access: "read" },
    { name: "link", type: "i32", access: "read_write" },
  ], MATH + indexFn(indexType, 1, 2) + main1d(0, body));
}

/** Second pass of scatterAdd; `rank` is the rank of one row. */
export function scatterSource(dtype: DType, indexType: DType, rank: number): KernelSource {
  const t = wgslType(dtype);
  const body = `
  let j = idx / prm[1];
  let inner = idx % prm[1];
  let n = prm[2];
  if (link[n + j] == 0) { return; }
  let r = ix(j);
  if (r < 0 || u32(r) >= prm[3]) { return; }
${stridedOffsets(rank, SCATTER_SCALARS, ["o", "s"], "inner")}
  let op = bitcast<i32>(prm[4]) + r * bitcast<i32>(prm[5]) + o_o;
  let s0 = bitcast<i32>(prm[6]) + o_s;
  let ss = bitcast<i32>(prm[7]);
  var acc = out[op];
  var q = i32(j);
  loop {
    acc += src[s0 + q * ss];
    q = link[q];
    if (q < 0) { break; }
  }
  out[op] = acc;`;
  return kernelSource([
    { name: "out", type: t, access: "read_write" },
    { name: "ids", type: wgslType(indexType), access: "read" },
    { name: "src", type: t, access: "read" },
    { name: "link", type: "i32", access: "read" },
  ], MATH + indexFn(indexType, 8, 9) + main1d(0, body));
}
