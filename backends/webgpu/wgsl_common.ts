/**
 * Shared pieces of the WGSL templates: binding headers, the 1-D entry
 * point, strided index math matching `Meta.strided`, and a small math
 * library with explicit handling of inf/NaN (WGSL builtins may return
 * unspecified values on overflow and may assume no NaNs).
 *
 * @module
 */

import type { DType } from "../backend.ts";
import type { Access } from "./kernel.ts";
import { WGSL_INF, WGSL_NAN, WGSL_NEG_INF, WORKGROUP_SIZE } from "./limits.ts";

/** WGSL scalar type of a dtype. */
export function wgslType(dtype: DType): "f32" | "i32" {
  return dtype === "float32" ? "f32" : "i32";
}

/** One storage binding of a kernel (binding numbers start at 1). */
export interface BufferDecl {
  /** Variable name in WGSL. */
  readonly name: string;
  /** Element type (`atomic<u32>` for the device-error flags, vec4 for matmul operands). */
  readonly type: "f32" | "i32" | "u32" | "atomic<u32>" | "vec4<f32>" | "vec4<i32>";
  /** `read` or `read_write`. */
  readonly access: "read" | "read_write";
}

/** Generated kernel source and the access of its buffers. */
export interface KernelSource {
  /** WGSL code. */
  code: string;
  /** Access of bindings 1… */
  access: Access[];
}

/**
 * A kernel from its buffers (bindings 1…) and the WGSL that follows their
 * declarations; the access list is read off the declarations, so the two
 * cannot disagree.
 */
export function kernelSource(buffers: readonly BufferDecl[], code: string): KernelSource {
  return { code: header(buffers) + code, access: buffers.map((b) => b.access) };
}

/** Declarations of `prm` (binding 0) and of `buffers` (bindings 1…). */
export function header(buffers: readonly BufferDecl[]): string {
  const lines = ["@group(0) @binding(0) var<storage, read> prm: array<u32>;"];
  buffers.forEach((b, i) => {
    lines.push(
      `@group(0) @binding(${i + 1}) var<storage, ${b.access}> ${b.name}: array<${b.type}>;`,
    );
  });
  return lines.join("\n") + "\n";
}

/**
 * Entry point of a 1-D kernel over a grid split by `grid2d`; the body sees
 * the linear invocation id as `idx` and runs only for `idx < prm[count]`.
 */
export function main1d(countWord: number, body: string): string {
  return `
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.y * nwg.x + wid.x) * ${WORKGROUP_SIZE}u + lid;
  if (idx >= prm[${countWord}u]) { return; }
${body}
}
`;
}

/**
 * Statements declaring `var o_<name>: i32` for each operand: the element
 * offset of linear index `index` in the strided layout that starts at word
 * `base` (`shape[rank]`, then per operand `offset, strides[rank]`).
 */
export function stridedOffsets(
  rank: number,
  base: number,
  names: readonly string[],
  index = "idx",
): string {
  const view = (k: number) => base + rank + k * (rank + 1);
  const lines = names.map((n, k) => `  var o_${n} = bitcast<i32>(prm[${view(k)}u]);`);
  if (rank > 0) {
    lines.push(`  var rem_ = ${index};`);
    lines.push(`  for (var d = ${rank - 1}; d >= 0; d--) {`);
    lines.push(`    let sz = prm[${base}u + u32(d)];`);
    lines.push(`    let c = i32(rem_ % sz);`);
    lines.push(`    rem_ = rem_ / sz;`);
    names.forEach((n, k) => {
      lines.push(`    o_${n} += c * bitcast<i32>(prm[${view(k) + 1}u + u32(d)]);`);
    });
    lines.push(`  }`);
  }
  return lines.join("\n") + "\n";
}

/** Words used by `stridedOffsets` for `rank` dims and `views` operands. */
export function stridedWords(rank: number, views: number): number {
  return rank + views * (rank + 1);
}

/** WGSL `pow_u_<t>(a, n)`: a^n for a u32 n by square-and-multiply. */
function powBySquaring(t: "f32" | "i32"): string {
  return `fn pow_u_${t}(a: ${t}, n: u32) -> ${t} {
  var e = n;
  var base = a;
  var r = ${t}(1);
  loop {
    if ((e & 1u) != 0u) { r = r * base; }
    e = e >> 1u;
    if (e == 0u) { break; }
    base = base * base;
  }
  return r;
}`;
}

/**
 * Math helpers. Polynomial coefficients were fitted for this file by
 * Chebyshev interpolation against 40-digit references (mpmath):
 * - `erf(x) = x + x·A(x²)` on |x| < 1, A of degree 6;
 * - `erfc(x) = exp(-x²)/x · B(w)` on 1 ≤ x ≤ 9.2 with `w = (1/x − 0.5543…)
 *   · 2.2439…` mapping 1/x onto [−1, 1], B of degree 10;
 * and `exp(-x²)` splits x² exactly (12-bit high part) before an exp with
 * Cody–Waite reduction, keeping erf/erfc within a few f32 ulps (≈1e-7).
 */
export const MATH = `
fn bits_f32(b: u32) -> f32 { var u = b; return bitcast<f32>(u); }
fn inf_() -> f32 { return ${WGSL_INF}; }
fn neg_inf() -> f32 { return ${WGSL_NEG_INF}; }
fn nan_() -> f32 { return ${WGSL_NAN}; }

fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }

// exp with explicit overflow/underflow; Cody-Waite reduction, degree-7 Taylor.
fn exp_acc(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (x > 88.72283) { return inf_(); }
  if (x < -103.97208) { return 0.0; }
  let k = round(x * 1.4426950409);
  let r = (x - k * 0.693145751953125) - k * 1.4286068203e-06;
  var p = 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  return ldexp(p, i32(k));
}

// log with explicit special cases: x = m·2^e, m in [sqrt(1/2), sqrt(2)),
// log m = 2 atanh(s), s = (m-1)/(m+1), odd series to s^15.
fn log_acc(x: f32) -> f32 {
  if (is_nan(x) || x < 0.0) { return nan_(); }
  if (x == 0.0) { return neg_inf(); }
  if (x == inf_()) { return inf_(); }
  let fr = frexp(x);
  var m = fr.fract;
  var e = f32(fr.exp);
  if (m < 0.70710678) { m = m * 2.0; e = e - 1.0; }
  let s = (m - 1.0) / (m + 1.0);
  let t = s * s;
  var p = 2.0 / 15.0;
  p = p * t + 2.0 / 13.0;
  p = p * t + 2.0 / 11.0;
  p = p * t + 2.0 / 9.0;
  p = p * t + 2.0 / 7.0;
  p = p * t + 2.0 / 5.0;
  p = p * t + 2.0 / 3.0;
  let lm = 2.0 * s + s * t * p;
  return e * 0.693145751953125 + (lm + e * 1.4286068203e-06);
}

fn sqrt_(x: f32) -> f32 {
  if (x < 0.0) { return nan_(); }
  return sqrt(x);
}

// exp(-x*x) without the rounding error of x*x.
fn exp_neg_sq(x: f32) -> f32 {
  let h = bitcast<f32>(bitcast<u32>(x) & 0xfffff000u);
  let l = x - h;
  return exp_acc(-h * h) * exp_acc(-l * (x + h));
}

fn erf_small(x: f32) -> f32 {
  let t = x * x;
  var p = 7.8824971077e-05;
  p = p * t - 8.0188549918e-04;
  p = p * t + 5.1893119425e-03;
  p = p * t - 2.6854328796e-02;
  p = p * t + 1.1283597463e-01;
  p = p * t - 3.7612626904e-01;
  p = p * t + 1.2837916588e-01;
  return x + x * p;
}

// erfc for x >= 1.
fn erfc_large(x: f32) -> f32 {
  if (x > 10.0) { return 0.0; }
  let u = 1.0 / x;
  let w = (u - 5.5434782609e-01) * 2.2439024390;
  var p = -1.2650176094e-05;
  p = p * w - 2.3057511674e-05;
  p = p * w + 1.5749798334e-04;
  p = p * w - 2.4284726604e-04;
  p = p * w + 6.2433244394e-05;
  p = p * w + 8.9960791280e-04;
  p = p * w - 3.7801270165e-03;
  p = p * w + 8.5538237629e-03;
  p = p * w - 3.7920817651e-03;
  p = p * w - 7.5852802016e-02;
  p = p * w + 5.0161376764e-01;
  return exp_neg_sq(x) * p * u;
}

fn erfc_(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  let a = abs(x);
  if (a < 1.0) { return 1.0 - erf_small(x); }
  let c = erfc_large(a);
  return select(c, 2.0 - c, x < 0.0);
}

// Standard normal CDF, accurate in the lower tail.
fn phi_cdf(x: f32) -> f32 { return 0.5 * erfc_(-x * 0.70710678119); }

fn gelu_(x: f32) -> f32 { return x * phi_cdf(x); }

fn gelu_grad(x: f32) -> f32 {
  return phi_cdf(x) + x * 0.3989422804 * exp_neg_sq(x * 0.70710678119);
}

fn tanh_(x: f32) -> f32 {
  let a = abs(x);
  var r: f32;
  if (a < 0.5) {
    let t = a * a;
    var p = -929569.0 / 638512875.0;
    p = p * t + 21844.0 / 6081075.0;
    p = p * t - 1382.0 / 155925.0;
    p = p * t + 62.0 / 2835.0;
    p = p * t - 17.0 / 315.0;
    p = p * t + 2.0 / 15.0;
    p = p * t - 1.0 / 3.0;
    r = a + a * t * p;
  } else if (a > 9.5) {
    r = 1.0;
  } else {
    let e = exp_acc(-2.0 * a);
    r = (1.0 - e) / (1.0 + e);
  }
  return select(r, -r, x < 0.0);
}

fn sigmoid_(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp_acc(-x)); }
  let e = exp_acc(x);
  return e / (1.0 + e);
}

// Math.sign: ±1, and x itself for ±0 and NaN.
fn sign_f(x: f32) -> f32 { return select(select(x, -1.0, x < 0.0), 1.0, x > 0.0); }

${powBySquaring("f32")}
${powBySquaring("i32")}

// JS Math.pow semantics on f32.
fn pow_f(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (is_nan(a) || is_nan(b)) { return nan_(); }
  let integral = trunc(b) == b;
  if (integral && abs(b) <= 64.0) {
    let r = pow_u_f32(a, u32(abs(b)));
    return select(r, 1.0 / r, b < 0.0);
  }
  if (a == 0.0) { return select(0.0, inf_(), b < 0.0); }
  // (−∞)^b for a non-integral b: +∞ when b > 0, +0 when b < 0.
  if (a == -inf_() && !integral) { return select(0.0, inf_(), b > 0.0); }
  if (a < 0.0) {
    if (!integral) { return nan_(); }
    let odd = abs(b) < 16777216.0 && (i32(abs(b)) & 1) == 1;
    let m = exp_acc(b * log_acc(-a));
    return select(m, -m, odd);
  }
  if (a == 1.0 && abs(b) == inf_()) { return nan_(); }
  return exp_acc(b * log_acc(a));
}

// Integer power with JS truncation semantics (0 for |a| > 1 and b < 0).
fn pow_i(a: i32, b: i32) -> i32 {
  if (b < 0) {
    if (a == 1) { return 1; }
    if (a == -1) { return select(1, -1, (b & 1) != 0); }
    return 0;
  }
  return pow_u_i32(a, u32(b));
}

// f32 -> i32 as an Int32Array stores a number (ToInt32): truncate toward
// zero, NaN and ±inf give 0, out-of-range values wrap modulo 2^32.
fn f2i(x: f32) -> i32 {
  if (is_nan(x) || abs(x) == inf_()) { return 0; }
  let t = trunc(x);
  if (abs(t) < 2147483648.0) { return i32(t); }
  let r = t - floor(t / 4294967296.0) * 4294967296.0;
  return bitcast<i32>(u32(r));
}
`;
