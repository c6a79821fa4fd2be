/**
 * The CPU backend's elementwise ops: unary, binary, where, cast, copy and
 * the fused Adam update. Each tries its Wasm SIMD kernel first (dense
 * float32 operands in the heap) and otherwise runs plain loops over the
 * strided views, with dense fast paths; the loops stay the reference.
 *
 * @module
 */
import type {
  AdamArgs,
  BinaryOp,
  BufferHandle,
  FusedArgs,
  TypedArray,
  UnaryOp,
  View,
} from "../backend.ts";
import { numel } from "../layout.ts";
import { arr, denseKind, walk3, ZERO } from "./_strided.ts";
import { gelu, geluGrad, sigmoid } from "./_scalar_math.ts";
import { heapPtr, inHeap, MIN_SIMD_ELEMS } from "./_simd.ts";
import * as K from "./wasm/mod.ts";
import { WASM_BINARY_OPS, WASM_UNARY_OPS } from "./wasm/exports.ts";

type Fn1 = (x: number) => number;
type Fn2 = (x: number, y: number) => number;

/** Scalar form of every unary op. */
const UNARY: Record<UnaryOp, Fn1> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  relu: (x) => (x <= 0 ? 0 : x),
  tanh: Math.tanh,
  sigmoid,
  gelu,
  geluGrad,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
};

/** Scalar form of every binary op. */
const BINARY: Record<BinaryOp, Fn2> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  pow: Math.pow,
  // `+(x > y)` compiles branch-free: a data-dependent ?: mispredicts.
  eq: (x, y) => +(x === y),
  lt: (x, y) => +(x < y),
  gt: (x, y) => +(x > y),
};

/** Integer multiply that wraps like int32 instead of rounding. */
const INT_MUL: Fn2 = Math.imul;

const SIMD_BINARY: ReadonlySet<string> = new Set(WASM_BINARY_OPS);
const SIMD_UNARY: ReadonlySet<string> = new Set(WASM_UNARY_OPS);

/** `out = op(x)`; `simd` lets the Wasm kernels take it. */
export function unary(simd: boolean, op: UnaryOp, x: View, out: BufferHandle): void {
  const f = UNARY[op], xs = arr(x.buffer), o = arr(out);
  if (simd && tryUnary(op, x, o)) return;
  if (denseKind(x) === 1) {
    const n = numel(x.shape), off = x.offset;
    if (op === "relu") {
      for (let i = 0; i < n; i++) {
        const v = xs[off + i];
        o[i] = v <= 0 ? 0 : v; // NaN stays NaN, as in PyTorch
      }
    } else for (let i = 0; i < n; i++) o[i] = f(xs[off + i]);
    return;
  }
  let i = 0;
  walk3(x.shape, x.strides, x.offset, ZERO, 0, ZERO, 0, (p) => {
    o[i++] = f(xs[p]);
  });
}

/** Dense float32 relu / neg / abs on the Wasm kernel. */
function tryUnary(op: UnaryOp, x: View, out: TypedArray): boolean {
  if (x.dtype !== "float32" || !SIMD_UNARY.has(op)) return false;
  const n = numel(x.shape);
  const xs = x.buffer as Float32Array;
  if (n < MIN_SIMD_ELEMS || denseKind(x) !== 1 || !inHeap(xs) || !inHeap(out)) return false;
  K.unary(op as K.UnaryOp, heapPtr(xs, x.offset), heapPtr(out, 0), n);
  return true;
}

/** `out = op(a, b)` over pre-broadcast views; `simd` lets the Wasm kernels take it. */
export function binary(simd: boolean, op: BinaryOp, a: View, b: View, out: BufferHandle): void {
  const as = arr(a.buffer), bs = arr(b.buffer), o = arr(out);
  if (simd && tryBinary(op, a, b, o)) return;
  const n = numel(a.shape);
  const ka = denseKind(a), kb = denseKind(b);
  if (ka >= 0 && kb >= 0 && !(a.dtype === "int32" && op === "mul")) {
    if (binaryDense(op, as, a.offset, ka, bs, b.offset, kb, o, n)) return;
  }
  const f = a.dtype === "int32" && op === "mul" ? INT_MUL : BINARY[op];
  let i = 0;
  walk3(a.shape, a.strides, a.offset, b.strides, b.offset, ZERO, 0, (p, q) => {
    o[i++] = f(as[p], bs[q]);
  });
}

/** Dense float32 binary ops (vector·vector, vector·scalar, scalar·vector). */
function tryBinary(op: BinaryOp, a: View, b: View, out: TypedArray): boolean {
  if (a.dtype !== "float32" || !SIMD_BINARY.has(op)) return false;
  const n = numel(a.shape);
  if (n < MIN_SIMD_ELEMS) return false;
  const as = a.buffer as Float32Array, bs = b.buffer as Float32Array;
  if (!inHeap(as) || !inHeap(bs) || !inHeap(out)) return false;
  const ka = denseKind(a), kb = denseKind(b);
  const o = heapPtr(out, 0);
  const kop = op as K.BinaryOp;
  if (ka === 1 && kb === 1) K.binaryVV(kop, heapPtr(as, a.offset), heapPtr(bs, b.offset), o, n);
  else if (ka === 1 && kb === 0) K.binaryVS(kop, heapPtr(as, a.offset), bs[b.offset], o, n);
  else if (ka === 0 && kb === 1) K.binarySV(kop, as[a.offset], heapPtr(bs, b.offset), o, n);
  else return false;
  return true;
}

/**
 * Contiguous fast path: `sa`/`sb` are 1 (dense) or 0 (a broadcast scalar).
 * One tight loop per op, so V8 compiles each monomorphically; comparisons
 * use `+(x > y)`, which compiles branch-free (a `?:` on random data
 * mispredicts and runs ~7× slower).
 */
function binaryDense(
  op: BinaryOp,
  a: TypedArray,
  oa: number,
  sa: number,
  b: TypedArray,
  ob: number,
  sb: number,
  o: TypedArray,
  n: number,
): boolean {
  if (sa === 0 && sb === 0) return false;
  switch (op) {
    case "add":
      for (let i = 0; i < n; i++) o[i] = a[oa + i * sa] + b[ob + i * sb];
      return true;
    case "sub":
      for (let i = 0; i < n; i++) o[i] = a[oa + i * sa] - b[ob + i * sb];
      return true;
    case "mul":
      for (let i = 0; i < n; i++) o[i] = a[oa + i * sa] * b[ob + i * sb];
      return true;
    case "div":
      for (let i = 0; i < n; i++) o[i] = a[oa + i * sa] / b[ob + i * sb];
      return true;
    case "gt":
      for (let i = 0; i < n; i++) o[i] = +(a[oa + i * sa] > b[ob + i * sb]);
      return true;
    case "lt":
      for (let i = 0; i < n; i++) o[i] = +(a[oa + i * sa] < b[ob + i * sb]);
      return true;
    case "eq":
      for (let i = 0; i < n; i++) o[i] = +(a[oa + i * sa] === b[ob + i * sb]);
      return true;
  }
  return false;
}

/** `out = cond != 0 ? a : b` over pre-broadcast views. */
export function where(cond: View, a: View, b: View, out: BufferHandle): void {
  const cs = arr(cond.buffer), as = arr(a.buffer), bs = arr(b.buffer);
  const o = arr(out);
  let i = 0;
  // Two walks share one index: first pick the condition, then the value.
  const pick = new Uint8Array(numel(cond.shape));
  walk3(cond.shape, cond.strides, cond.offset, ZERO, 0, ZERO, 0, (p) => {
    pick[i++] = +(cs[p] !== 0);
  });
  i = 0;
  walk3(a.shape, a.strides, a.offset, b.strides, b.offset, ZERO, 0, (p, q) => {
    o[i] = pick[i] ? as[p] : bs[q];
    i++;
  });
}

/** `out = x` in `out`'s dtype (float → int truncates toward zero). */
export function cast(x: View, out: BufferHandle): void {
  // Storing into the other TypedArray kind converts (float → int truncates).
  const xs = arr(x.buffer), o = arr(out);
  let i = 0;
  walk3(x.shape, x.strides, x.offset, ZERO, 0, ZERO, 0, (p) => {
    o[i++] = xs[p];
  });
}

/** Strided → strided copy of one shape. */
export function copy(x: View, out: View): void {
  const xs = arr(x.buffer), o = arr(out.buffer);
  if (denseKind(x) === 1 && denseKind(out) === 1) {
    const n = numel(x.shape);
    o.set(xs.subarray(x.offset, x.offset + n), out.offset);
    return;
  }
  walk3(x.shape, x.strides, x.offset, out.strides, out.offset, ZERO, 0, (p, q) => {
    o[q] = xs[p];
  });
}

/**
 * PyTorch's single-tensor Adam/AdamW step, in place, on the Wasm kernel
 * when the buffers are in the heap and the gradient is dense.
 */
export function adam(...[param, grad, m, v, n, args]: FusedArgs<"adam">): void {
  const [p, ms, vs] = [param, m, v].map(arr) as Float32Array[];
  const g = grad.buffer as Float32Array;
  if (denseKind(grad) === 1 && [p, g, ms, vs].every(inHeap)) {
    const ptrs = { param: heapPtr(p, 0), grad: heapPtr(g, grad.offset), m: heapPtr(ms, 0) };
    K.adam({ ...ptrs, v: heapPtr(vs, 0) }, n, args);
    return;
  }
  adamScalar(p, grad, ms, vs, n, args);
}

/** The scalar Adam step (see {@link adam}); scalars rounded as PyTorch's. */
function adamScalar(
  p: Float32Array,
  grad: View,
  m: Float32Array,
  v: Float32Array,
  n: number,
  a: AdamArgs,
): void {
  const g = grad.buffer as Float32Array, go = grad.offset;
  const { beta1, beta2, eps, weightDecay } = a;
  const step = a.lr / a.bias1, sq2 = Math.sqrt(a.bias2);
  const decay = 1 - a.lr * a.decoupledDecay;
  for (let i = 0; i < n; i++) {
    const gi = weightDecay !== 0 ? g[go + i] + weightDecay * p[i] : g[go + i];
    m[i] = Math.fround(beta1 * m[i] + (1 - beta1) * gi);
    v[i] = Math.fround(beta2 * v[i] + (1 - beta2) * gi * gi);
    const pi = decay !== 1 ? Math.fround(p[i] * decay) : p[i];
    const denom = Math.fround(Math.fround(Math.sqrt(v[i]) / sq2) + eps);
    p[i] = pi - step * (m[i] / denom);
  }
}
