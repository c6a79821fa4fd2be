/**
 * WGSL templates of the fused attention (see `FusedOps.attention`): one
 * invocation per query row with an online softmax over the keys (the
 * running maximum and sum rescale the accumulated output), so no score
 * matrix is stored; and its backward, recomputing each probability from
 * the row's saved log-sum-exp: `delta` (rowsum of dO ⊙ O), `dq` (one
 * invocation per query row) and `dkv` (one per key row, looping over the
 * query heads that share it).
 *
 * Words (all kernels): `[0] B·H·T or B·Hkv·S (the invocation count), [1] B,
 * [2] H, [3] T, [4] S, [5] Hkv, [6] causal (0/1), [7] causal offset (i32),
 * [8] scale (f32), [9] has bias`, then offset and four strides (b, h, row,
 * col) of q [10–14], k [15–19], v [20–24] and the bias [25–29], then the
 * element offsets of out [30], lse [31] and gOut [32]. The head dims D and
 * Dv are compile-time constants (private arrays need them).
 *
 * @module
 */
import { type KernelSource, kernelSource, main1d, MATH } from "./wgsl_common.ts";

/** Words before the kernel-specific ones. */
export const ATTENTION_WORDS = 33;

const ACCESS = {
  q: { name: "qs", type: "f32", access: "read" },
  k: { name: "ks", type: "f32", access: "read" },
  v: { name: "vs", type: "f32", access: "read" },
  bias: { name: "bs", type: "f32", access: "read" },
} as const;

/** Shared WGSL: parameter readers and the score of (b, h, t) against key s. */
function prelude(D: number): string {
  return `
fn w(i: u32) -> u32 { return prm[i]; }
fn iw(i: u32) -> i32 { return bitcast<i32>(prm[i]); }
fn at(base: u32, b: u32, h: u32, r: u32, c: u32) -> i32 {
  return iw(base) + i32(b) * iw(base + 1u) + i32(h) * iw(base + 2u) + i32(r) * iw(base + 3u) +
    i32(c) * iw(base + 4u);
}
fn hidden(t: u32, s: u32) -> bool {
  return w(6u) == 1u && i32(s) > i32(t) + iw(7u);
}
fn score(qv: ptr<function, array<f32, ${D}>>, b: u32, kh: u32, h: u32, t: u32, s: u32) -> f32 {
  var dot = 0.0;
  for (var d = 0u; d < ${D}u; d++) { dot += (*qv)[d] * ks[at(15u, b, kh, s, d)]; }
  var x = dot * bitcast<f32>(prm[8]);
  if (w(9u) == 1u) { x += bs[at(25u, b, h, t, s)]; }
  return x;
}
`;
}

/** Decodes a query-row index into (b, h, t) and loads q's row. */
function queryRow(D: number): string {
  return `
  let T = w(3u); let H = w(2u);
  let t = idx % T; let h = (idx / T) % H; let b = idx / (T * H);
  let kh = (h * w(5u)) / H;
  var qv: array<f32, ${D}>;
  for (var d = 0u; d < ${D}u; d++) { qv[d] = qs[at(10u, b, h, t, d)]; }`;
}

/** The forward: out [rows, Dv] and lse [rows]. */
export function attentionSource(D: number, Dv: number): KernelSource {
  const body = queryRow(D) + `
  var acc: array<f32, ${Dv}>;
  var m = -inf_();
  var l = 0.0;
  for (var s = 0u; s < w(4u); s++) {
    if (hidden(t, s)) { continue; }
    let x = score(&qv, b, kh, h, t, s);
    if (x == -inf_()) { continue; }
    let mn = max(m, x);
    let corr = select(exp_acc(m - mn), 0.0, m == -inf_());
    let p = exp_acc(x - mn);
    l = l * corr + p;
    for (var e = 0u; e < ${Dv}u; e++) { acc[e] = acc[e] * corr + p * vs[at(20u, b, kh, s, e)]; }
    m = mn;
  }
  let o = w(30u) + idx * ${Dv}u;
  // No keys at all: an empty sum (0, log-sum-exp -inf). Every key hidden:
  // 0/0 as the softmax gives it, spelled out since WGSL leaves 0/0 open.
  let none = w(4u) == 0u;
  let nan = nan_();
  for (var e = 0u; e < ${Dv}u; e++) {
    out[o + e] = select(select(acc[e] / l, nan, l == 0.0), 0.0, none);
  }
  lse[w(31u) + idx] = select(select(m + log_acc(l), nan, l == 0.0), -inf_(), none);`;
  return kernelSource([
    ACCESS.q,
    ACCESS.k,
    ACCESS.v,
    ACCESS.bias,
    { name: "out", type: "f32", access: "read_write" },
    { name: "lse", type: "f32", access: "read_write" },
  ], MATH + prelude(D) + main1d(0, body));
}

/** delta[row] = Σ dO ⊙ O over the row (Dv values). */
export function attentionDeltaSource(Dv: number): KernelSource {
  const body = `
  let o = prm[30] + idx * ${Dv}u; let g = prm[32] + idx * ${Dv}u;
  var s = 0.0;
  for (var e = 0u; e < ${Dv}u; e++) { s += gout[g + e] * out[o + e]; }
  delta[idx] = s;`;
  return kernelSource([
    { name: "out", type: "f32", access: "read" },
    { name: "gout", type: "f32", access: "read" },
    { name: "delta", type: "f32", access: "read_write" },
  ], main1d(0, body));
}

/** dq: one invocation per query row. */
export function attentionDqSource(D: number, Dv: number): KernelSource {
  const body = queryRow(D) + `
  let lr = lse[w(31u) + idx];
  let g = w(32u) + idx * ${Dv}u;
  let dl = delta[idx];
  let scale = bitcast<f32>(prm[8]);
  var dqv: array<f32, ${D}>;
  for (var s = 0u; s < w(4u); s++) {
    if (hidden(t, s)) { continue; }
    let p = exp_acc(score(&qv, b, kh, h, t, s) - lr);
    if (p == 0.0) { continue; }
    var dp = 0.0;
    for (var e = 0u; e < ${Dv}u; e++) { dp += gout[g + e] * vs[at(20u, b, kh, s, e)]; }
    let ds = p * (dp - dl) * scale;
    for (var d = 0u; d < ${D}u; d++) { dqv[d] += ds * ks[at(15u, b, kh, s, d)]; }
  }
  for (var d = 0u; d < ${D}u; d++) { dq[idx * ${D}u + d] = dqv[d]; }`;
  return kernelSource([
    ACCESS.q,
    ACCESS.k,
    ACCESS.v,
    ACCESS.bias,
    { name: "lse", type: "f32", access: "read" },
    { name: "gout", type: "f32", access: "read" },
    { name: "delta", type: "f32", access: "read" },
    { name: "dq", type: "f32", access: "read_write" },
  ], MATH + prelude(D) + main1d(0, body));
}

/** dk and dv: one invocation per key row, over the query heads sharing it. */
export function attentionDkvSource(D: number, Dv: number): KernelSource {
  const body = `
  let S = w(4u); let Hkv = w(5u); let H = w(2u); let T = w(3u);
  let s = idx % S; let kh = (idx / S) % Hkv; let b = idx / (S * Hkv);
  let group = H / Hkv;
  let scale = bitcast<f32>(prm[8]);
  var dkv: array<f32, ${D}>;
  var dvv: array<f32, ${Dv}>;
  for (var h = kh * group; h < (kh + 1u) * group; h++) {
    for (var t = 0u; t < T; t++) {
      if (hidden(t, s)) { continue; }
      let row = (b * H + h) * T + t;
      var qv: array<f32, ${D}>;
      for (var d = 0u; d < ${D}u; d++) { qv[d] = qs[at(10u, b, h, t, d)]; }
      let p = exp_acc(score(&qv, b, kh, h, t, s) - lse[w(31u) + row]);
      if (p == 0.0) { continue; }
      let g = w(32u) + row * ${Dv}u;
      var dp = 0.0;
      for (var e = 0u; e < ${Dv}u; e++) {
        dvv[e] += p * gout[g + e];
        dp += gout[g + e] * vs[at(20u, b, kh, s, e)];
      }
      let ds = p * (dp - delta[row]) * scale;
      for (var d = 0u; d < ${D}u; d++) { dkv[d] += ds * qv[d]; }
    }
  }
  for (var d = 0u; d < ${D}u; d++) { dk[idx * ${D}u + d] = dkv[d]; }
  for (var e = 0u; e < ${Dv}u; e++) { dv[idx * ${Dv}u + e] = dvv[e]; }`;
  return kernelSource([
    ACCESS.q,
    ACCESS.k,
    ACCESS.v,
    ACCESS.bias,
    { name: "lse", type: "f32", access: "read" },
    { name: "gout", type: "f32", access: "read" },
    { name: "delta", type: "f32", access: "read" },
    { name: "dk", type: "f32", access: "read_write" },
    { name: "dv", type: "f32", access: "read_write" },
  ], MATH + prelude(D) + main1d(0, body));
}
