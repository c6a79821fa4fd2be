/**
 * WGSL templates of reductions (sum, max, argmax), row softmax and the
 * fused row cross-entropy.
 *
 * Reduce parameter words: `[0] outputs, [1] reduced count R, [2] offset`,
 * then kept `shape[k]`, kept `strides[k]`, reduced `shape[r]`, reduced
 * `strides[r]`. Output element `o` (row-major over the kept dims) reduces
 * the R elements at `offset + kept(o) + reduced(j)`.
 *
 * Two variants: `thread` (one invocation per output, for short
 * reductions) and `group` (one 256-wide workgroup per output with a tree in
 * workgroup memory, for long ones). Both are deterministic.
 *
 * @module
 */

import type { DType, ReduceOp } from "../backend.ts";
import { WGSL_I32_MIN, WORKGROUP_SIZE } from "./limits.ts";
import {
  type BufferDecl,
  type KernelSource,
  kernelSource,
  main1d,
  MATH,
  wgslType,
} from "./wgsl_common.ts";

/** Which reduction kernel shape to use. */
export type ReduceVariant = "thread" | "group";

function offsetFn(name: string, rank: number, shapeWord: number, strideWord: number): string {
  return `
fn ${name}(i: u32) -> i32 {
  var off = 0;
  var rem = i;
  for (var d = ${rank - 1}; d >= 0; d--) {
    let sz = prm[${shapeWord}u + u32(d)];
    off += i32(rem % sz) * bitcast<i32>(prm[${strideWord}u + u32(d)]);
    rem = rem / sz;
  }
  return off;
}
`;
}

/** Source of a reduction kernel; `k`/`r` are the kept/reduced ranks. */
export function reduceSource(
  op: ReduceOp,
  dtype: DType,
  k: number,
  r: number,
  variant: ReduceVariant,
): KernelSource {
  const t = wgslType(dtype);
  const isF = t === "f32";
  const lowest = isF ? "neg_inf()" : WGSL_I32_MIN;
  const outT = op === "argmax" ? "i32" : t;
  const kS = 3, kT = 3 + k, rS = 3 + 2 * k, rT = 3 + 2 * k + r;
  const fns = offsetFn("kept_off", k, kS, kT) + offsetFn("red_off", r, rS, rT) + `
fn better(a: ${t}, ia: u32, b: ${t}, ib: u32) -> bool {
  ${
    isF
      ? "let na = is_nan(a); let nb = is_nan(b); if (na || nb) { return na && (!nb || ia < ib); }"
      : ""
  }
  return a > b || (a == b && ia < ib);
}
fn combine(a: ${t}, b: ${t}) -> ${t} {
  ${
    op === "sum"
      ? "return a + b;"
      : isF
      ? "return select(max(a, b), nan_(), is_nan(a) || is_nan(b));"
      : "return max(a, b);"
  }
}
`;
  const init = op === "sum" ? `${t}(0)` : lowest;
  // Per-invocation loop over j = start, start + step, …
  const loop = (start: string, step: string) =>
    op === "argmax"
      ? `
  var best = ${lowest};
  var bi = 0xffffffffu;
  for (var j = ${start}; j < prm[1]; j += ${step}) {
    let v = xs[base + red_off(j)];
    if (better(v, j, best, bi)) { best = v; bi = j; }
  }`
      : `
  var acc = ${init};
  for (var j = ${start}; j < prm[1]; j += ${step}) {
    acc = combine(acc, xs[base + red_off(j)]);
  }`;
  const bufs: BufferDecl[] = [
    { name: "xs", type: t, access: "read" },
    { name: "out", type: outT, access: "read_write" },
  ];
  if (variant === "thread") {
    const body = `  let base = bitcast<i32>(prm[2]) + kept_off(idx);` + loop("0u", "1u") +
      (op === "argmax"
        ? `\n  out[idx] = select(i32(bi), 0, bi == 0xffffffffu);`
        : `\n  out[idx] = acc;`);
    return kernelSource(bufs, MATH + fns + main1d(0, body));
  }
  const W = WORKGROUP_SIZE;
  const shared = `var<workgroup> sv: array<${t}, ${W}>;\n` +
    (op === "argmax" ? `var<workgroup> si: array<u32, ${W}>;\n` : "");
  const store = op === "argmax" ? "sv[lid] = best;\n  si[lid] = bi;" : "sv[lid] = acc;";
  const step = op === "argmax"
    ? `if (better(sv[lid + s], si[lid + s], sv[lid], si[lid])) { sv[lid] = sv[lid + s]; si[lid] = si[lid + s]; }`
    : `sv[lid] = combine(sv[lid], sv[lid + s]);`;
  const write = op === "argmax"
    ? `out[o] = select(i32(si[0]), 0, si[0] == 0xffffffffu);`
    : `out[o] = sv[0];`;
  return kernelSource(
    bufs,
    MATH + fns + shared + `
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let o = wid.y * nwg.x + wid.x;
  if (o >= prm[0]) { return; }
  let base = bitcast<i32>(prm[2]) + kept_off(o);
${loop("lid", `${W}u`)}
  ${store}
  workgroupBarrier();
  for (var s = ${W / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { ${step} }
    workgroupBarrier();
  }
  if (lid == 0u) { ${write} }
}
`,
  );
}

/** Row max then row sum of `exp(x − max)`, into `mx` and `total`. */
function rowStats(W: number): string {
  const tree = (op: string) => `
  workgroupBarrier();
  for (var s = ${W / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { sh[lid] = ${op}; }
    workgroupBarrier();
  }`;
  return `
  var m = neg_inf();
  for (var c = lid; c < cols; c += ${W}u) {
    let v = xs[base + i32(c) * cs];
    m = select(max(m, v), nan_(), is_nan(v) || is_nan(m));
  }
  sh[lid] = m;${
    tree("select(max(sh[lid], sh[lid + s]), nan_(), is_nan(sh[lid]) || is_nan(sh[lid + s]))")
  }
  let mx = sh[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var c = lid; c < cols; c += ${W}u) {
    sum += exp_acc(xs[base + i32(c) * cs] - mx);
  }
  sh[lid] = sum;${tree("sh[lid] + sh[lid + s]")}
  let total = sh[0];
  let lt = log_acc(total);`;
}

/** Entry point of a one-workgroup-per-row kernel; rows are `prm[0]`. */
function rowMain(W: number, body: string): string {
  return `
var<workgroup> sh: array<f32, ${W}>;

@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= prm[0]) { return; }
  let cols = prm[1];
  let base = bitcast<i32>(prm[2]) + i32(row) * bitcast<i32>(prm[3]);
  let cs = bitcast<i32>(prm[4]);${rowStats(W)}${body}
}
`;
}

/**
 * Row softmax / log-softmax, one workgroup per row. Words: `[0] rows,
 * [1] cols, [2] offset, [3] row stride, [4] col stride`; out is contiguous.
 */
export function softmaxSource(log: boolean): KernelSource {
  const W = WORKGROUP_SIZE;
  return kernelSource(
    [
      { name: "xs", type: "f32", access: "read" },
      { name: "out", type: "f32", access: "read_write" },
    ],
    MATH + rowMain(
      W,
      `
  let ob = row * cols;
  for (var c = lid; c < cols; c += ${W}u) {
    let z = xs[base + i32(c) * cs] - mx;
    out[ob + c] = ${log ? "z - lt" : "exp_acc(z) / total"};
  }`,
    ),
  );
}

/**
 * Row cross-entropy, one workgroup per row: `probs = softmax(x)` and
 * `losses[row] = log Σ exp(x − max) − (x[t] − max)` (NaN for a target
 * outside [0, cols)). Words as {@link softmaxSource}, then `[5] targets
 * offset, [6] targets stride`; probs and losses are contiguous.
 */
export function crossEntropySource(): KernelSource {
  const W = WORKGROUP_SIZE;
  return kernelSource(
    [
      { name: "xs", type: "f32", access: "read" },
      { name: "tg", type: "i32", access: "read" },
      { name: "losses", type: "f32", access: "read_write" },
      { name: "probs", type: "f32", access: "read_write" },
      { name: "err", type: "atomic<u32>", access: "read_write" },
    ],
    MATH + rowMain(
      W,
      `
  let ob = row * cols;
  for (var c = lid; c < cols; c += ${W}u) {
    probs[ob + c] = exp_acc(xs[base + i32(c) * cs] - mx) / total;
  }
  if (lid == 0u) {
    let t = tg[bitcast<i32>(prm[5]) + i32(row) * bitcast<i32>(prm[6])];
    var loss = nan_();
    if (t >= 0 && u32(t) < cols) { loss = lt - (xs[base + t * cs] - mx); }
    else { atomicMin(&err[0], prm[7]); }
    losses[row] = loss;
  }`,
    ),
  );
}
