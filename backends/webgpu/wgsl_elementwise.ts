/**
 * WGSL templates of the elementwise kernels: unary, binary, where, cast,
 * strided copy and the fused Adam update. All loop over a contiguous output
 * index and read strided operands through `stridedOffsets`, so one kernel
 * per (op, dtype, rank) serves every shape.
 *
 * Parameter layout (words): `[0] n`, then the strided layout from word 1.
 *
 * @module
 */

import type { BinaryOp, DType, UnaryOp } from "../backend.ts";
import {
  type BufferDecl,
  type KernelSource,
  kernelSource,
  main1d,
  MATH,
  stridedOffsets,
  wgslType,
} from "./wgsl_common.ts";
import { ABORT, FIRST, FIRST_TXN } from "./device_errors.ts";

const FLOAT_UNARY: Record<UnaryOp, string> = {
  neg: "-x",
  exp: "exp_acc(x)",
  log: "log_acc(x)",
  sqrt: "sqrt_(x)",
  abs: "abs(x)",
  relu: "select(0.0, x, x > 0.0 || is_nan(x))",
  tanh: "tanh_(x)",
  sigmoid: "sigmoid_(x)",
  gelu: "gelu_(x)",
  geluGrad: "gelu_grad(x)",
  sign: "sign_f(x)",
};

const INT_UNARY: Partial<Record<UnaryOp, string>> = {
  neg: "-x",
  abs: "abs(x)",
  relu: "max(x, 0)",
  sign: "sign(x)",
};

/** `out[i] = op(x[i])`; int32 ops without an integer form go through f32. */
export function unarySource(op: UnaryOp, dtype: DType, rank: number): KernelSource {
  if (!(op in FLOAT_UNARY)) throw new Error(`webgpu: unknown unary op ${op}`);
  const t = wgslType(dtype);
  let expr: string;
  if (dtype === "float32") expr = FLOAT_UNARY[op];
  else {
    expr = INT_UNARY[op] ??
      `f2i(${FLOAT_UNARY[op].replaceAll("(x)", "(xf)").replace(/^-x$/, "-xf")})`;
  }
  const body = stridedOffsets(rank, 1, ["x"]) +
    `  let x = xs[o_x];\n  let xf = f32(x);\n  out[idx] = ${expr};`;
  return kernelSource([
    { name: "xs", type: t, access: "read" },
    { name: "out", type: t, access: "read_write" },
  ], MATH + main1d(0, body));
}

/** WGSL of each binary op on f32 and on i32 operands `a`, `b`. */
const BINARY: Record<BinaryOp, [f32: string, i32: string]> = {
  add: ["a + b", "a + b"],
  sub: ["a - b", "a - b"],
  mul: ["a * b", "a * b"],
  // JS: x/0 is ±Inf or NaN, stored as 0 in an Int32Array.
  div: ["a / b", "select(a / select(b, 1, b == 0), 0, b == 0)"],
  pow: ["pow_f(a, b)", "pow_i(a, b)"],
  eq: ["select(0.0, 1.0, a == b)", "select(0, 1, a == b)"],
  lt: ["select(0.0, 1.0, a < b)", "select(0, 1, a < b)"],
  gt: ["select(0.0, 1.0, a > b)", "select(0, 1, a > b)"],
};

/** `out[i] = op(a[i], b[i])` over strided, pre-broadcast operands. */
export function binarySource(op: BinaryOp, dtype: DType, rank: number): KernelSource {
  if (!(op in BINARY)) throw new Error(`webgpu: unknown binary op ${op}`);
  const t = wgslType(dtype);
  const expr = BINARY[op][dtype === "float32" ? 0 : 1];
  const body = stridedOffsets(rank, 1, ["a", "b"]) +
    `  let a = as_[o_a];\n  let b = bs[o_b];\n  out[idx] = ${expr};`;
  return kernelSource([
    { name: "as_", type: t, access: "read" },
    { name: "bs", type: t, access: "read" },
    { name: "out", type: t, access: "read_write" },
  ], MATH + main1d(0, body));
}

/** `out[i] = cond[i] != 0 ? a[i] : b[i]`. */
export function whereSource(condType: DType, dtype: DType, rank: number): KernelSource {
  const t = wgslType(dtype);
  const ct = wgslType(condType);
  // "Non-zero" on the bits: a NaN condition is true (as on the CPU), and
  // -0 is false, whatever a compiler assumes about float compares.
  const test = ct === "f32" ? "(bitcast<u32>(cs[o_c]) & 0x7fffffffu) != 0u" : "cs[o_c] != 0";
  const body = stridedOffsets(rank, 1, ["c", "a", "b"]) +
    `  out[idx] = select(bs[o_b], as_[o_a], ${test});`;
  return kernelSource([
    { name: "cs", type: ct, access: "read" },
    { name: "as_", type: t, access: "read" },
    { name: "bs", type: t, access: "read" },
    { name: "out", type: t, access: "read_write" },
  ], main1d(0, body));
}

function convert(from: DType, to: DType, expr: string): string {
  if (from === to) return expr;
  return to === "int32" ? `f2i(${expr})` : `f32(${expr})`;
}

/** `out[i] = dtype(x[i])`, float → int truncating toward zero. */
export function castSource(from: DType, to: DType, rank: number): KernelSource {
  const body = stridedOffsets(rank, 1, ["x"]) +
    `  out[idx] = ${convert(from, to, "xs[o_x]")};`;
  return kernelSource([
    { name: "xs", type: wgslType(from), access: "read" },
    { name: "out", type: wgslType(to), access: "read_write" },
  ], MATH + main1d(0, body));
}

/**
 * Strided → strided copy (operands `x`, `y`; y is written). A `guarded`
 * copy also binds the device-error flags and writes nothing once a
 * transaction's check has failed (see `device_errors.ts`).
 */
export function copySource(from: DType, to: DType, rank: number, guarded = false): KernelSource {
  const body = (guarded ? `  if (atomicLoad(&err[${ABORT}]) != 0u) { return; }\n` : "") +
    stridedOffsets(rank, 1, ["x", "y"]) +
    `  ys[o_y] = ${convert(from, to, "xs[o_x]")};`;
  const decls: BufferDecl[] = [
    { name: "xs", type: wgslType(from), access: "read" },
    { name: "ys", type: wgslType(to), access: "read_write" },
  ];
  if (guarded) decls.push({ name: "err", type: "atomic<u32>", access: "read_write" });
  return kernelSource(decls, MATH + main1d(0, body));
}

/**
 * A transaction's check: flags `site` (words `[0] n, [1] site`, then the
 * strided layout of x from word 2) when any element of x is not finite, and
 * sets the sticky abort word so later guarded copies write nothing.
 */
export function finiteCheckSource(rank: number): KernelSource {
  const body = stridedOffsets(rank, 2, ["x"]) + `
  let v = xs[o_x];
  if (is_nan(v) || abs(v) == inf_()) {
    atomicMin(&err[${FIRST}], prm[1]);
    atomicMin(&err[${FIRST_TXN}], prm[1]);
    atomicStore(&err[${ABORT}], 1u);
  }`;
  return kernelSource([
    { name: "xs", type: "f32", access: "read" },
    { name: "err", type: "atomic<u32>", access: "read_write" },
  ], MATH + main1d(0, body));
}

/** Number of scalar words before the grad's strided layout in Adam. */
export const ADAM_SCALARS = 8;

/**
 * In-place Adam/AdamW (PyTorch formula). Words: `[0] n`, `[1..7]` f32
 * `beta1, beta2, eps, weightDecay, 1 - lr·decoupledDecay, lr/bias1,
 * sqrt(bias2)`, then the grad's strided layout.
 */
export function adamSource(rank: number): KernelSource {
  const body = stridedOffsets(rank, ADAM_SCALARS, ["g"]) + `
  let beta1 = bitcast<f32>(prm[1]);
  let beta2 = bitcast<f32>(prm[2]);
  let eps = bitcast<f32>(prm[3]);
  let wd = bitcast<f32>(prm[4]);
  let decay = bitcast<f32>(prm[5]);
  let step = bitcast<f32>(prm[6]);
  let sqrt_b2 = bitcast<f32>(prm[7]);
  var p = param[idx];
  let g = grad[o_g] + wd * p;
  let m = beta1 * ms[idx] + (1.0 - beta1) * g;
  let v = beta2 * vs[idx] + (1.0 - beta2) * g * g;
  ms[idx] = m;
  vs[idx] = v;
  p = p * decay;
  let denom = sqrt(v) / sqrt_b2 + eps;
  param[idx] = p - step * m / denom;`;
  return kernelSource([
    { name: "param", type: "f32", access: "read_write" },
    { name: "grad", type: "f32", access: "read" },
    { name: "ms", type: "f32", access: "read_write" },
    { name: "vs", type: "f32", access: "read_write" },
  ], main1d(0, body));
}
