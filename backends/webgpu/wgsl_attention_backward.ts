/**
 * WGSL templates of the fused attention's backward (see
 * `FusedOps.attentionBackward`), blocked as the forward in
 * `wgsl_attention.ts` is: \`delta\` (rowsum of dO ⊙ O), \`dq\` (blocks of query
 * rows, keys staged) and \`dkv\` (blocks of key rows, query rows staged,
 * over the query heads that share them). Each probability is recomputed
 * from the row's saved log-sum-exp.
 *
 * @module
 */
import { type KernelSource, kernelSource, main1d, MATH } from "./wgsl_common.ts";
import {
  ACCESS,
  block,
  entry,
  keyTiles,
  prelude,
  queryBlock,
  stage,
  tileRows,
  tiles,
  unrolled,
} from "./wgsl_attention.ts";

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

/** What dq and dk/dv read: q, k, v, the bias, lse, dO and delta. */
const INPUTS = [
  ACCESS.q,
  ACCESS.k,
  ACCESS.v,
  ACCESS.bias,
  { name: "lse", type: "f32", access: "read" },
  { name: "gout", type: "f32", access: "read" },
  { name: "delta", type: "f32", access: "read" },
] as const;

/** dq: a workgroup per block of query rows, keys staged as in the forward. */
export function attentionDqSource(D: number, Dv: number): KernelSource {
  const KT = tileRows(D + Dv);
  const body = queryBlock(D) + `
  let idx = bh * T + t;
  var lr = 0.0;
  var dl = 0.0;
  var go: array<f32, ${Dv}>;
  if (live) {
    lr = lse[w(31u) + idx];
    dl = delta[idx];
    let g = w(32u) + idx * ${Dv}u;
    for (var e = 0u; e < ${Dv}u; e++) { go[e] = gout[g + e]; }
  }
  let scale = bitcast<f32>(prm[8]);
  var dqv: array<f32, ${D}>;
${
    keyTiles(
      KT,
      D,
      Dv,
      `
        let p = exp_acc(x - lr);
        if (p == 0.0) { continue; }
        var dp = 0.0;
        ${unrolled(Dv, (e) => `dp += go[${e}] * vt[j * ${Dv}u + ${e}];`)}
        let ds = p * (dp - dl) * scale;
        ${unrolled(D, (d) => `dqv[${d}] += ds * kt[j * ${D}u + ${d}];`)}`,
    )
  }
  if (!live) { return; }
  // A row that saw no key (log-sum-exp NaN) has NaN probabilities for
  // every key, as the softmax of a row of −∞ gives them.
  let none = is_nan(lr);
  for (var d = 0u; d < ${D}u; d++) { dq[idx * ${D}u + d] = select(dqv[d], nan_(), none); }`;
  return kernelSource([
    ...INPUTS,
    { name: "dq", type: "f32", access: "read_write" },
  ], MATH + prelude() + tiles({ kt: KT * D, vt: KT * Dv }) + entry(body));
}

/**
 * dk and dv: a workgroup per block of key rows of one (b, kh); for each
 * query head sharing it, the query rows (q, dO, lse, delta) are staged in
 * tiles, from the first row a causal block's keys are visible to.
 */
export function attentionDkvSource(D: number, Dv: number): KernelSource {
  const QT = tileRows(D + Dv + 2);
  const body = block("w(4u)", "w(5u)") + `
  let S = w(4u); let Hkv = w(5u); let H = w(2u); let T = w(3u);
  let s = r; let kh = bh % Hkv; let b = bh / Hkv;
  let group = H / Hkv;
  let scale = bitcast<f32>(prm[8]);
  // A causal key s is hidden from rows t < s − offset: no row before the
  // block's first key's limit sees any key of the block.
  var tStart = 0u;
  if (w(6u) == 1u) { tStart = u32(clamp(i32(r0) - iw(7u), 0, i32(T))); }
  var kv: array<f32, ${D}>;
  var vv: array<f32, ${Dv}>;
  if (live) {
    for (var d = 0u; d < ${D}u; d++) { kv[d] = ks[at(15u, b, kh, s, d)]; }
    for (var e = 0u; e < ${Dv}u; e++) { vv[e] = vs[at(20u, b, kh, s, e)]; }
  }
  var dkv: array<f32, ${D}>;
  var dvv: array<f32, ${Dv}>;
  for (var h = kh * group; h < (kh + 1u) * group; h++) {
    for (var t0 = tStart; t0 < T; t0 += ${QT}u) {
${
    stage(QT * D, (i) => `
        let t = t0 + ${i} / ${D}u;
        var x = 0.0;
        if (t < T) { x = qs[at(10u, b, h, t, ${i} % ${D}u)]; }
        qt[${i}] = x;`)
  }${
    stage(QT * Dv, (i) => `
        let t = t0 + ${i} / ${Dv}u;
        var x = 0.0;
        if (t < T) { x = gout[w(32u) + ((b * H + h) * T + t) * ${Dv}u + ${i} % ${Dv}u]; }
        gt[${i}] = x;`)
  }${
    stage(QT, (i) => `
        let t = t0 + ${i};
        var x = 0.0;
        var y = 0.0;
        if (t < T) {
          let row = (b * H + h) * T + t;
          x = lse[w(31u) + row];
          y = delta[row];
        }
        lt[${i}] = x;
        dt[${i}] = y;`)
  }
      workgroupBarrier();
      if (live) {
        let jEnd = min(${QT}u, T - t0);
        for (var j = 0u; j < jEnd; j++) {
          let t = t0 + j;
          if (hidden(t, s)) { continue; }
          var dot = 0.0;
          ${unrolled(D, (d) => `dot += qt[j * ${D}u + ${d}] * kv[${d}];`)}
          var x = dot * scale;
          if (w(9u) == 1u) { x += bs[at(25u, b, h, t, s)]; }
          let p = exp_acc(x - lt[j]);
          if (p == 0.0) { continue; }
          var dp = 0.0;
          ${
    unrolled(Dv, (e) =>
      `dvv[${e}] += p * gt[j * ${Dv}u + ${e}]; dp += gt[j * ${Dv}u + ${e}] * vv[${e}];`)
  }
          let ds = p * (dp - dt[j]) * scale;
          ${unrolled(D, (d) => `dkv[${d}] += ds * qt[j * ${D}u + ${d}];`)}
        }
      }
      workgroupBarrier();
    }
  }
  if (!live) { return; }
  let idx = bh * S + s;
  // A negative causal offset leaves the first query rows with no key at
  // all: their NaN probabilities reach every key, as in the product.
  let poisoned = w(6u) == 1u && iw(7u) < 0 && T > 0u;
  for (var d = 0u; d < ${D}u; d++) { dk[idx * ${D}u + d] = select(dkv[d], nan_(), poisoned); }
  for (var e = 0u; e < ${Dv}u; e++) { dv[idx * ${Dv}u + e] = select(dvv[e], nan_(), poisoned); }`;
  return kernelSource([
    ...INPUTS,
    { name: "dk", type: "f32", access: "read_write" },
    { name: "dv", type: "f32", access: "read_write" },
  ], MATH + prelude() + tiles({ qt: QT * D, gt: QT * Dv, lt: QT, dt: QT }) + entry(body));
}
