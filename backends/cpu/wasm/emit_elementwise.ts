/**
 * Generators for the elementwise, reduction and Adam kernels of the wasm
 * module. Every kernel runs an f32x4 loop (two vectors per iteration where
 * it helps) and finishes with a scalar tail, so any length and any 4-byte
 * aligned pointer work.
 *
 * @module
 */

import { F32, FuncBuilder, I32, V128 } from "./assembler.ts";
import type { ModuleBuilder } from "./module_builder.ts";
import {
  BINARY_FORMS,
  type MapForm,
  mapKernelName,
  WASM_BINARY_OPS,
  WASM_UNARY_OPS,
  type WasmBinaryOp,
  type WasmUnaryOp,
} from "./exports.ts";
import { type Consts, expVec, logVec, sigmoidVec, tanhVec } from "./emit_math.ts";

type Vec = (f: FuncBuilder, c: Consts) => FuncBuilder | void;
/** The f32x4 and f32 instruction of each op, keyed by the op lists. */
const BINARY: Record<WasmBinaryOp, [vec: Vec, sca?: Vec]> = {
  add: [(f) => f.f32x4Add(), (f) => f.f32Add()],
  sub: [(f) => f.f32x4Sub(), (f) => f.f32Sub()],
  mul: [(f) => f.f32x4Mul(), (f) => f.f32Mul()],
  div: [(f) => f.f32x4Div(), (f) => f.f32Div()],
  // An all-ones lane mask and 1.0's bits give 1.0, a zero mask 0.0 (NaN
  // compares false, -0 equals 0, as in JavaScript).
  eq: [(f, c) => (f.f32x4Eq(), c.f32(1), f.v128And())],
  lt: [(f, c) => (f.f32x4Lt(), c.f32(1), f.v128And())],
  gt: [(f, c) => (f.f32x4Gt(), c.f32(1), f.v128And())],
};
/** Unary ops: the f32x4 code, and the f32 code where one instruction does it. */
const UNARY: Record<WasmUnaryOp, [vec: Vec, sca?: Vec]> = {
  // max(x, 0) keeps NaN (both max instructions propagate it), as PyTorch.
  relu: [(f, c) => (c.f32(0), f.f32x4Max()), (f) => f.f32Const(0).f32Max()],
  neg: [(f) => f.f32x4Neg(), (f) => f.f32Neg()],
  abs: [(f) => f.f32x4Abs(), (f) => f.f32Abs()],
  // Correctly rounded, as float64 Math.sqrt rounded to float32 is.
  sqrt: [(f) => f.f32x4Sqrt(), (f) => f.f32Sqrt()],
  exp: [expVec],
  log: [logVec],
  tanh: [tanhVec],
  sigmoid: [sigmoidVec],
};
/**
 * Operand kinds of each form: "v" a vector pointer, "s" an f32 scalar, "p"
 * a pointer to one f32 used as the scalar (a row kernel's broadcast value).
 */
const OPERANDS: Record<MapForm, ("v" | "s" | "p")[]> = {
  vv: ["v", "v"],
  vs: ["v", "s"],
  sv: ["s", "v"],
  vp: ["v", "p"],
  pv: ["p", "v"],
  v: ["v"],
};

/**
 * A map kernel `name(in..., out, n)`: inputs are "v" (pointer), "s" (f32
 * scalar) or "p" (pointer to the f32 scalar). `vec`/`sca` combine the
 * pushed operands into one value; without `sca` the scalar tail runs `vec`
 * on a splat and keeps lane 0.
 */
function map(
  mb: ModuleBuilder,
  name: string,
  ins: ("v" | "s" | "p")[],
  vec: Vec,
  sca?: Vec,
) {
  const { f } = mb.func(name, [
    ...ins.map((o) => o === "s" ? F32 : I32),
    I32,
    I32,
  ], []);
  const out = ins.length, n = ins.length + 1;
  const i = f.local(I32), end = f.local(I32), end8 = f.local(I32);
  const splat = ins.map((o, k) => {
    if (o === "v") return -1;
    const l = f.local(V128);
    if (o === "s") f.localGet(k).f32x4Splat().localSet(l);
    else f.localGet(k).v128Load32Splat().localSet(l);
    return l;
  });
  const c = hoistConsts(f, vec);
  f.localGet(n).i32Const(4).i32Mul().localSet(end);
  f.localGet(n).i32Const(-8).i32And().i32Const(4).i32Mul().localSet(end8);
  f.loopUntil(() => f.localGet(i).localGet(end8).i32GeU(), () => {
    for (const h of [0, 16]) {
      f.localGet(out).localGet(i).i32Add();
      ins.forEach((o, k) => {
        if (o === "v") f.localGet(k).localGet(i).i32Add().v128Load(h);
        else f.localGet(splat[k]);
      });
      vec(f, c);
      f.v128Store(h);
    }
    f.localGet(i).i32Const(32).i32Add().localSet(i);
  });
  f.loopUntil(() => f.localGet(i).localGet(end).i32GeU(), () => {
    f.localGet(out).localGet(i).i32Add();
    ins.forEach((o, k) => {
      if (o === "v") f.localGet(k).localGet(i).i32Add().f32Load();
      else if (o === "s") f.localGet(k);
      else f.localGet(k).f32Load();
      if (!sca) f.f32x4Splat();
    });
    if (sca) sca(f, c);
    else {
      vec(f, c);
      f.f32x4ExtractLane(0);
    }
    f.f32Store();
    f.localGet(i).i32Const(4).i32Add().localSet(i);
  });
}

/**
 * The constants `vec` uses, each set once into a local of `f` (emitted
 * where this is called: before the loops). A dry run of `vec` on a
 * scratch body lists them.
 */
function hoistConsts(f: FuncBuilder, vec: Vec): Consts {
  const key = (kind: string, x: number) =>
    kind + new Uint32Array((kind === "f" ? Float32Array : Int32Array).of(x).buffer)[0];
  const locals = new Map<string, number>();
  const want = (kind: "f" | "i", x: number) => {
    const k = key(kind, x);
    if (locals.has(k)) return;
    const l = f.local(V128);
    if (kind === "f") f.f32x4Const(x).localSet(l);
    else f.i32x4Const(x).localSet(l);
    locals.set(k, l);
  };
  vec(new FuncBuilder([], []), { f32: (x) => want("f", x), i32: (x) => want("i", x) });
  return {
    f32: (x) => f.localGet(locals.get(key("f", x))!),
    i32: (x) => f.localGet(locals.get(key("i", x))!),
  };
}

/** copy(x, out, n): n 32-bit words, bit for bit (float32 or int32). */
function copy(mb: ModuleBuilder) {
  const { f } = mb.func(mapKernelName("copy", "v"), [I32, I32, I32], []);
  const [x, out, n] = [0, 1, 2];
  const i = f.local(I32), end = f.local(I32), end8 = f.local(I32);
  f.localGet(n).i32Const(4).i32Mul().localSet(end);
  f.localGet(n).i32Const(-8).i32And().i32Const(4).i32Mul().localSet(end8);
  f.loopUntil(() => f.localGet(i).localGet(end8).i32GeU(), () => {
    for (const h of [0, 16]) {
      f.localGet(out).localGet(i).i32Add().localGet(x).localGet(i).i32Add().v128Load(h);
      f.v128Store(h);
    }
    f.localGet(i).i32Const(32).i32Add().localSet(i);
  });
  f.loopUntil(() => f.localGet(i).localGet(end).i32GeU(), () => {
    f.localGet(out).localGet(i).i32Add().localGet(x).localGet(i).i32Add().i32Load().i32Store();
    f.localGet(i).i32Const(4).i32Add().localSet(i);
  });
}

/** sum(p, n) → f32 with 16 independent partial sums (f32 accumulation). */
function sum(mb: ModuleBuilder): number {
  const { index, f } = mb.func("sum", [I32, I32], [F32]);
  const [p, n] = [0, 1];
  const i = f.local(I32), end16 = f.local(I32), end4 = f.local(I32);
  const end = f.local(I32);
  const acc = [0, 1, 2, 3].map(() => f.local(V128));
  const s = f.local(F32);
  f.f32Const(0).f32x4Splat().localSet(acc[0]);
  for (const a of acc.slice(1)) f.localGet(acc[0]).localSet(a);
  f.localGet(n).i32Const(4).i32Mul().localSet(end);
  f.localGet(n).i32Const(-16).i32And().i32Const(4).i32Mul().localSet(end16);
  f.localGet(n).i32Const(-4).i32And().i32Const(4).i32Mul().localSet(end4);
  f.loopUntil(() => f.localGet(i).localGet(end16).i32GeU(), () => {
    acc.forEach((a, k) => {
      f.localGet(a).localGet(p).localGet(i).i32Add().v128Load(16 * k);
      f.f32x4Add().localSet(a);
    });
    f.localGet(i).i32Const(64).i32Add().localSet(i);
  });
  f.loopUntil(() => f.localGet(i).localGet(end4).i32GeU(), () => {
    f.localGet(acc[0]).localGet(p).localGet(i).i32Add().v128Load();
    f.f32x4Add().localSet(acc[0]);
    f.localGet(i).i32Const(16).i32Add().localSet(i);
  });
  f.localGet(acc[0]).localGet(acc[1]).f32x4Add();
  f.localGet(acc[2]).localGet(acc[3]).f32x4Add().f32x4Add().localSet(acc[0]);
  f.localGet(acc[0]).f32x4ExtractLane(0).localGet(acc[0]).f32x4ExtractLane(1);
  f.f32Add();
  f.localGet(acc[0]).f32x4ExtractLane(2).localGet(acc[0]).f32x4ExtractLane(3);
  f.f32Add().f32Add().localSet(s);
  f.loopUntil(() => f.localGet(i).localGet(end).i32GeU(), () => {
    f.localGet(s).localGet(p).localGet(i).i32Add().f32Load().f32Add().localSet(s);
    f.localGet(i).i32Const(4).i32Add().localSet(i);
  });
  f.localGet(s);
  return index;
}

/** row_sum(p, rows, cols, out): out[r] = Σ_c p[r, c]. */
function rowSum(mb: ModuleBuilder, sumIndex: number) {
  const { f } = mb.func("row_sum", [I32, I32, I32, I32], []);
  const [p, rows, cols, out] = [0, 1, 2, 3];
  f.loopUntil(() => f.localGet(rows).i32Const(0).i32LeS(), () => {
    f.localGet(out).localGet(p).localGet(cols).call(sumIndex).f32Store();
    f.localGet(p).localGet(cols).i32Const(4).i32Mul().i32Add().localSet(p);
    f.localGet(out).i32Const(4).i32Add().localSet(out);
    f.localGet(rows).i32Const(1).i32Sub().localSet(rows);
  });
}

/** col_sum(p, rows, cols, out): out[c] = Σ_r p[r, c] (row by row, f32). */
function colSum(mb: ModuleBuilder) {
  const { f } = mb.func("col_sum", [I32, I32, I32, I32], []);
  const [p, rows, cols, out] = [0, 1, 2, 3];
  const j = f.local(I32), end = f.local(I32), end4 = f.local(I32);
  f.localGet(cols).i32Const(4).i32Mul().localSet(end);
  f.localGet(cols).i32Const(-4).i32And().i32Const(4).i32Mul().localSet(end4);
  // Zero the output.
  f.loopUntil(() => f.localGet(j).localGet(end).i32GeU(), () => {
    f.localGet(out).localGet(j).i32Add().f32Const(0).f32Store();
    f.localGet(j).i32Const(4).i32Add().localSet(j);
  });
  // Rows.
  f.loopUntil(() => f.localGet(rows).i32Const(0).i32LeS(), () => {
    f.i32Const(0).localSet(j);
    f.loopUntil(() => f.localGet(j).localGet(end4).i32GeU(), () => {
      f.localGet(out).localGet(j).i32Add();
      f.localGet(out).localGet(j).i32Add().v128Load();
      f.localGet(p).localGet(j).i32Add().v128Load().f32x4Add().v128Store();
      f.localGet(j).i32Const(16).i32Add().localSet(j);
    });
    f.loopUntil(() => f.localGet(j).localGet(end).i32GeU(), () => {
      f.localGet(out).localGet(j).i32Add();
      f.localGet(out).localGet(j).i32Add().f32Load();
      f.localGet(p).localGet(j).i32Add().f32Load().f32Add().f32Store();
      f.localGet(j).i32Const(4).i32Add().localSet(j);
    });
    f.localGet(p).localGet(end).i32Add().localSet(p);
    f.localGet(rows).i32Const(1).i32Sub().localSet(rows);
  });
}

/**
 * adam(p, g, m, v, n, wd, b1, omb1, b2, omb2, decay, negStep, sqrtBc2, eps,
 * useWd) — PyTorch 1.13 single-tensor Adam/AdamW, in its operation order:
 * g' = g + wd·p (if useWd); m = m·b1 + omb1·g'; v = v·b2 + (omb2·g')·g';
 * p = p·decay; p = p + (negStep·m) / (sqrt(v)/sqrtBc2 + eps).
 */
function adam(mb: ModuleBuilder) {
  const params = [I32, I32, I32, I32, I32, ...Array(9).fill(F32), I32];
  const { f } = mb.func("adam", params, []);
  const [P, G, M, V, n] = [0, 1, 2, 3, 4];
  const consts = [5, 6, 7, 8, 9, 10, 11, 12, 13];
  const useWd = 14;
  const i = f.local(I32), end = f.local(I32), end4 = f.local(I32);
  const vc = consts.map((k) => {
    const l = f.local(V128);
    f.localGet(k).f32x4Splat().localSet(l);
    return l;
  });
  f.localGet(n).i32Const(4).i32Mul().localSet(end);
  f.localGet(n).i32Const(-4).i32And().i32Const(4).i32Mul().localSet(end4);
  for (const vec of [true, false]) {
    const T = vec ? V128 : F32;
    const c = vec ? vc : consts;
    const [wd, b1, omb1, b2, omb2, decay, negStep, sqrtBc2, eps] = c;
    const g = f.local(T), mm = f.local(T), vv = f.local(T);
    const ld = (ptr: number) =>
      vec
        ? f.localGet(ptr).localGet(i).i32Add().v128Load()
        : f.localGet(ptr).localGet(i).i32Add().f32Load();
    const st = () => vec ? f.v128Store() : f.f32Store();
    const add = () => vec ? f.f32x4Add() : f.f32Add();
    const mul = () => vec ? f.f32x4Mul() : f.f32Mul();
    const div = () => vec ? f.f32x4Div() : f.f32Div();
    const sqrt = () => vec ? f.f32x4Sqrt() : f.f32Sqrt();
    f.loopUntil(() => f.localGet(i).localGet(vec ? end4 : end).i32GeU(), () => {
      ld(G).localSet(g);
      f.localGet(useWd).if(() => {
        f.localGet(g).localGet(wd);
        ld(P);
        mul();
        add();
        f.localSet(g);
      });
      /** state = state·beta + (omBeta·g)[·g], stored and kept in `into`. */
      const moment = (ptr: number, beta: number, omBeta: number, sq: boolean, into: number) => {
        f.localGet(ptr).localGet(i).i32Add();
        ld(ptr).localGet(beta);
        mul();
        f.localGet(omBeta).localGet(g);
        mul();
        if (sq) {
          f.localGet(g);
          mul();
        }
        add();
        f.localTee(into);
        st();
      };
      moment(M, b1, omb1, false, mm);
      moment(V, b2, omb2, true, vv);
      f.localGet(P).localGet(i).i32Add();
      ld(P).localGet(decay);
      mul();
      f.localGet(negStep).localGet(mm);
      mul();
      f.localGet(vv);
      sqrt();
      f.localGet(sqrtBc2);
      div();
      f.localGet(eps);
      add();
      div();
      add();
      st();
      f.localGet(i).i32Const(vec ? 16 : 4).i32Add().localSet(i);
    });
  }
}

/** Adds every non-GEMM kernel to the module. */
export function addElementwise(mb: ModuleBuilder): void {
  for (const op of WASM_BINARY_OPS) {
    for (const form of BINARY_FORMS) {
      map(mb, mapKernelName(op, form), OPERANDS[form], ...BINARY[op]);
    }
  }
  for (const op of WASM_UNARY_OPS) map(mb, mapKernelName(op, "v"), OPERANDS.v, ...UNARY[op]);
  copy(mb);
  const s = sum(mb);
  rowSum(mb, s);
  colSum(mb);
  adam(mb);
}
