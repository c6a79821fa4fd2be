/**
 * The CPU backend's elementwise ops: unary, binary, where, cast, copy and
 * the fused Adam update. Each coalesces its operands' layouts into rows
 * (`rowsOf`): rows that are dense or broadcast in every operand run on the
 * Wasm SIMD kernels (float32 in the heap; split by rows with the worker
 * when large), the rest on one tight TypeScript loop per row
 * (`_row_loops.ts`), and rows of fewer than 4 elements on the per-element
 * walk (`walk3`), which stays the reference.
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
import { contiguousStrides, numel } from "../layout.ts";
import { arr, denseKind, eachRow, type Rows, rowsOf, walk3, ZERO } from "./_strided.ts";
import { gelu, geluGrad, sigmoid } from "./_scalar_math.ts";
import { binaryRow, binaryRowInt, copyRow, copyTile, unaryRow, whereRow } from "./_row_loops.ts";
import { heapPtr, inHeap, MIN_SIMD_ELEMS } from "./_simd.ts";
import * as K from "./wasm/mod.ts";
import { HEAVY_UNARY_OPS, WASM_BINARY_OPS, WASM_UNARY_OPS } from "./wasm/exports.ts";

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

/**
 * Rows shorter than this (after coalescing) go through the reference
 * walk, whose per-element cost then beats a per-row loop's set-up.
 */
const MIN_ROW = 4;
/** Rows at least this long go to the Wasm kernels (a call costs ~a dozen elements). */
const MIN_KERNEL_ROW = 16;

/** True when the row walk `r` should run on the Wasm kernels. */
function kernelRows(r: Rows): boolean {
  return r.n * r.count >= MIN_SIMD_ELEMS && (r.n >= MIN_KERNEL_ROW || r.count === 1);
}

/** `out = op(x)`; `simd` lets the Wasm kernels take it. */
export function unary(simd: boolean, op: UnaryOp, x: View, out: BufferHandle): void {
  const xs = arr(x.buffer), o = arr(out);
  if (simd && tryDenseUnary(op, x, o)) return;
  const r = rowsOf(x.shape, [x.strides], true);
  if (simd && tryUnary(op, x, r, o)) return;
  if (r.n < MIN_ROW && r.count > 1) {
    const f = UNARY[op];
    let i = 0;
    walk3(x.shape, x.strides, x.offset, ZERO, 0, ZERO, 0, (p) => {
      o[i++] = f(xs[p]);
    });
    return;
  }
  const sx = r.inner[0], n = r.n;
  eachRow(r, x.offset, 0, 0, (p, q) => unaryRow(op, xs, p, sx, o, q, n));
}

/** A dense float32 x: one kernel call, no row walk to set up. */
function tryDenseUnary(op: UnaryOp, x: View, out: TypedArray): boolean {
  if (x.dtype !== "float32" || !SIMD_UNARY.has(op) || denseKind(x) !== 1) return false;
  const n = numel(x.shape), xs = x.buffer as Float32Array;
  if (n < MIN_SIMD_ELEMS || !inHeap(xs) || !inHeap(out)) return false;
  K.unary(op as K.UnaryOp, heapPtr(xs, x.offset), heapPtr(out, 0), n);
  return true;
}

/**
 * Float32 unary ops with a kernel, on rows dense in x; a heavy op (exp,
 * log, tanh, sigmoid) on strided rows first gathers x into `out` densely
 * (a copy is ~10× cheaper than the op in TypeScript) and runs in place.
 */
function tryUnary(op: UnaryOp, x: View, r: Rows, out: TypedArray): boolean {
  if (x.dtype !== "float32" || !SIMD_UNARY.has(op)) return false;
  const xs = x.buffer as Float32Array;
  if (!kernelRows(r) || !inHeap(xs) || !inHeap(out)) return false;
  const kop = op as K.UnaryOp, o = heapPtr(out, 0);
  if (r.inner[0] !== 1) {
    if (!HEAVY_UNARY_OPS.has(op)) return false;
    copy(x, {
      buffer: out,
      dtype: "float32",
      shape: x.shape,
      strides: contiguousStrides(x.shape),
      offset: 0,
    });
    K.unary(kop, o, o, numel(x.shape));
    return true;
  }
  const walk = { dims: r.dims, sx: r.outer[0], sy: r.outer[0], so: r.outer[1] };
  K.rows(kop, "v", heapPtr(xs, x.offset), 0, o, r.n, walk);
  return true;
}

/** `out = op(a, b)` over pre-broadcast views; `simd` lets the Wasm kernels take it. */
export function binary(simd: boolean, op: BinaryOp, a: View, b: View, out: BufferHandle): void {
  const as = arr(a.buffer), bs = arr(b.buffer), o = arr(out);
  if (simd && tryDenseBinary(op, a, b, o)) return;
  const r = rowsOf(a.shape, [a.strides, b.strides], true);
  if (simd && tryBinary(op, a, b, r, o)) return;
  const int = a.dtype === "int32";
  if (r.n < MIN_ROW && r.count > 1) {
    const f = int && op === "mul" ? INT_MUL : BINARY[op];
    let i = 0;
    walk3(a.shape, a.strides, a.offset, b.strides, b.offset, ZERO, 0, (p, q) => {
      o[i++] = f(as[p], bs[q]);
    });
    return;
  }
  const [sa, sb] = r.inner, n = r.n;
  if (int) {
    const [ai, bi] = [as, bs] as Int32Array[];
    eachRow(r, a.offset, b.offset, 0, (p, q, t) => binaryRowInt(op, ai, p, sa, bi, q, sb, o, t, n));
  } else {
    const [af, bf] = [as, bs] as Float32Array[];
    eachRow(r, a.offset, b.offset, 0, (p, q, t) => binaryRow(op, af, p, sa, bf, q, sb, o, t, n));
  }
}

/** The kernel form of rows with inner strides `sa`, `sb` (dense 1 or broadcast 0). */
const FORMS: Record<string, "vv" | "vp" | "pv" | undefined> = {
  "1,1": "vv",
  "1,0": "vp",
  "0,1": "pv",
};

/**
 * Float32 add/sub/mul/div with each operand dense or one broadcast value:
 * one kernel call, no row walk to set up.
 */
function tryDenseBinary(op: BinaryOp, a: View, b: View, out: TypedArray): boolean {
  if (a.dtype !== "float32" || !SIMD_BINARY.has(op)) return false;
  const n = numel(a.shape);
  const as = a.buffer as Float32Array, bs = b.buffer as Float32Array;
  if (n < MIN_SIMD_ELEMS || !inHeap(as) || !inHeap(bs) || !inHeap(out)) return false;
  const ka = denseKind(a), kb = denseKind(b);
  const o = heapPtr(out, 0), kop = op as K.BinaryOp;
  if (ka === 1 && kb === 1) K.binaryVV(kop, heapPtr(as, a.offset), heapPtr(bs, b.offset), o, n);
  else if (ka === 1 && kb === 0) K.binaryVS(kop, heapPtr(as, a.offset), bs[b.offset], o, n);
  else if (ka === 0 && kb === 1) K.binarySV(kop, as[a.offset], heapPtr(bs, b.offset), o, n);
  else return false;
  return true;
}

/** Float32 add/sub/mul/div on rows dense or broadcast in each operand. */
function tryBinary(op: BinaryOp, a: View, b: View, r: Rows, out: TypedArray): boolean {
  if (a.dtype !== "float32" || !SIMD_BINARY.has(op) || !kernelRows(r)) return false;
  const form = FORMS[`${r.inner[0]},${r.inner[1]}`];
  const as = a.buffer as Float32Array, bs = b.buffer as Float32Array;
  if (!form || !inHeap(as) || !inHeap(bs) || !inHeap(out)) return false;
  const walk = { dims: r.dims, sx: r.outer[0], sy: r.outer[1], so: r.outer[2] };
  const [x, y] = [heapPtr(as, a.offset), heapPtr(bs, b.offset)];
  K.rows(op as K.BinaryOp, form, x, y, heapPtr(out, 0), r.n, walk);
  return true;
}

/** `out = cond != 0 ? a : b` over pre-broadcast views. */
export function where(cond: View, a: View, b: View, out: BufferHandle): void {
  const cs = arr(cond.buffer), as = arr(a.buffer), bs = arr(b.buffer);
  const o = arr(out);
  const r = rowsOf(a.shape, [cond.strides, a.strides, b.strides]);
  if (r.n < MIN_ROW && r.count > 1) {
    whereWalk(cond, a, b, o);
    return;
  }
  const [sc, sa, sb] = r.inner, n = r.n;
  const [ab, bb, ob] = [as, bs, o].map(bits);
  let t = 0;
  eachRow(r, cond.offset, a.offset, b.offset, (p, q, u) => {
    whereRow(cs, p, sc, ab, q, sa, bb, u, sb, ob, t, n);
    t += n;
  });
}

/** The 32-bit patterns of a float32 or int32 array (the same memory). */
function bits(a: TypedArray): Int32Array {
  return a instanceof Int32Array ? a : new Int32Array(a.buffer, a.byteOffset, a.length);
}

/** The reference walk of {@link where}. */
function whereWalk(cond: View, a: View, b: View, o: TypedArray): void {
  const cs = arr(cond.buffer), as = arr(a.buffer), bs = arr(b.buffer);
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
  copy(x, {
    buffer: out,
    dtype: x.dtype,
    shape: x.shape,
    strides: contiguousStrides(x.shape),
    offset: 0,
  });
}

/**
 * Strided → strided copy of one shape (and dtype conversion when the
 * buffers differ in kind). Rows dense in both go to the Wasm copy kernel
 * (heap buffers of one kind) or `TypedArray.set`; a copy within one buffer
 * walks element by element in row-major order, as the reference does.
 */
export function copy(x: View, out: View): void {
  const xs = arr(x.buffer), o = arr(out.buffer);
  const r = rowsOf(x.shape, [x.strides, out.strides]);
  if (x.buffer === out.buffer) {
    copyWalk(x, out);
    return;
  }
  const [sx, so] = r.inner, n = r.n;
  const same = xs.constructor === o.constructor;
  if (sx === 1 && so === 1 && same) {
    if (inHeap(xs) && inHeap(o) && kernelRows(r)) {
      const walk = { dims: r.dims, sx: r.outer[0], sy: r.outer[0], so: r.outer[1] };
      K.rows("copy", "v", heapPtr(xs, x.offset), 0, heapPtr(o, out.offset), n, walk);
      return;
    }
    if (n >= 64) {
      eachRow(r, x.offset, out.offset, 0, (p, q) => o.set(xs.subarray(p, p + n), q));
      return;
    }
  }
  if (sx !== 1 && copyTransposed(r, xs, x.offset, o, out.offset)) return;
  if (n < MIN_ROW && r.count > 1) {
    copyWalk(x, out);
    return;
  }
  eachRow(r, x.offset, out.offset, 0, (p, q) => copyRow(xs, p, sx, o, q, so, n));
}

/**
 * A copy whose rows are strided in x but whose last outer dimension is
 * dense in x (a transpose, `x.T.contiguous()`): square tiles of those two
 * dimensions, so each cache line of x read is used for a whole tile row
 * instead of once per row.
 */
function copyTransposed(r: Rows, xs: TypedArray, ox: number, o: TypedArray, oo: number): boolean {
  const last = r.dims.length - 1, m = r.dims[last];
  if (last < 0 || r.outer[0][last] !== 1 || m < MIN_ROW || r.n < MIN_ROW) return false;
  const outer: Rows = {
    n: 1,
    count: r.count / m,
    dims: r.dims.slice(0, last),
    outer: r.outer.map((s) => s.slice(0, last)),
    inner: [],
  };
  const [sx, so] = r.inner, som = r.outer[1][last], n = r.n;
  eachRow(outer, ox, oo, 0, (p, q) => copyTile(xs, p, sx, o, q, som, so, m, n));
  return true;
}

/** The reference walk of {@link copy}. */
function copyWalk(x: View, out: View): void {
  const xs = arr(x.buffer), o = arr(out.buffer);
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
