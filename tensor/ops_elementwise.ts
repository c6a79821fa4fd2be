/**
 * Elementwise ops (arithmetic with broadcasting and dtype promotion,
 * comparisons, unary functions, `where`) and the copies between views
 * (cast, clone, assign), each beside its gradient rule.
 *
 * @module
 */
import type { BinaryOp, DeferredCheck, DType, UnaryOp } from "../backends/backend.ts";
import { type BinarySaved, type GradRules, record } from "./graph.ts";
import {
  broadcastView,
  checkOperand,
  empty,
  lift,
  requireFloat,
  sameBackend,
  view,
} from "./_op_helpers.ts";
import { broadcastShapes, describe, fmtShape, sameShape } from "./shape.ts";
import { Tensor, type TensorLike } from "./tensor.ts";

/** Casts to `dtype` (no graph through int32). */
export function cast(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === dtype) return alias(t);
  const out = empty(t.shape, dtype, t._backend);
  t._backend.cast(t._view(), dtype, out._storage.buffer);
  return out;
}

/** A new view of the same elements, gradient passing straight through. */
export function alias(t: Tensor): Tensor {
  return record(view(t, t.shape, t.strides), "alias", [t], {});
}

function promote(a: Tensor, b: Tensor, float: boolean): [Tensor, Tensor, boolean] {
  if (a.dtype === b.dtype && !(float && a.dtype === "int32")) return [a, b, false];
  return [cast(a, "float32"), cast(b, "float32"), true];
}

function binaryRaw(op: BinaryOp, a: Tensor, b: Tensor, shape: readonly number[]): Tensor {
  const out = empty(shape, a.dtype, a._backend);
  a._backend.binary(op, broadcastView(a, shape), broadcastView(b, shape), out._storage.buffer);
  return out;
}

/** The differentiable binary ops. */
export type ArithOp = "add" | "sub" | "mul" | "div" | "pow";

/** An arithmetic op with broadcasting and dtype promotion. */
export function binary(op: ArithOp, x: Tensor, y: TensorLike): Tensor {
  checkOperand(y, `${op}()`);
  if (y instanceof Tensor) sameBackend(x, y, op);
  const shape = broadcastShapes(x.shape, y instanceof Tensor ? y.shape : [], `${op}()`);
  const b0 = lift(y, x, `${op}()`);
  const [a, b, made] = promote(x, b0, op === "div" || op === "pow");
  const out = binaryRaw(op, a, b, shape);
  if (made) {
    if (a !== x) a.dispose();
    if (b !== b0) b.dispose();
  }
  if (b0 !== y) b0.dispose();
  if (out.dtype !== "float32") return out;
  // A number operand is saved as a number, not kept as a tensor input.
  const saved: BinarySaved = op === "pow" ? { out } : {};
  if (b0 !== y) saved.scalar = y as number;
  return record(out, op, b0 === y ? [x, b0] : [x], saved);
}

/** Comparison: float32 1/0. */
export function compare(op: "eq" | "lt" | "gt", x: Tensor, y: TensorLike): Tensor {
  checkOperand(y, `${op}()`);
  if (y instanceof Tensor) sameBackend(x, y, op);
  const shape = broadcastShapes(x.shape, y instanceof Tensor ? y.shape : [], `${op}()`);
  const b0 = lift(y, x, `${op}()`);
  const [a, b, made] = promote(x, b0, false);
  let out = binaryRaw(op, a, b, shape);
  if (made) {
    if (a !== x) a.dispose();
    if (b !== b0) b.dispose();
  }
  if (b0 !== y) b0.dispose();
  if (out.dtype !== "float32") {
    const f = cast(out, "float32");
    out.dispose();
    out = f;
  }
  return out;
}

const INT_OK: ReadonlySet<UnaryOp> = new Set(["neg", "abs", "relu", "sign"]);
/** Unary ops whose derivative is a function of the output (it is saved). */
const SAVES_OUT: ReadonlySet<UnaryOp> = new Set(["exp", "sqrt", "tanh", "sigmoid"]);
/** The unary ops that record a graph node (the others serve gradient rules). */
type DiffUnary = "neg" | "exp" | "log" | "sqrt" | "abs" | "relu" | "tanh" | "sigmoid" | "gelu";
const DIFF: ReadonlySet<UnaryOp> = new Set<DiffUnary>([
  "neg",
  "exp",
  "log",
  "sqrt",
  "abs",
  "relu",
  "tanh",
  "sigmoid",
  "gelu",
]);

/** An elementwise function of one tensor. */
export function unary(op: UnaryOp, x: Tensor): Tensor {
  if (!INT_OK.has(op)) requireFloat(x, `${op}()`);
  const out = empty(x.shape, x.dtype, x._backend);
  x._backend.unary(op, x._view(), out._storage.buffer);
  if (x.dtype !== "float32" || !DIFF.has(op)) return out;
  return record(out, op as DiffUnary, [x], SAVES_OUT.has(op) ? { out } : {});
}

/** `cond != 0 ? a : b`, broadcasting all three. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (!(cond instanceof Tensor)) {
    throw new TypeError(`where(): cond must be a Tensor, got ${describe(cond)}`);
  }
  checkOperand(a, "where()");
  checkOperand(b, "where()");
  if (a instanceof Tensor) sameBackend(cond, a, "where");
  if (b instanceof Tensor) sameBackend(cond, b, "where");
  const shapeOf = (v: TensorLike) => (v instanceof Tensor ? v.shape : []);
  const shape = broadcastShapes(
    broadcastShapes(cond.shape, shapeOf(a), "where()"),
    shapeOf(b),
    "where()",
  );
  const like = a instanceof Tensor ? a : b instanceof Tensor ? b : cond;
  const x0 = lift(a, like, "where()"), y0 = lift(b, like, "where()");
  const [x, y, made] = promote(x0, y0, false);
  const out = empty(shape, x.dtype, x._backend);
  x._backend.where(
    broadcastView(cond, shape),
    broadcastView(x, shape),
    broadcastView(y, shape),
    out._storage.buffer,
  );
  if (made) {
    if (x !== x0) x.dispose();
    if (y !== y0) y.dispose();
  }
  if (x0 !== a) x0.dispose();
  if (y0 !== b) y0.dispose();
  if (out.dtype !== "float32") return out;
  return record(out, "where", [cond, ...(x0 === a ? [x0] : []), ...(y0 === b ? [y0] : [])], {
    aIsTensor: x0 === a,
    bIsTensor: y0 === b,
  });
}

/** A contiguous copy (gradient passes through). */
export function clone(t: Tensor): Tensor {
  const out = empty(t.shape, t.dtype, t._backend);
  t._backend.copy(t._view(), out._view());
  return t.dtype === "float32" ? record(out, "alias", [t], {}) : out;
}

/** In-place value copy (outside autograd). */
export function assign(t: Tensor, src: TensorLike): void {
  checkOperand(src, "assign()");
  if (src instanceof Tensor) sameBackend(t, src, "assign");
  const srcShape = src instanceof Tensor ? src.shape : [];
  const shape = broadcastShapes(srcShape, t.shape, "assign()");
  if (!sameShape(shape, t.shape)) {
    throw new RangeError(
      `assign(): source shape ${fmtShape(srcShape)} does not broadcast to ${fmtShape(t.shape)}`,
    );
  }
  if (t.size > 0 && t.shape.some((s, i) => s > 1 && t.strides[i] === 0)) {
    throw new RangeError(
      `assign(): the target of shape ${
        fmtShape(t.shape)
      } is an expanded view (several elements share one memory location); assign to a contiguous copy`,
    );
  }
  const s0 = lift(src, t, "assign()");
  const s = s0.dtype === t.dtype ? s0 : cast(s0, t.dtype);
  t._backend.copy(broadcastView(s, t.shape), t._view());
  t._storage.version++;
  if (s !== s0) s.dispose();
  if (s0 !== src) s0.dispose();
}

/**
 * Package-internal (used by `lora.merge`): writes `src[i]` into `dst[i]` for
 * every pair, all or none, refusing non-finite values. Where the backend
 * reads synchronously the sources are checked here and `check.error(i)` is
 * thrown before anything is written; a backend with `checkedAssign` checks
 * on the device (its next read or sync throws, after `check.onFail()`);
 * elsewhere the values are written unchecked.
 *
 * @throws {RangeError} for pairs of different shapes (nothing is written).
 */
export function assignAllFinite(
  pairs: readonly (readonly [src: Tensor, dst: Tensor])[],
  check: DeferredCheck,
): void {
  for (const [s, d] of pairs) {
    requireFloat(s, check.op);
    requireFloat(d, check.op);
    sameBackend(s, d, check.op);
    if (!sameShape(s.shape, d.shape)) {
      throw new RangeError(
        `${check.op}: shapes ${fmtShape(s.shape)} and ${fmtShape(d.shape)} differ`,
      );
    }
  }
  if (pairs.length === 0) return;
  const backend = pairs[0][0]._backend;
  if (backend.readSync) {
    pairs.forEach(([s], i) => {
      const v = s.dataSync();
      for (let k = 0; k < v.length; k++) if (!Number.isFinite(v[k])) throw check.error(i);
    });
  } else if (backend.checkedAssign) {
    backend.checkedAssign(pairs.map(([s, d]) => [s._view(), d._view()] as const), check);
    for (const [, d] of pairs) d._storage.version++;
    return;
  }
  for (const [s, d] of pairs) assign(d, s);
}

/** The second operand of a binary op's rule: a tensor input or a saved number. */
function rhs(c: { inputs: readonly Tensor[]; saved: BinarySaved }): Tensor | number {
  return c.saved.scalar !== undefined ? c.saved.scalar : c.inputs[1];
}

/** Gradient rules of this file's ops. */
export const elementwiseRules: GradRules<"alias" | ArithOp | DiffUnary | "where"> = {
  alias: (g) => [g],
  add: (g) => [g, g],
  sub: (g, c) => [g, c.needs[1] ? g.neg() : null],
  mul: (g, c) => [c.needs[0] ? g.mul(rhs(c)) : null, c.needs[1] ? g.mul(c.inputs[0]) : null],
  div: (g, c) => {
    const b = rhs(c);
    return [
      c.needs[0] ? g.div(b) : null,
      c.needs[1] ? g.mul(c.out).div(b).neg() : null,
    ];
  },
  pow: (g, c) => {
    // An int32 base (promoted for the op) is read as float32 here too.
    const a = c.inputs[0].dtype === "int32" ? c.inputs[0].float() : c.inputs[0], b = rhs(c);
    const ga = c.needs[0] ? g.mul(b).mul(a.pow(typeof b === "number" ? b - 1 : b.sub(1))) : null;
    let gb: Tensor | null = null;
    if (c.needs[1]) {
      // d/db a^b = a^b·ln a, defined as 0 where a = 0 and b ≥ 0 (PyTorch).
      const raw = g.mul(c.saved.out!).mul(a.log());
      gb = where(a.eq(0).mul((b as Tensor).lt(0).neg().add(1)), 0, raw);
    }
    return [ga, gb];
  },
  neg: (g) => [g.neg()],
  exp: (g, c) => [g.mul(c.saved.out!)],
  log: (g, c) => [g.div(c.inputs[0])],
  sqrt: (g, c) => [g.div(c.saved.out!.mul(2))],
  abs: (g, c) => [g.mul(c.inputs[0]._unary("sign"))],
  relu: (g, c) => [g.mul(c.inputs[0].gt(0))],
  tanh: (g, c) => {
    const y = c.saved.out!;
    return [g.mul(y.mul(y).neg().add(1))];
  },
  sigmoid: (g, c) => {
    const y = c.saved.out!;
    return [g.mul(y.mul(y.neg().add(1)))];
  },
  gelu: (g, c) => [g.mul(c.inputs[0]._unary("geluGrad"))],
  where: (g, c) => {
    const { aIsTensor, bIsTensor } = c.saved;
    const cond = c.inputs[0];
    const out: (Tensor | null)[] = [null];
    let i = 1;
    if (aIsTensor) out.push(c.needs[i++] ? g.mul(cond.eq(0).neg().add(1)) : null);
    if (bIsTensor) out.push(c.needs[i++] ? g.mul(cond.eq(0)) : null);
    return out;
  },
};
