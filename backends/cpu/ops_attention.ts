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
 * Turns a block of raw scores (q·kᵀ) into `scale·s + bias`, hidden keys −∞,
 * for rows t0 … t0 + n − 1 of (b, h).
 */
function maskBlock(
  s: Float32Array,
  n: number,
  S: number,
  bias: View | null,
  b: number,
  h: number,
  t0: number,
  scale: number,
  causal: number | null,
): void {
  const bs = bias ? arr(bias.buffer) as Float32Array : null;
  const [bb, bh, bt, bsS] = bias?.strides ?? [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const row = i * S, t = t0 + i;
    const bo = bias ? bias.offset + b * bb + h * bh + t * bt : 0;
    for (let j = 0; j < S; j++) {
      let x = s[row + j] * scale;
      if (bs) x += bs[bo + j * bsS];
      if (causal !== null && j > t + causal) x = -Infinity;
      s[row + j] = x;
    }
  }
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
  const s = alloc(Math.max(1, ROWS * S));
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
          const sc = { data: s, offset: 0, ld: S };
          gemm(simd, {
            M: n,
            N: S,
            K: D,
            a: mat(q, b, h, t0),
            b: mat(k, b, kh, 0, true),
            c: sc,
            accumulate: false,
          });
          maskBlock(s, n, S, bias, b, h, t0, scale, causal);
          for (let i = 0; i < n; i++) {
            let m = -Infinity;
            for (let j = 0; j < S; j++) {
              if (s[i * S + j] > m || s[i * S + j] !== s[i * S + j]) m = s[i * S + j];
            }
            let z = 0;
            for (let j = 0; j < S; j++) z += s[i * S + j] = Math.exp(s[i * S + j] - m);
            for (let j = 0; j < S; j++) s[i * S + j] /= z;
            l[base + i] = m + Math.log(z);
          }
          gemm(simd, {
            M: n,
            N: Dv,
            K: S,
            a: { data: s, offset: 0, rowStride: S, colStride: 1 },
            b: mat(v, b, kh),
            c: { data: o, offset: base * Dv, ld: Dv },
            accumulate: false,
          });
        }
      }
    }
  } finally {
    free(s);
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
  const p = alloc(ROWS * S), dp = alloc(ROWS * S);
  try {
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const kh = Math.floor((h * Hkv) / H);
        const kvBase = (b * Hkv + kh) * S;
        for (let t0 = 0; t0 < T; t0 += ROWS) {
          const n = Math.min(ROWS, T - t0);
          const base = (b * H + h) * T + t0;
          const gO = { data: gs, offset: gOut.offset + base * Dv, rowStride: Dv, colStride: 1 };
          // P = exp(scale·q·kᵀ + bias − lse), recomputed for the block.
          gemm(simd, {
            M: n,
            N: S,
            K: D,
            a: mat(q, b, h, t0),
            b: mat(k, b, kh, 0, true),
            c: { data: p, offset: 0, ld: S },
            accumulate: false,
          });
          maskBlock(p, n, S, bias, b, h, t0, scale, causal);
          for (let i = 0; i < n; i++) {
            const li = ls[lse.offset + base + i];
            for (let j = 0; j < S; j++) p[i * S + j] = Math.exp(p[i * S + j] - li);
          }
          // dV += Pᵀ·dO; dP = dO·Vᵀ.
          gemm(simd, {
            M: S,
            N: Dv,
            K: n,
            a: { data: p, offset: 0, rowStride: 1, colStride: S },
            b: gO,
            c: { data: dV, offset: kvBase * Dv, ld: Dv },
            accumulate: true,
          });
          gemm(simd, {
            M: n,
            N: S,
            K: Dv,
            a: gO,
            b: mat(v, b, kh, 0, true),
            c: { data: dp, offset: 0, ld: S },
            accumulate: false,
          });
          // dS = P ⊙ (dP − rowsum(dO ⊙ O)), scaled (the product's scale).
          for (let i = 0; i < n; i++) {
            let delta = 0;
            for (let d = 0; d < Dv; d++) {
              delta += gs[gOut.offset + (base + i) * Dv + d] * os[out.offset + (base + i) * Dv + d];
            }
            for (let j = 0; j < S; j++) {
              const x = p[i * S + j];
              dp[i * S + j] = x === 0 ? 0 : x * (dp[i * S + j] - delta) * scale;
            }
          }
          // dQ = dS·K; dK += dSᵀ·Q.
          gemm(simd, {
            M: n,
            N: D,
            K: S,
            a: { data: dp, offset: 0, rowStride: S, colStride: 1 },
            b: mat(k, b, kh),
            c: { data: dQ, offset: base * D, ld: D },
            accumulate: false,
          });
          gemm(simd, {
            M: S,
            N: D,
            K: n,
            a: { data: dp, offset: 0, rowStride: 1, colStride: S },
            b: mat(q, b, h, t0),
            c: { data: dK, offset: kvBase * D, ld: D },
            accumulate: true,
          });
        }
      }
    }
  } finally {
    free(p);
    free(dp);
  }
}
