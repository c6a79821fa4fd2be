/**
 * One row of an elementwise op in plain TypeScript (private to `cpu/`): the
 * loops the CPU backend runs for every row the Wasm kernels do not take
 * (int32, comparisons, pow, ops without a kernel, strided rows, engines
 * without SIMD). Each operand is (array, first position, stride); the
 * output of `binary`/`unary`/`where` is dense. One loop per op, so V8
 * compiles each for one operation; comparisons use `+(x > y)`, which
 * compiles branch-free (a `?:` on random data mispredicts and runs ~7×
 * slower). A store into an Int32Array converts as the scalar reference
 * does (wraps; float → int truncates toward zero).
 *
 * @module
 */
import type { BinaryOp, TypedArray, UnaryOp } from "../backend.ts";
import { gelu, geluGrad, sigmoid } from "./_scalar_math.ts";

/** `o[po + i] = a[pa + i·sa] op b[pb + i·sb]` for i < n, float32 operands. */
export function binaryRow(
  op: BinaryOp,
  a: Float32Array,
  pa: number,
  sa: number,
  b: Float32Array,
  pb: number,
  sb: number,
  o: TypedArray,
  po: number,
  n: number,
): void {
  switch (op) {
    case "add":
      for (let i = 0; i < n; i++) o[po + i] = a[pa + i * sa] + b[pb + i * sb];
      return;
    case "sub":
      for (let i = 0; i < n; i++) o[po + i] = a[pa + i * sa] - b[pb + i * sb];
      return;
    case "mul":
      for (let i = 0; i < n; i++) o[po + i] = a[pa + i * sa] * b[pb + i * sb];
      return;
    case "div":
      for (let i = 0; i < n; i++) o[po + i] = a[pa + i * sa] / b[pb + i * sb];
      return;
    case "pow":
      for (let i = 0; i < n; i++) o[po + i] = Math.pow(a[pa + i * sa], b[pb + i * sb]);
      return;
    case "eq":
      for (let i = 0; i < n; i++) o[po + i] = +(a[pa + i * sa] === b[pb + i * sb]);
      return;
    case "lt":
      for (let i = 0; i < n; i++) o[po + i] = +(a[pa + i * sa] < b[pb + i * sb]);
      return;
    case "gt":
      for (let i = 0; i < n; i++) o[po + i] = +(a[pa + i * sa] > b[pb + i * sb]);
      return;
  }
}

/**
 * {@link binaryRow} for int32 operands, a separate function so each stays
 * compiled for one array type. Sums and products wrap like int32 (`mul`
 * through `Math.imul`: a float product would round); `div` truncates
 * toward zero on the store.
 */
export function binaryRowInt(
  op: BinaryOp,
  a: Int32Array,
  pa: number,
  sa: number,
  b: Int32Array,
  pb: number,
  sb: number,
  o: TypedArray,
  po: number,
  n: number,
): void {
  switch (op) {
    case "add":
      for (let i = 0; i < n; i++) o[po + i] = a[pa + i * sa] + b[pb + i * sb];
      return;
    case "sub":
      for (let i = 0; i < n; i++) o[po + i] = a[pa + i * sa] - b[pb + i * sb];
      return;
    case "mul":
      for (let i = 0; i < n; i++) o[po + i] = Math.imul(a[pa + i * sa], b[pb + i * sb]);
      return;
    case "div":
      for (let i = 0; i < n; i++) o[po + i] = a[pa + i * sa] / b[pb + i * sb];
      return;
    case "pow":
      for (let i = 0; i < n; i++) o[po + i] = Math.pow(a[pa + i * sa], b[pb + i * sb]);
      return;
    case "eq":
      for (let i = 0; i < n; i++) o[po + i] = +(a[pa + i * sa] === b[pb + i * sb]);
      return;
    case "lt":
      for (let i = 0; i < n; i++) o[po + i] = +(a[pa + i * sa] < b[pb + i * sb]);
      return;
    case "gt":
      for (let i = 0; i < n; i++) o[po + i] = +(a[pa + i * sa] > b[pb + i * sb]);
      return;
  }
}

/** `o[po + i] = op(x[px + i·sx])` for i < n. */
export function unaryRow(
  op: UnaryOp,
  x: TypedArray,
  px: number,
  sx: number,
  o: TypedArray,
  po: number,
  n: number,
): void {
  switch (op) {
    case "neg":
      for (let i = 0; i < n; i++) o[po + i] = -x[px + i * sx];
      return;
    case "abs":
      for (let i = 0; i < n; i++) o[po + i] = Math.abs(x[px + i * sx]);
      return;
    case "relu":
      for (let i = 0; i < n; i++) {
        const v = x[px + i * sx];
        o[po + i] = v <= 0 ? 0 : v; // NaN stays NaN, as in PyTorch
      }
      return;
    case "sign":
      for (let i = 0; i < n; i++) {
        const v = x[px + i * sx];
        o[po + i] = v > 0 ? 1 : v < 0 ? -1 : 0;
      }
      return;
    case "exp":
      for (let i = 0; i < n; i++) o[po + i] = Math.exp(x[px + i * sx]);
      return;
    case "log":
      for (let i = 0; i < n; i++) o[po + i] = Math.log(x[px + i * sx]);
      return;
    case "sqrt":
      for (let i = 0; i < n; i++) o[po + i] = Math.sqrt(x[px + i * sx]);
      return;
    case "tanh":
      for (let i = 0; i < n; i++) o[po + i] = Math.tanh(x[px + i * sx]);
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) o[po + i] = sigmoid(x[px + i * sx]);
      return;
    case "gelu":
      for (let i = 0; i < n; i++) o[po + i] = gelu(x[px + i * sx]);
      return;
    case "geluGrad":
      for (let i = 0; i < n; i++) o[po + i] = geluGrad(x[px + i * sx]);
      return;
  }
}

/** `o[po + i·so] = x[px + i·sx]` for i < n (converting on store). */
export function copyRow(
  x: TypedArray,
  px: number,
  sx: number,
  o: TypedArray,
  po: number,
  so: number,
  n: number,
): void {
  if (sx === 1 && so === 1) {
    for (let i = 0; i < n; i++) o[po + i] = x[px + i];
  } else {
    for (let i = 0; i < n; i++) o[po + i * so] = x[px + i * sx];
  }
}

/** Side of the square tiles of {@link copyTile}: 32 × 32 floats stay in L1 cache. */
const TILE = 32;

/**
 * `o[po + i·som + k·son] = x[px + i + k·sxn]` for i < m, k < n (x dense
 * along i, strided along k): in TILE × TILE tiles, k fastest within a tile.
 */
export function copyTile(
  x: TypedArray,
  px: number,
  sxn: number,
  o: TypedArray,
  po: number,
  som: number,
  son: number,
  m: number,
  n: number,
): void {
  for (let i0 = 0; i0 < m; i0 += TILE) {
    const i1 = Math.min(i0 + TILE, m);
    for (let k0 = 0; k0 < n; k0 += TILE) {
      const k1 = Math.min(k0 + TILE, n);
      for (let i = i0; i < i1; i++) {
        let p = px + i + k0 * sxn, q = po + i * som + k0 * son;
        for (let k = k0; k < k1; k++, p += sxn, q += son) o[q] = x[p];
      }
    }
  }
}

/**
 * `o[po + i] = c[pc + i·sc] !== 0 ? a[pa + i·sa] : b[pb + i·sb]` for i < n,
 * on the 32-bit patterns of a, b and o (either dtype, NaN payloads kept):
 * a mask selects, so a random condition costs no mispredicted branch.
 */
export function whereRow(
  c: TypedArray,
  pc: number,
  sc: number,
  a: Int32Array,
  pa: number,
  sa: number,
  b: Int32Array,
  pb: number,
  sb: number,
  o: Int32Array,
  po: number,
  n: number,
): void {
  // All ones or zero (NaN !== 0 picks a); shifts, as -(bool) could make a
  // -0 that sends the optimized loop back to the interpreter.
  if (sc === 1 && sa === 1 && sb === 1) {
    for (let i = 0; i < n; i++) {
      const m = (+(c[pc + i] !== 0) << 31) >> 31;
      o[po + i] = (a[pa + i] & m) | (b[pb + i] & ~m);
    }
  } else if (sc === 1 && sa === 1 && sb === 0) {
    const v = b[pb];
    for (let i = 0; i < n; i++) {
      const m = (+(c[pc + i] !== 0) << 31) >> 31;
      o[po + i] = (a[pa + i] & m) | (v & ~m);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const m = (+(c[pc + i * sc] !== 0) << 31) >> 31;
      o[po + i] = (a[pa + i * sa] & m) | (b[pb + i * sb] & ~m);
    }
  }
}
