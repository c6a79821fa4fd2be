/**
 * f32x4 code for the transcendental map kernels (exp, sigmoid, tanh, log):
 * each generator pops one f32x4 operand and pushes the result, so the map
 * emitter wraps it in its loops like any other op.
 *
 * Method: exp reduces x = k·ln2 + r with |r| ≤ ln2/2 (ln2 split in two so
 * k·ln2 loses nothing), evaluates e^r − 1 = r + r²·P(r) with P the Taylor
 * series through r⁵/7! (truncation below 6e-9, a twentieth of an ulp), and
 * scales by 2^k as two exact powers of two so results in the subnormal
 * range are rounded once. log splits x = 2^e·m with m in [√½, √2) and sums
 * e·ln2 and log m = 2·atanh((m−1)/(m+1)) through s⁹. tanh uses expm1 of
 * 2|x| (no cancellation near 0), sigmoid e^−|x| (no overflow either way).
 * All arithmetic is f32; tests/backends/cpu/wasm/math_test.ts holds the
 * error to a few ulp of float64 Math on a sweep of the whole float range.
 *
 * Special values follow Math: NaN in, NaN out (the clamps return a NaN
 * operand unchanged, and the integer lanes made from it only ever scale
 * it); exp(−∞) = 0, exp(+∞) = exp(89) = +∞; log(0) = −∞, log(x < 0) = NaN,
 * log(+∞) = +∞; tanh(±∞) = ±1, tanh(−0) = −0; sigmoid(+∞) = 1,
 * sigmoid(−∞) = 0.
 *
 * @module
 */

import { type FuncBuilder, V128 } from "./assembler.ts";

/**
 * Pushes f32x4 / i32x4 constants. The map emitter hoists every constant a
 * kernel uses into a local set once before its loops (V8 would otherwise
 * build each v128 constant anew on every pass).
 */
export interface Consts {
  /** Pushes four lanes of float `x`. */
  f32(x: number): void;
  /** Pushes four lanes of int `n`. */
  i32(n: number): void;
}

/** ln2 = LN2_HI + LN2_LO; LN2_HI = 355/512 has 9 bits, so k·LN2_HI is exact for |k| < 2^15. */
const LN2_HI = 0.693359375;
const LN2_LO = Math.LN2 - LN2_HI;
/** 1/n! for n = 7 down to 2: e^r − 1 = r + r²·(1/2! + r/3! + … + r⁵/7!). */
const INV_FACT = [1 / 5040, 1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2];
/** Below e^−104 every float32 rounds to 0; above e^89 to +∞. */
const EXP_LO = -104, EXP_HI = 89;
/** The smallest normal float32, 2^−126. */
const MIN_NORMAL = 2 ** -126;
/**
 * 1.5·2^23: adding it to a float of magnitude below 2^22 rounds that float
 * to an integer k (to nearest, ties to even) and leaves k in the low bits,
 * so the sum's bits minus this constant's bits are k as an int32.
 */
const ROUND = 12582912, ROUND_BITS = 0x4b400000;

/**
 * Sets `k` (i32x4) and `q` = e^r − 1 (f32x4) with x = k·ln2 + r for the
 * f32x4 in local `x` (|x| ≤ 104, or NaN: then q is NaN and k arbitrary).
 */
function reduce(f: FuncBuilder, c: Consts, x: number, k: number, q: number): void {
  const kf = f.local(V128), r = f.local(V128);
  f.localGet(x);
  c.f32(Math.LOG2E);
  f.f32x4Mul();
  c.f32(ROUND);
  f.f32x4Add().localTee(k);
  c.f32(ROUND);
  f.f32x4Sub().localSet(kf);
  f.localGet(k);
  c.i32(ROUND_BITS);
  f.i32x4Sub().localSet(k);
  // x − k·LN2_HI is exact (both are multiples of x's ulp and the difference
  // is small); the LN2_LO term then adds a rounding far below r's ulp.
  f.localGet(x).localGet(kf);
  c.f32(LN2_HI);
  f.f32x4Mul().f32x4Sub().localGet(kf);
  c.f32(LN2_LO);
  f.f32x4Mul().f32x4Sub().localSet(r);
  c.f32(INV_FACT[0]);
  for (const v of INV_FACT.slice(1)) {
    f.localGet(r).f32x4Mul();
    c.f32(v);
    f.f32x4Add();
  }
  f.localGet(r).localGet(r).f32x4Mul().f32x4Mul().localGet(r).f32x4Add().localSet(q);
}

/** Pops i32x4 lanes k (−126 ≤ k ≤ 127), pushes the f32x4 lanes 2^k. */
function pow2(f: FuncBuilder, c: Consts): void {
  c.i32(127);
  f.i32x4Add().i32Const(23).i32x4Shl();
}

/** Pops x, pushes e^x. */
export function expVec(f: FuncBuilder, c: Consts): void {
  const x = f.local(V128), k = f.local(V128), q = f.local(V128), k1 = f.local(V128);
  // pmax/pmin compare once (plain max/min take several x86 instructions
  // to order NaN); with x first they return a NaN x unchanged.
  c.f32(EXP_LO);
  f.f32x4Pmax();
  c.f32(EXP_HI);
  f.f32x4Pmin().localSet(x);
  reduce(f, c, x, k, q);
  // k ∈ [−150, 128]: 2^k as 2^k1 · 2^k2 with both halves normal, applied in
  // turn, so an overflow or a subnormal result is rounded once, at the end.
  f.localGet(k).i32Const(1).i32x4ShrS().localSet(k1);
  f.localGet(q);
  c.f32(1);
  f.f32x4Add().localGet(k1);
  pow2(f, c);
  f.f32x4Mul().localGet(k).localGet(k1).i32x4Sub();
  pow2(f, c);
  f.f32x4Mul();
}

/** Pops x, pushes 1 / (1 + e^−x), as t / (1 + t) with t = e^−|x| for x < 0. */
export function sigmoidVec(f: FuncBuilder, c: Consts): void {
  const x = f.local(V128), t = f.local(V128);
  f.localTee(x).f32x4Abs().f32x4Neg();
  expVec(f, c);
  f.localSet(t);
  c.f32(1);
  f.localGet(t).localGet(x);
  c.f32(0);
  f.f32x4Ge().v128Bitselect();
  c.f32(1);
  f.localGet(t).f32x4Add().f32x4Div();
}

/** Pops x, pushes tanh x = sign(x)·m/(m + 2) with m = expm1(2|x|). */
export function tanhVec(f: FuncBuilder, c: Consts): void {
  const x = f.local(V128), y = f.local(V128), k = f.local(V128), q = f.local(V128);
  const s = f.local(V128);
  // Past 2|x| = 40 the quotient is 1 in float32; the clamp keeps m finite.
  f.localTee(x).f32x4Abs();
  c.f32(2);
  f.f32x4Mul();
  c.f32(40);
  f.f32x4Pmin().localSet(y);
  reduce(f, c, y, k, q);
  f.localGet(k);
  pow2(f, c);
  f.localSet(s);
  // expm1(y) = 2^k·(e^r − 1) + (2^k − 1), k ∈ [0, 58].
  f.localGet(q).localGet(s).f32x4Mul().localGet(s);
  c.f32(1);
  f.f32x4Sub().f32x4Add();
  f.localTee(q).localGet(q);
  c.f32(2);
  f.f32x4Add().f32x4Div().localGet(x);
  c.i32(-0x80000000);
  f.v128And().v128Or();
}

/** Pops x, pushes ln x. */
export function logVec(f: FuncBuilder, c: Consts): void {
  const x = f.local(V128), sub = f.local(V128), bits = f.local(V128), e = f.local(V128);
  const m = f.local(V128), big = f.local(V128), s = f.local(V128), z = f.local(V128);
  // Subnormals are scaled by 2^23 first (and 23 taken off the exponent).
  f.localTee(x);
  c.f32(MIN_NORMAL);
  f.f32x4Lt().localSet(sub);
  f.localGet(x);
  c.f32(2 ** 23);
  f.f32x4Mul().localGet(x).localGet(sub).v128Bitselect();
  f.localTee(bits).i32Const(23).i32x4ShrU();
  c.i32(127);
  f.i32x4Sub().localGet(sub);
  c.i32(23);
  f.v128And().i32x4Sub().localSet(e);
  f.localGet(bits);
  c.i32(0x007fffff);
  f.v128And();
  c.i32(0x3f800000);
  f.v128Or().localSet(m);
  // m ∈ [1, 2) → [√½, √2): halve the large ones and count them in e.
  f.localGet(m);
  c.f32(Math.SQRT2);
  f.f32x4Gt().localSet(big);
  f.localGet(m);
  c.f32(0.5);
  f.f32x4Mul().localGet(m).localGet(big).v128Bitselect().localSet(m);
  f.localGet(e).localGet(big).i32x4Sub().f32x4ConvertI32x4S().localSet(e);
  // s = (m − 1)/(m + 1) (m − 1 is exact); ln m = 2s + 2s·z·(1/3 + z/5 + z²/7 + z³/9), z = s².
  f.localGet(m);
  c.f32(1);
  f.f32x4Sub().localGet(m);
  c.f32(1);
  f.f32x4Add().f32x4Div();
  f.localTee(s).localGet(s).f32x4Mul().localSet(z);
  c.f32(1 / 9);
  for (const v of [1 / 7, 1 / 5, 1 / 3]) {
    f.localGet(z).f32x4Mul();
    c.f32(v);
    f.f32x4Add();
  }
  f.localGet(z).f32x4Mul().localGet(s).localGet(s).f32x4Add().localTee(s).f32x4Mul();
  f.localGet(s).f32x4Add();
  // e·ln2 + ln m with e·LN2_HI exact and added last.
  f.localGet(e);
  c.f32(LN2_LO);
  f.f32x4Mul().f32x4Add().localGet(e);
  c.f32(LN2_HI);
  f.f32x4Mul().f32x4Add();
  // Fix-ups: +∞ → +∞, ±0 → −∞, then NaN wherever x is not >= 0 (x < 0, NaN).
  select(f, c, x, Infinity, Infinity);
  select(f, c, x, 0, -Infinity);
  c.f32(NaN);
  f.localGet(x);
  c.f32(0);
  f.f32x4Ge().v128Bitselect();
}

/**
 * Stack: value → `to` in the lanes where `x` equals `at`, else value.
 */
function select(
  f: FuncBuilder,
  c: Consts,
  x: number,
  at: number,
  to: number,
): void {
  const v = f.local(V128);
  f.localSet(v);
  c.f32(to);
  f.localGet(v).localGet(x);
  c.f32(at);
  f.f32x4Eq().v128Bitselect();
}
