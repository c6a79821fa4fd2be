/**
 * Float64 references of the math ops, the float32 ulp distance and the
 * inputs the CPU's math is checked on (shared by the kernel and the
 * backend tests). The ulp distance is the distance between two results in
 * the ordered list of float32 values, so ±0 are one value and the largest
 * finite float is one ulp from infinity.
 *
 * @module
 */

const f = Math.fround;

/** Accurate float64 logistic (no overflow in either direction). */
export function sigmoid64(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** The float64 references, and the error each kernel is held to. */
export const MATH: Record<string, { ref: (x: number) => number; ulp: number }> = {
  exp: { ref: Math.exp, ulp: 2 },
  log: { ref: Math.log, ulp: 2 },
  tanh: { ref: Math.tanh, ulp: 3 },
  sigmoid: { ref: sigmoid64, ulp: 3 },
  sqrt: { ref: Math.sqrt, ulp: 0 },
};

const bits = new Int32Array(1), flt = new Float32Array(bits.buffer);

/** Position of float32 `v` in the ordered float32 values (±0 both 0). */
function ordinal(v: number): number {
  flt[0] = v;
  return bits[0] < 0 ? -(bits[0] & 0x7fffffff) : bits[0];
}

/** Float32 ulp between `got` and float64 `want` rounded (NaN only matches NaN). */
export function ulps(got: number, want: number): number {
  if (Number.isNaN(got) || Number.isNaN(want)) {
    return Number.isNaN(got) && Number.isNaN(want) ? 0 : Infinity;
  }
  return Math.abs(ordinal(got) - ordinal(f(want)));
}

/** Every 4099th float32 bit pattern (about a million values of every sign and exponent). */
export function sweepInputs(): Float32Array {
  const out = new Float32Array(Math.ceil(2 ** 32 / 4099));
  const b = new Int32Array(out.buffer);
  for (let i = 0; i < b.length; i++) b[i] = (i * 4099) | 0;
  return out;
}

/** `lo` to `hi` by `step`, as float32. */
export function grid(lo: number, hi: number, step: number): Float32Array {
  const n = Math.floor((hi - lo) / step) + 1;
  return Float32Array.from({ length: n }, (_, i) => lo + i * step);
}

/** Values at each op's edges: specials, overflow and underflow thresholds, subnormals. */
export const SPECIALS = [
  NaN,
  Infinity,
  -Infinity,
  0,
  -0,
  1,
  -1,
  2 ** -149,
  -(2 ** -149),
  2 ** -126,
  3.4028234663852886e38,
  -3.4028234663852886e38,
  88.7,
  88.72283,
  88.72284,
  88.8,
  89,
  100,
  -87.33,
  -88.8,
  -103.27,
  -103.97,
  -104,
  -120,
  1e-8,
  -1e-8,
  9,
  9.1,
  20,
  -20,
  0.5,
  Math.SQRT2,
  Math.SQRT1_2,
].map(f);

/** The largest ulp error of `got` against the reference on `xs`, and where. */
export function worst(
  xs: Float32Array,
  got: Float32Array,
  ref: (x: number) => number,
): { ulp: number; x: number } {
  let w = { ulp: 0, x: 0 };
  for (let i = 0; i < xs.length; i++) {
    const u = ulps(got[i], ref(xs[i]));
    if (u > w.ulp) w = { ulp: u, x: xs[i] };
  }
  return w;
}

/** Per op, the inputs its kernel is checked on. */
export function mathInputs(op: string): Float32Array[] {
  const common = [sweepInputs(), Float32Array.from(SPECIALS)];
  const extra: Record<string, Float32Array[]> = {
    exp: [grid(-105, 90, 2 ** -9), grid(-(2 ** -8), 2 ** -8, 2 ** -20)],
    log: [grid(0, 4, 2 ** -12), grid(1 - 2 ** -8, 1 + 2 ** -8, 2 ** -22)],
    tanh: [grid(-10, 10, 2 ** -11), grid(-(2 ** -6), 2 ** -6, 2 ** -18)],
    sigmoid: [grid(-110, 110, 2 ** -8), grid(-(2 ** -6), 2 ** -6, 2 ** -18)],
    sqrt: [grid(0, 16, 2 ** -10)],
  };
  return [...common, ...extra[op]];
}
