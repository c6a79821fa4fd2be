/**
 * The fuzz suite's independent reference: dense row-major arrays in float64
 * on the host, with PyTorch's rules for shapes and validity written out
 * again from scratch (nothing here imports the library). Every op either
 * returns a {@link Ref} or throws {@link Invalid} naming the error class the
 * library must throw.
 *
 * @module
 */

/** Element types, as the library names them. */
export type RDType = "float32" | "int32";

/** A dense host array: shape, float64 values, dtype. */
export class Ref {
  /** True for an expanded view: several elements share one location. */
  overlapping = false;
  constructor(
    readonly shape: readonly number[],
    readonly data: Float64Array,
    readonly dtype: RDType,
  ) {}
  get size(): number {
    return this.data.length;
  }
  get ndim(): number {
    return this.shape.length;
  }
}

/** The library must throw this class for this call. */
export class Invalid extends Error {
  constructor(readonly kind: "TypeError" | "RangeError", message: string) {
    super(message);
  }
}

const typeErr = (m: string): never => {
  throw new Invalid("TypeError", m);
};
const rangeErr = (m: string): never => {
  throw new Invalid("RangeError", m);
};

export function numel(shape: readonly number[]): number {
  return shape.reduce((p, s) => p * s, 1);
}

export function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

/** Calls `f(flatIndex, multiIndex)` for every position of `shape` in order. */
export function forEachIndex(
  shape: readonly number[],
  f: (i: number, idx: number[]) => void,
): void {
  const n = numel(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    f(i, idx);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

let exact = false;
/**
 * With `on`, float32 results are not rounded: the finite-difference
 * gradient check then differentiates the exact float64 function.
 */
export function setExact(on: boolean): void {
  exact = on;
}
/** float32 rounding (none in exact mode). */
export function f32(v: number): number {
  return exact ? v : Math.fround(v);
}

/** float32 or int32 rounding of a float64 value. */
export function roundTo(dtype: RDType, v: number): number {
  return dtype === "float32" ? f32(v) : v | 0;
}

export function make(shape: readonly number[], dtype: RDType, f: (idx: number[]) => number): Ref {
  const out = new Float64Array(numel(shape));
  forEachIndex(shape, (i, idx) => (out[i] = f(idx)));
  return new Ref([...shape], out, dtype);
}

/** Element at a multi-index (row-major). */
export function at(r: Ref, idx: readonly number[]): number {
  let p = 0, s = 1;
  for (let d = r.shape.length - 1; d >= 0; d--) {
    p += idx[d] * s;
    s *= r.shape[d];
  }
  return r.data[p];
}

// ---- argument checks (the spec of what is valid) ----

export function isIntNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v);
}

/** PyTorch's dim normalisation (a 0-d tensor takes 0 and −1). */
export function dimOf(dim: unknown, ndim: number): number {
  if (typeof dim !== "number") return typeErr(`dim ${String(dim)}`);
  if (!Number.isInteger(dim)) return rangeErr(`dim ${dim}`);
  const n = Math.max(ndim, 1);
  const d = dim < 0 ? dim + n : dim;
  if (d < 0 || d >= n) return rangeErr(`dim ${dim} out of range`);
  return d;
}

/** Sorted unique dims; a repeat is an error; undefined means all. */
export function dimsOf(dims: unknown, ndim: number): number[] {
  if (dims === undefined) return [...Array(ndim).keys()];
  if (typeof dims !== "number" && !Array.isArray(dims)) return typeErr("dims kind");
  const list = typeof dims === "number" ? [dims] : dims as unknown[];
  for (let i = 0; i < list.length; i++) if (!(i in list)) typeErr("dims hole");
  const norm = list.map((d) => dimOf(d, ndim));
  if (new Set(norm).size !== norm.length) rangeErr("repeated dim");
  return ndim === 0 ? [] : [...new Set(norm)].sort((a, b) => a - b);
}

/** A shape argument: array, no holes, numbers, non-negative safe integers (−1 where allowed). */
export function shapeOf(shape: unknown, inferOne = false): number[] {
  if (!Array.isArray(shape)) return typeErr("shape kind");
  for (let i = 0; i < shape.length; i++) {
    if (!(i in shape) || typeof shape[i] !== "number") typeErr("shape entry");
    const s = shape[i] as number;
    if (!Number.isSafeInteger(s) || s < (inferOne ? -1 : 0)) rangeErr("shape size");
  }
  return [...shape] as number[];
}

export function keepdimOf(opts: unknown): boolean {
  if (opts === undefined) return false;
  if (opts === null || typeof opts !== "object") return typeErr("options kind");
  const k = (opts as { keepdim?: unknown }).keepdim;
  if (k === undefined) return false;
  if (typeof k !== "boolean") return typeErr("keepdim kind");
  return k;
}

export function broadcast(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1, y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) rangeErr("broadcast");
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Reads `r` broadcast to `shape`. */
export function broadcastTo(r: Ref, shape: readonly number[]): Ref {
  const off = shape.length - r.ndim;
  return make(shape, r.dtype, (idx) => at(r, r.shape.map((s, d) => (s === 1 ? 0 : idx[off + d]))));
}

export function castTo(r: Ref, dtype: RDType): Ref {
  if (r.dtype === dtype) return r;
  const out = r.data.map((v) => dtype === "float32" ? f32(v) : v | 0 // JavaScript's ToInt32, as documented
  );
  return new Ref(r.shape, out, dtype);
}

// ---- elementwise ----

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

// ---- reductions ----

function reduceWith(
  x: Ref,
  dims: number[],
  keepdim: boolean,
  init: number,
  step: (acc: number, v: number) => number,
): Ref {
  const kept = x.shape.map((s, d) => (dims.includes(d) ? 1 : s));
  const acc = new Float64Array(numel(kept)).fill(init);
  const ks = stridesOf(kept);
  forEachIndex(x.shape, (i, idx) => {
    let q = 0;
    idx.forEach((v, d) => (q += dims.includes(d) ? 0 : v * ks[d]));
    acc[q] = step(acc[q], x.data[i]);
  });
  const shape = keepdim ? kept : x.shape.filter((_, d) => !dims.includes(d));
  return new Ref(shape, acc, x.dtype);
}

export function sum(x: Ref, dim: unknown, opts: unknown): Ref {
  const dims = dimsOf(dim, x.ndim), keep = keepdimOf(opts);
  const r = reduceWith(x, dims, keep, 0, (a, v) => a + v);
  return new Ref(r.shape, r.data.map((v) => roundTo(x.dtype, v)), x.dtype);
}

export function mean(x: Ref, dim: unknown, opts: unknown): Ref {
  if (x.dtype !== "float32") typeErr("mean int32");
  const dims = dimsOf(dim, x.ndim), keep = keepdimOf(opts);
  const count = dims.reduce((p, d) => p * x.shape[d], 1);
  const r = reduceWith(x, dims, keep, 0, (a, v) => a + v);
  return new Ref(r.shape, r.data.map((v) => f32(v / count)), "float32");
}

export function max(x: Ref, dim: unknown, opts: unknown): Ref {
  const dims = dimsOf(dim, x.ndim), keep = keepdimOf(opts);
  if (x.size === 0 && (dim === undefined || dims.some((d) => x.shape[d] === 0))) {
    rangeErr("max of empty");
  }
  if (dims.some((d) => x.shape[d] === 0)) rangeErr("max over empty dim");
  return reduceWith(
    x,
    dims,
    keep,
    -Infinity,
    (a, v) => (v !== v || a !== a ? NaN : Math.max(a, v)),
  );
}

export function argmax(x: Ref, dim: unknown): Ref {
  const d = dimOf(dim, x.ndim);
  if (x.ndim === 0) return new Ref([], Float64Array.of(0), "int32");
  if (x.shape[d] === 0) rangeErr("argmax over empty dim");
  const outShape = x.shape.filter((_, i) => i !== d);
  return make(outShape, "int32", (idx) => {
    let best = -Infinity, bi = -1;
    for (let k = 0; k < x.shape[d]; k++) {
      const full = [...idx.slice(0, d), k, ...idx.slice(d)];
      const v = at(x, full);
      if (v !== v) return k; // the first NaN wins, as in PyTorch
      if (bi < 0 || v > best) [best, bi] = [v, k];
    }
    return bi;
  });
}

export function softmax(x: Ref, dim: unknown, log: boolean): Ref {
  if (x.dtype !== "float32") typeErr("softmax int32");
  const d = dimOf(dim, x.ndim);
  if (x.ndim === 0) {
    const r = softmax(new Ref([1], x.data, "float32"), 0, log);
    return new Ref([], r.data, "float32");
  }
  const m = reduceWith(
    x,
    [d],
    true,
    -Infinity,
    (a, v) => (a !== a || v !== v ? NaN : Math.max(a, v)),
  );
  const mb = broadcastTo(m, x.shape);
  const e = x.data.map((v, i) => Math.exp(v - mb.data[i]));
  const s = broadcastTo(
    reduceWith(new Ref(x.shape, e, "float32"), [d], true, 0, (a, v) => a + v),
    x.shape,
  );
  const out = x.data.map((v, i) => log ? v - mb.data[i] - Math.log(s.data[i]) : e[i] / s.data[i]);
  return new Ref(x.shape, out.map(f32), "float32");
}

// ---- views and copies ----

export function reshape(x: Ref, shape: unknown): Ref {
  const s = shapeOf(shape, true);
  const free = s.filter((v) => v === -1).length;
  if (free > 1) rangeErr("two -1");
  if (free === 1) {
    const rest = s.reduce((p, v) => (v === -1 ? p : p * v), 1);
    if (rest === 0 || x.size % rest !== 0) rangeErr("cannot infer");
    s[s.indexOf(-1)] = x.size / rest;
  }
  if (numel(s) !== x.size) rangeErr("reshape size");
  return new Ref(s, x.data, x.dtype);
}

export function permute(x: Ref, dims: unknown): Ref {
  if (!Array.isArray(dims)) return typeErr("permute dims kind");
  for (let i = 0; i < dims.length; i++) if (!(i in dims)) typeErr("permute hole");
  const d = dims.map((v) => dimOf(v, x.ndim));
  if (d.length !== x.ndim || new Set(d).size !== d.length) rangeErr("not a permutation");
  const shape = d.map((i) => x.shape[i]);
  return make(shape, x.dtype, (idx) => {
    const src = new Array<number>(x.ndim);
    d.forEach((s, i) => (src[s] = idx[i]));
    return at(x, src);
  });
}

export function transpose(x: Ref, d0: unknown, d1: unknown): Ref {
  const a = dimOf(d0, x.ndim), b = dimOf(d1, x.ndim);
  if (x.ndim === 0) return x;
  const dims = [...x.shape.keys()];
  [dims[a], dims[b]] = [dims[b], dims[a]];
  return permute(x, dims);
}

export function unsqueeze(x: Ref, dim: unknown): Ref {
  const d = dimOf(dim, x.ndim + 1);
  const shape = [...x.shape];
  shape.splice(d, 0, 1);
  return new Ref(shape, x.data, x.dtype);
}

export function squeeze(x: Ref, dim: unknown): Ref {
  if (dim === undefined) return new Ref(x.shape.filter((s) => s !== 1), x.data, x.dtype);
  const d = dimOf(dim, x.ndim);
  if (x.ndim === 0 || x.shape[d] !== 1) return x;
  return new Ref(x.shape.filter((_, i) => i !== d), x.data, x.dtype);
}

export function expand(x: Ref, shape: unknown): Ref {
  const s = shapeOf(shape, true);
  const lead = s.length - x.ndim;
  if (lead < 0) rangeErr("expand rank");
  const out = s.map((want, i) => {
    if (i < lead) return want < 0 ? rangeErr("expand -1 lead") : want;
    const src = x.shape[i - lead];
    const w = want === -1 ? src : want;
    if (w !== src && src !== 1) rangeErr("expand size");
    return w;
  });
  return broadcastTo(x, out);
}

export function narrow(x: Ref, dim: unknown, start: unknown, length: unknown): Ref {
  const d = dimOf(dim, x.ndim);
  if (x.ndim === 0) rangeErr("narrow 0-d");
  if (typeof start !== "number" || typeof length !== "number") typeErr("narrow args");
  const n = x.shape[d];
  if (!Number.isInteger(start) || !Number.isInteger(length)) rangeErr("narrow fraction");
  const s0 = (start as number) < 0 ? (start as number) + n : start as number;
  if (s0 < 0 || (length as number) < 0 || s0 + (length as number) > n) rangeErr("narrow range");
  const shape = [...x.shape];
  shape[d] = length as number;
  return make(shape, x.dtype, (idx) => {
    const src = [...idx];
    src[d] += s0;
    return at(x, src);
  });
}

export function indexSelect(x: Ref, dim: unknown, index: unknown): Ref {
  const d = dimOf(dim, x.ndim);
  if (!(index instanceof Ref)) return typeErr("index kind");
  if (index.dtype !== "int32" || index.ndim !== 1) typeErr("index dtype/rank");
  if (x.ndim === 0) rangeErr("indexSelect 0-d");
  for (const k of index.data) if (k < 0 || k >= x.shape[d]) rangeErr("index out of range");
  const shape = [...x.shape];
  shape[d] = index.size;
  return make(shape, x.dtype, (idx) => {
    const src = [...idx];
    src[d] = index.data[idx[d]];
    return at(x, src);
  });
}

export function cat(list: unknown, dim: unknown): Ref {
  if (!Array.isArray(list)) return typeErr("cat list kind");
  if (list.length === 0) rangeErr("cat empty");
  for (let i = 0; i < list.length; i++) if (!(list[i] instanceof Ref)) typeErr("cat item");
  const ts = list as Ref[];
  if (ts.some((t) => t.ndim === 0)) rangeErr("cat 0-d");
  const first = ts[0];
  const d = dimOf(dim, first.ndim);
  for (const t of ts) {
    if (t.dtype !== first.dtype) typeErr("cat dtype");
    if (t.ndim !== first.ndim || t.shape.some((s, i) => i !== d && s !== first.shape[i])) {
      rangeErr("cat shapes");
    }
  }
  const shape = [...first.shape];
  shape[d] = ts.reduce((p, t) => p + t.shape[d], 0);
  return make(shape, first.dtype, (idx) => {
    let k = idx[d];
    for (const t of ts) {
      if (k < t.shape[d]) return at(t, [...idx.slice(0, d), k, ...idx.slice(d + 1)]);
      k -= t.shape[d];
    }
    throw new Error("unreachable");
  });
}

export function stack(list: unknown, dim: unknown): Ref {
  if (!Array.isArray(list)) return typeErr("stack list kind");
  if (list.length === 0) rangeErr("stack empty");
  for (let i = 0; i < list.length; i++) if (!(list[i] instanceof Ref)) typeErr("stack item");
  const ts = list as Ref[];
  const d = dimOf(dim, ts[0].ndim + 1);
  for (const t of ts) {
    if (t.dtype !== ts[0].dtype) typeErr("stack dtype");
    if (t.ndim !== ts[0].ndim || t.shape.some((s, i) => s !== ts[0].shape[i])) {
      rangeErr("stack shapes");
    }
  }
  return cat(ts.map((t) => unsqueeze(t, d)), d);
}

/** What `assign` leaves in a target of `target`'s shape and dtype. */
export function assign(target: Ref, src: unknown, overlapping: boolean): Ref {
  const s = lift(src, target);
  const shape = broadcast(s.shape, target.shape);
  if (shape.length !== target.ndim || shape.some((v, i) => v !== target.shape[i])) {
    rangeErr("assign shape");
  }
  if (overlapping) rangeErr("assign into an expanded view");
  return broadcastTo(castTo(s, target.dtype), target.shape);
}
