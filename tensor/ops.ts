/**
 * The ops: each validates its inputs before touching storage (so a failed op
 * changes nothing), allocates its output, calls one backend primitive (or a
 * composition of them) and records one autograd node.
 *
 * @module
 */
import type { Backend, BinaryOp, DType, TypedArray, UnaryOp } from "../backends/backend.ts";
import { record } from "./autograd.ts";
import { Storage } from "./memory.ts";
import { broadcastShapes, broadcastStrides, fmtShape, numel, sameShape } from "./shape.ts";
import { Tensor, type TensorLike } from "./tensor.ts";

/** A fresh contiguous tensor on `backend`. */
export function empty(shape: readonly number[], dtype: DType, backend: Backend): Tensor {
  return new Tensor(Storage.alloc(backend, numel(shape), dtype), shape);
}

/** A tensor holding `data` on `backend`. */
export function fromData(
  data: TypedArray,
  shape: readonly number[],
  backend: Backend,
): Tensor {
  const t = empty(shape, data instanceof Int32Array ? "int32" : "float32", backend);
  if (data.length > 0) backend.write(t._storage.buffer, data);
  return t;
}

/** A tensor of one repeated value. */
export function full(
  shape: readonly number[],
  value: number,
  dtype: DType,
  backend: Backend,
): Tensor {
  const n = numel(shape);
  const data = dtype === "int32" ? new Int32Array(n) : new Float32Array(n);
  data.fill(value);
  return fromData(data, shape, backend);
}

/** A view of `t`'s storage with new metadata. */
function view(
  t: Tensor,
  shape: readonly number[],
  strides: readonly number[],
  offset = t.offset,
): Tensor {
  return new Tensor(t._storage, shape, strides, offset);
}

function sameBackend(a: Tensor, b: Tensor, what: string): void {
  if (a._backend !== b._backend) {
    throw new Error(
      `${what}: tensors are on different backends ("${a.backend}" and "${b.backend}"); move one with await t.to("${a.backend}")`,
    );
  }
}

function requireFloat(t: Tensor, what: string): void {
  if (t.dtype !== "float32") {
    throw new TypeError(
      `${what} needs a float32 tensor, got ${t.dtype} of shape ${fmtShape(t.shape)}`,
    );
  }
}

/** Turns a number into a scalar tensor beside `like`. */
function lift(x: TensorLike, like: Tensor): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x !== "number") {
    throw new TypeError(`expected a Tensor or a number, got ${typeof x}`);
  }
  const dtype = like.dtype === "int32" && Number.isInteger(x) ? "int32" : "float32";
  return full([], x, dtype, like._backend);
}

/** Casts to `dtype` (no graph through int32). */
export function cast(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === dtype) return alias(t);
  const out = empty(t.shape, dtype, t._backend);
  t._backend.cast(t._view(), dtype, out._storage.buffer);
  return out;
}

/** A new view of the same elements, gradient passing straight through. */
export function alias(t: Tensor): Tensor {
  return record(view(t, t.shape, t.strides), "alias", [t]);
}

function broadcastView(t: Tensor, shape: readonly number[]) {
  return {
    ...t._view(),
    shape,
    strides: broadcastStrides(t.shape, t.strides, shape),
  };
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

/** An arithmetic op with broadcasting and dtype promotion. */
export function binary(op: BinaryOp, x: Tensor, y: TensorLike): Tensor {
  const b0 = lift(y, x);
  sameBackend(x, b0, op);
  const shape = broadcastShapes(x.shape, b0.shape);
  const [a, b, made] = promote(x, b0, op === "div" || op === "pow");
  const out = binaryRaw(op, a, b, shape);
  if (made) {
    if (a !== x) a.dispose();
    if (b !== b0) b.dispose();
  }
  if (b0 !== y) b0.dispose();
  if (out.dtype !== "float32") return out;
  // A number operand is saved as a number, not kept as a tensor input.
  const saved: Record<string, unknown> = op === "pow" ? { out } : {};
  if (b0 !== y) saved.scalar = y;
  return record(out, op, b0 === y ? [x, b0] : [x], saved);
}

/** Comparison: float32 1/0. */
export function compare(op: "eq" | "lt" | "gt", x: Tensor, y: TensorLike): Tensor {
  const b0 = lift(y, x);
  sameBackend(x, b0, op);
  const shape = broadcastShapes(x.shape, b0.shape);
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

/** An elementwise function of one tensor. */
export function unary(op: UnaryOp, x: Tensor): Tensor {
  if (!INT_OK.has(op)) requireFloat(x, `${op}()`);
  const out = empty(x.shape, x.dtype, x._backend);
  x._backend.unary(op, x._view(), out._storage.buffer);
  if (x.dtype !== "float32") return out;
  const saved = op === "exp" || op === "sqrt" || op === "tanh" || op === "sigmoid" ? { out } : {};
  return record(out, op, [x], saved);
}

/** `cond != 0 ? a : b`, broadcasting all three. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const like = a instanceof Tensor ? a : b instanceof Tensor ? b : cond;
  const x0 = lift(a, like), y0 = lift(b, like);
  sameBackend(cond, x0, "where");
  sameBackend(cond, y0, "where");
  const shape = broadcastShapes(broadcastShapes(cond.shape, x0.shape), y0.shape);
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
  return t.dtype === "float32" ? record(out, "alias", [t]) : out;
}

/** In-place value copy (outside autograd). */
export function assign(t: Tensor, src: TensorLike): void {
  const s0 = lift(src, t);
  sameBackend(t, s0, "assign");
  const shape = broadcastShapes(s0.shape, t.shape);
  if (!sameShape(shape, t.shape)) {
    throw new RangeError(
      `assign(): source shape ${fmtShape(s0.shape)} does not broadcast to ${fmtShape(t.shape)}`,
    );
  }
  const s = s0.dtype === t.dtype ? s0 : cast(s0, t.dtype);
  t._backend.copy(broadcastView(s, t.shape), t._view());
  if (s !== s0) s.dispose();
  if (s0 !== src) s0.dispose();
}

export { argmax, max, mean, softmax, sum } from "./_reduce_ops.ts";
export {
  expand,
  indexSelect,
  narrow,
  permute,
  reshape,
  squeeze,
  transpose,
  unsqueeze,
} from "./_view_ops.ts";
export { cat, matmul, stack } from "./_matmul_ops.ts";
export {
  empty as _empty,
  requireFloat as _requireFloat,
  sameBackend as _sameBackend,
  view as _view,
};
