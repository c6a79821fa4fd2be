/**
 * The ops: each validates its inputs before touching storage (so a failed op
 * changes nothing), allocates its output, calls one backend primitive (or a
 * composition of them) and records one autograd node.
 *
 * @module
 */
import type {
  Backend,
  BinaryOp,
  DeferredCheck,
  DType,
  TypedArray,
  UnaryOp,
} from "../backends/backend.ts";
import { record } from "./autograd.ts";
import { Storage } from "./memory.ts";
import {
  broadcastShapes,
  broadcastStrides,
  checkShape,
  describe,
  fmtShape,
  numel,
  sameShape,
} from "./shape.ts";
import { Tensor, type TensorLike } from "./tensor.ts";

/**
 * A fresh contiguous tensor on `backend`. The shape is checked again here,
 * whatever the op computed, so no NaN or fractional size reaches storage.
 */
export function empty(shape: readonly number[], dtype: DType, backend: Backend): Tensor {
  checkShape(shape, "alloc");
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

/**
 * A fresh tensor whose values `fill` makes on the host. The storage is
 * allocated first, so a request the backend refuses costs no host array
 * (and `fill`, e.g. the seeded generator, does not run).
 */
export function filledBy(
  shape: readonly number[],
  dtype: DType,
  backend: Backend,
  fill: (n: number) => TypedArray,
): Tensor {
  const t = empty(shape, dtype, backend);
  try {
    const data = fill(t.size);
    if (data.length > 0) backend.write(t._storage.buffer, data);
  } catch (e) {
    t.dispose();
    throw e;
  }
  return t;
}

/** A tensor of one repeated value. */
export function full(
  shape: readonly number[],
  value: number,
  dtype: DType,
  backend: Backend,
): Tensor {
  return filledBy(
    shape,
    dtype,
    backend,
    (n) => (dtype === "int32" ? new Int32Array(n) : new Float32Array(n)).fill(value),
  );
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
    throw new TypeError(
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

const INT32_MIN = -2147483648, INT32_MAX = 2147483647;

/** True for a number an int32 tensor holds exactly (−0 is a float: its sign matters). */
export function isInt32(x: number): boolean {
  return Number.isInteger(x) && x >= INT32_MIN && x <= INT32_MAX && !Object.is(x, -0);
}

/** Checks an operand is a tensor or a number (before anything is made). */
function checkOperand(x: unknown, what: string): void {
  if (!(x instanceof Tensor) && typeof x !== "number") {
    throw new TypeError(`${what}: expected a Tensor or a number, got ${describe(x)}`);
  }
}

/**
 * Turns a number into a scalar tensor beside `like`: int32 when `like` is
 * int32 and the number is an int32 value, else float32.
 */
function lift(x: TensorLike, like: Tensor, what: string): Tensor {
  checkOperand(x, what);
  if (x instanceof Tensor) return x;
  const dtype = like.dtype === "int32" && isInt32(x) ? "int32" : "float32";
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
  const saved: Record<string, unknown> = op === "pow" ? { out } : {};
  if (b0 !== y) saved.scalar = y;
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
  return t.dtype === "float32" ? record(out, "alias", [t]) : out;
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
    return;
  }
  for (const [s, d] of pairs) assign(d, s);
}
