/**
 * Float64 references of the elementwise ops (unary functions, binary
 * arithmetic and comparisons with broadcasting and dtype promotion,
 * `where`) and of `matmul`.
 *
 * @module
 */
import {
  at,
  broadcast,
  broadcastTo,
  castTo,
  f32,
  make,
  rangeErr,
  type RDType,
  Ref,
  roundTo,
  typeErr,
} from "./_ref.ts";

/** erf to ~1e-15: Taylor series near 0, a continued fraction for erfc further out. */
export function erf(x: number): number {
  if (x !== x) return NaN;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x, sum = x;
    for (let n = 1; n < 200; n++) {
      term *= -x * x / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (ax > 6) return Math.sign(x);
  // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))) (Lentz).
  let f = 0;
  for (let k = 60; k >= 1; k--) f = (k / 2) / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

export const UNARY: Record<string, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  relu: (x) => (x !== x ? NaN : x > 0 ? x : 0),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
};
export const INT_UNARY = new Set(["neg", "abs", "relu"]);

export function unary(op: string, x: Ref): Ref {
  if (x.dtype === "int32" && !INT_UNARY.has(op)) typeErr(`${op} int32`);
  const f = UNARY[op];
  return new Ref(x.shape, x.data.map((v) => roundTo(x.dtype, f(v))), x.dtype);
}

const FLOAT_BIN: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => Math.pow(a, b),
  eq: (a, b) => +(a === b),
  lt: (a, b) => +(a < b),
  gt: (a, b) => +(a > b),
};
const INT_BIN: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => (a + b) | 0,
  sub: (a, b) => (a - b) | 0,
  mul: (a, b) => Math.imul(a, b),
  eq: (a, b) => +(a === b),
  lt: (a, b) => +(a < b),
  gt: (a, b) => +(a > b),
};

/** A number operand as the library lifts it beside `like`. */
export function lift(y: unknown, like: Ref): Ref {
  if (y instanceof Ref) return y;
  if (typeof y !== "number") return typeErr("operand kind");
  const int = like.dtype === "int32" && Number.isInteger(y) && y >= -2147483648 &&
    y <= 2147483647 && !Object.is(y, -0);
  return new Ref([], Float64Array.of(int ? y : f32(y)), int ? "int32" : "float32");
}

/** add/sub/mul/div/pow/eq/lt/gt with broadcasting and promotion. */
export function binary(op: string, x: Ref, y: unknown): Ref {
  const b = lift(y, x);
  const shape = broadcast(x.shape, b.shape);
  const floatOp = op === "div" || op === "pow";
  const compare = op === "eq" || op === "lt" || op === "gt";
  const dtype: RDType = x.dtype === b.dtype && !(floatOp && x.dtype === "int32")
    ? x.dtype
    : "float32";
  const xa = broadcastTo(castTo(x, dtype), shape), ba = broadcastTo(castTo(b, dtype), shape);
  const f = dtype === "int32" ? INT_BIN[op] : FLOAT_BIN[op];
  const out = xa.data.map((v, i) => f(v, ba.data[i]));
  const outType: RDType = compare ? "float32" : dtype;
  return new Ref(shape, out.map((v) => roundTo(outType, v)), outType);
}

export function where(cond: unknown, a: unknown, b: unknown): Ref {
  if (!(cond instanceof Ref)) return typeErr("cond kind");
  const like = a instanceof Ref ? a : b instanceof Ref ? b : cond;
  const x = lift(a, like), y = lift(b, like);
  const shape = broadcast(broadcast(cond.shape, x.shape), y.shape);
  const dtype: RDType = x.dtype === y.dtype ? x.dtype : "float32";
  const c = broadcastTo(cond, shape);
  const xa = broadcastTo(castTo(x, dtype), shape), ya = broadcastTo(castTo(y, dtype), shape);
  return new Ref(shape, c.data.map((v, i) => (v !== 0 ? xa.data[i] : ya.data[i])), dtype);
}

// ---- matmul ----

export function matmul(a: Ref, b: unknown): Ref {
  if (!(b instanceof Ref)) return typeErr("matmul operand");
  if (a.dtype !== "float32" || b.dtype !== "float32") typeErr("matmul int32");
  if (a.ndim === 0 || b.ndim === 0) rangeErr("matmul 0-d");
  const a2 = a.ndim === 1 ? [1, a.shape[0]] : [...a.shape];
  const b2 = b.ndim === 1 ? [b.shape[0], 1] : [...b.shape];
  const [M, K] = a2.slice(-2), [K2, N] = b2.slice(-2);
  if (K !== K2) rangeErr("matmul inner");
  const batch = broadcast(a2.slice(0, -2), b2.slice(0, -2));
  const A = broadcastTo(new Ref(a2, a.data, "float32"), [...batch, M, K]);
  const B = broadcastTo(new Ref(b2, b.data, "float32"), [...batch, K, N]);
  const full = make([...batch, M, N], "float32", (idx) => {
    const pre = idx.slice(0, -2), i = idx[idx.length - 2], j = idx[idx.length - 1];
    let s = 0;
    // Each product rounds to float32, so one that overflows is ±∞ there too.
    for (let k = 0; k < K; k++) s += f32(at(A, [...pre, i, k]) * at(B, [...pre, k, j]));
    return s;
  });
  const shape = [...batch, ...(a.ndim === 1 ? [] : [M]), ...(b.ndim === 1 ? [] : [N])];
  return new Ref(shape, full.data.map(f32), "float32");
}
