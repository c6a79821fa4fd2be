/**
 * The CPU backend's fused attention and its backward, flash-attention
 * style: per (batch, head) and block of query rows, the scores of the block
 * come from one GEMM into a [rows, S] scratch, are masked and turned into
 * probabilities in place, and one more GEMM applies them to v. Memory is
 * one block's scores, never [B, H, T, S]; backward recomputes each block's
 * probabilities from the saved log-sum-exp.
 *
 * @module
 */
import type { FusedArgs, View } from "../backend.ts";
import { arr } from "./_strided.ts";
import type { GemmOperand } from "./gemm_call.ts";
import { gemm } from "./ops_matmul.ts";
import { heapPtr, inHeap } from "./_simd.ts";
import * as K from "./wasm/mod.ts";

/** Query rows per block: scores scratch is ROWS × S floats. */
const ROWS = 64;

type Alloc = (n: number) => Float32Array;
type Free = (a: Float32Array) => void;

/** The [rows × cols] matrix of a 4-D view at (b, h), from row `r0`. */
function mat(v: View, b: number, h: number, r0 = 0, transpose = false): GemmOperand<Float32Array> {
  const [sb, sh, sr, sc] = v.strides;
  return {
    data: arr(v.buffer) as Float32Array,
    offset: v.offset + b * sb + h * sh + r0 * sr,
    rowStride: transpose ? sc : sr,
    colStride: transpose ? sr : sc,
  };
}

/**
 * Keys a block of query rows t0 … t0 + n − 1 can see: with a causal offset
 * every key past t0 + n − 1 + offset is hidden from all of them, so the
 * block's GEMMs and loops stop there.
 */
function visibleKeys(S: number, t0: number, n: number, causal: number | null): number {
  return causal === null ? S : Math.max(0, Math.min(S, t0 + n + causal));
}

/**
 * `s[row + j] = scale·s[row + j] (+ bias[bo + j·bsS])` for the `end` keys a
 * row sees; returns the row's maximum (NaN if any value is NaN).
 */
function scaleRow(
  s: Float32Array,
  row: number,
  end: number,
  scale: number,
  bs: Float32Array | null,
  bo: number,
  bsS: number,
): number {
  let m = -Infinity;
  if (bs) {
    for (let j = 0; j < end; j++) {
      const x = s[row + j] * scale + bs[bo + j * bsS];
      s[row + j] = x;
      if (x > m || x !== x) m = x;
    }
  } else {
    for (let j = 0; j < end; j++) {
      const x = s[row + j] * scale;
      s[row + j] = x;
      if (x > m || x !== x) m = x;
    }
  }
  return m;
}

/**
 * A block of n query rows (from t0, of batch b and head h) by w keys, at
 * row stride w, and how its scores are scaled, biased and hidden.
 */
interface ScoreBlock {
  n: number;
  w: number;
  bias: View | null;
  b: number;
  h: number;
  t0: number;
  scale: number;
  causal: number | null;
}

/**
 * Row i of a block: scaled and biased over the keys it sees ({@link
 * scaleRow}); returns how many keys that is and the row's maximum.
 */
function scoreRow(s: Float32Array, blk: ScoreBlock, i: number): { end: number; max: number } {
  const { w, bias, causal } = blk, t = blk.t0 + i;
  const end = causal === null ? w : Math.max(0, Math.min(w, t + causal + 1));
  let bs: Float32Array | null = null, bo = 0, bsS = 0;
  if (bias) {
    const [bb, bh, bt, bss] = bias.strides;
    bs = arr(bias.buffer) as Float32Array;
    bo = bias.offset + blk.b * bb + blk.h * bh + t * bt;
    bsS = bss;
  }
  return { end, max: scaleRow(s, i * w, end, blk.scale, bs, bo, bsS) };
}

/**
 * Turns a block of raw scores (q·kᵀ, n rows of w, row stride w) into
 * `scale·s + bias`, keys a row may not see −∞, and each row into the
 * exponentials `exp(x − c)`, where c is the row's max (forward, returning
 * the log-sum-exp into `lse`) or its saved log-sum-exp (backward, `saved`).
 * The forward normalises the row to probabilities.
 */
function softmaxBlock(
  s: Float32Array,
  blk: ScoreBlock,
  lse: Float32Array,
  lseAt: number,
  saved: boolean,
): void {
  const { n, w } = blk;
  for (let i = 0; i < n; i++) {
    const row = i * w;
    const { end, max: m } = scoreRow(s, blk, i);
    if (saved) {
      const c = lse[lseAt + i];
      for (let j = 0; j < end; j++) s[row + j] = Math.exp(s[row + j] - c);
    } else {
      let z = 0;
      for (let j = 0; j < end; j++) z += s[row + j] = Math.exp(s[row + j] - m);
      for (let j = 0; j < end; j++) s[row + j] /= z;
      lse[lseAt + i] = m + Math.log(z);
    }
    // A row that sees no key is −∞ everywhere: NaN, as the softmax gives.
    if (end === 0) {
      s.fill(NaN, row, row + w);
      if (!saved) lse[lseAt + i] = NaN;
    } else s.fill(0, row + end, row + w);
  }
}

/**
 * {@link softmaxBlock} on the Wasm kernels, for a block and row statistics
 * in the heap (`m` is n floats of heap scratch): the scale/bias/causal pass
 * and the row maxima stay here (hidden keys become −∞), then per block
 * `x − c` (c the row max, or the saved log-sum-exp), exp and — forward —
 * the row sums and the division are one kernel call each over all rows.
 */
function softmaxBlockSimd(
  s: Float32Array,
  blk: ScoreBlock,
  lse: Float32Array,
  lseAt: number,
  saved: boolean,
  m: Float32Array,
): void {
  const { n, w } = blk;
  for (let i = 0; i < n; i++) {
    const row = i * w;
    const { end, max: mx } = scoreRow(s, blk, i);
    s.fill(-Infinity, row + end, row + w);
    m[i] = mx;
  }
  const walk = { dims: [n], sx: [w], sy: [1], so: [w] };
  const sp = heapPtr(s, 0);
  const cp = saved ? heapPtr(lse, lseAt) : heapPtr(m, 0);
  K.rows("sub", "vp", sp, cp, sp, w, walk);
  K.rows("exp", "v", sp, 0, sp, w, walk);
  if (saved) return;
  // m now holds the row sums z: lse = max + log z, p = e / z.
  const maxes = Float64Array.from(m.subarray(0, n));
  K.rowSum(sp, n, w, heapPtr(m, 0));
  for (let i = 0; i < n; i++) lse[lseAt + i] = maxes[i] + Math.log(m[i]);
  K.rows("div", "vp", sp, heapPtr(m, 0), sp, w, walk);
}

/** The forward (see `FusedOps.attention`); `alloc`/`free` give heap scratch. */
export function attention(
  simd: boolean,
  alloc: Alloc,
  free: Free,
  ...[q, k, v, bias, scale, causal, out, lse]: FusedArgs<"attention">
): void {
  const [B, H, T, D] = q.shape, [, Hkv, S] = k.shape, Dv = v.shape[3];
  const o = arr(out) as Float32Array, l = arr(lse) as Float32Array;
  const s = alloc(Math.max(1, ROWS * S)), m = alloc(ROWS);
  const fast = simd && inHeap(s) && inHeap(m) && inHeap(l);
  try {
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const kh = Math.floor((h * Hkv) / H);
        for (let t0 = 0; t0 < T; t0 += ROWS) {
          const n = Math.min(ROWS, T - t0);
          const base = (b * H + h) * T + t0;
          if (S === 0) {
            o.fill(0, base * Dv, (base + n) * Dv);
            l.fill(-Infinity, base, base + n);
            continue;
          }
          // Keys past the block's causal limit are hidden from all its rows.
          const w = visibleKeys(S, t0, n, causal);
          if (w === 0) {
            o.fill(NaN, base * Dv, (base + n) * Dv);
            l.fill(NaN, base, base + n);
            continue;
          }
          gemm(simd, {
            M: n,
            N: w,
            K: D,
            a: mat(q, b, h, t0),
            b: mat(k, b, kh, 0, true),
            c: { data: s, offset: 0, ld: w },
            accumulate: false,
          });
          const blk = { n, w, bias, b, h, t0, scale, causal };
          if (fast) softmaxBlockSimd(s, blk, l, base, false, m);
          else softmaxBlock(s, blk, l, base, false);
          gemm(simd, {
            M: n,
            N: Dv,
            K: w,
            a: { data: s, offset: 0, rowStride: w, colStride: 1 },
            b: mat(v, b, kh),
            c: { data: o, offset: base * Dv, ld: Dv },
            accumulate: false,
          });
        }
      }
    }
  } finally {
    free(s);
    free(m);
  }
}

/** The backward (see `FusedOps.attentionBackward`). */
export function attentionBackward(
  simd: boolean,
  alloc: Alloc,
  free: Free,
  ...[q, k, v, bias, scale, causal, out, lse, gOut, dq, dk, dv]: FusedArgs<"attentionBackward">
): void {
  const [B, H, T, D] = q.shape, [, Hkv, S] = k.shape, Dv = v.shape[3];
  const dQ = arr(dq) as Float32Array, dK = arr(dk) as Float32Array, dV = arr(dv) as Float32Array;
  dK.fill(0, 0, B * Hkv * S * D);
  dV.fill(0, 0, B * Hkv * S * Dv);
  dQ.fill(0, 0, B * H * T * D);
  if (S === 0 || T === 0) return;
  const os = arr(out.buffer) as Float32Array, ls = arr(lse.buffer) as Float32Array;
  const gs = arr(gOut.buffer) as Float32Array;
  const p = alloc(ROWS * S), dp = alloc(ROWS * S), m = alloc(ROWS);
  const fast = simd && inHeap(p) && inHeap(m) && inHeap(ls);
  try {
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const kh = Math.floor((h * Hkv) / H);
        const kvBase = (b * Hkv + kh) * S;
        for (let t0 = 0; t0 < T; t0 += ROWS) {
          const n = Math.min(ROWS, T - t0);
          const base = (b * H + h) * T + t0;
          const gO = { data: gs, offset: gOut.offset + base * Dv, rowStride: Dv, colStride: 1 };
          const w = visibleKeys(S, t0, n, causal);
          if (w === 0) {
            // No row of the block sees a key: its output was NaN, and NaN
            // probabilities reach q, k and v as they would in the product.
            dQ.fill(NaN, base * D, (base + n) * D);
            dK.fill(NaN, kvBase * D, (kvBase + S) * D);
            dV.fill(NaN, kvBase * Dv, (kvBase + S) * Dv);
            continue;
          }
          // P = exp(scale·q·kᵀ + bias − lse), recomputed for the block.
          gemm(simd, {
            M: n,
            N: w,
            K: D,
            a: mat(q, b, h, t0),
            b: mat(k, b, kh, 0, true),
            c: { data: p, offset: 0, ld: w },
            accumulate: false,
          });
          const at = lse.offset + base;
          const blk = { n, w, bias, b, h, t0, scale, causal };
          if (fast) softmaxBlockSimd(p, blk, ls, at, true, m);
          else softmaxBlock(p, blk, ls, at, true);
          // dV += Pᵀ·dO; dP = dO·Vᵀ.
          gemm(simd, {
            M: w,
            N: Dv,
            K: n,
            a: { data: p, offset: 0, rowStride: 1, colStride: w },
            b: gO,
            c: { data: dV, offset: kvBase * Dv, ld: Dv },
            accumulate: true,
          });
          gemm(simd, {
            M: n,
            N: w,
            K: Dv,
            a: gO,
            b: mat(v, b, kh, 0, true),
            c: { data: dp, offset: 0, ld: w },
            accumulate: false,
          });
          // dS = P ⊙ (dP − rowsum(dO ⊙ O)), scaled (the product's scale).
          for (let i = 0; i < n; i++) {
            let delta = 0;
            const go = gOut.offset + (base + i) * Dv, oo = out.offset + (base + i) * Dv;
            for (let d = 0; d < Dv; d++) delta += gs[go + d] * os[oo + d];
            const row = i * w;
            for (let j = 0; j < w; j++) {
              const x = p[row + j];
              dp[row + j] = x === 0 ? 0 : x * (dp[row + j] - delta) * scale;
            }
          }
          // dQ = dS·K; dK += dSᵀ·Q.
          gemm(simd, {
            M: n,
            N: D,
            K: w,
            a: { data: dp, offset: 0, rowStride: w, colStride: 1 },
            b: mat(k, b, kh),
            c: { data: dQ, offset: base * D, ld: D },
            accumulate: false,
          });
          gemm(simd, {
            M: w,
            N: D,
            K: n,
            a: { data: dp, offset: 0, rowStride: 1, colStride: w },
            b: mat(q, b, h, t0),
            c: { data: dK, offset: kvBase * D, ld: D },
            accumulate: true,
          });
        }
      }
    }
    // A negative causal offset leaves the first query rows with no key at
    // all: their NaN probabilities reach every key, as in the product.
    if (causal !== null && causal < 0) {
      dK.fill(NaN, 0, B * Hkv * S * D);
      dV.fill(NaN, 0, B * Hkv * S * Dv);
    }
  } finally {
    free(p);
    free(dp);
    free(m);
  }
}
