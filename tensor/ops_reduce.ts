/**
 * Reductions and the softmax family, each beside its gradient rule.
 *
 * @module
 */
import type { ReduceOp } from "../backends/backend.ts";
import { type GradRules, noGrad, record } from "./graph.ts";
import { empty, requireFloat } from "./_op_helpers.ts";
import { fmtShape, normDim, normDims } from "./shape.ts";
import type { Tensor } from "./tensor.ts";

function reduceRaw(op: ReduceOp, x: Tensor, axes: readonly number[]): Tensor {
  const kept = x.shape.map((s, d) => (axes.includes(d) ? 1 : s));
  const out = empty(kept, op === "argmax" ? "int32" : x.dtype, x._backend);
  x._backend.reduce(op, x._view(), axes, out._storage.buffer);
  return out;
}

function dropAxes(t: Tensor, axes: readonly number[], keepdim: boolean): Tensor {
  if (keepdim || axes.length === 0) return t;
  const shape = t.shape.filter((_, d) => !axes.includes(d));
  const v = t.reshape(shape);
  t.dispose();
  return v;
}

/** Sum over dims (all when omitted). */
export function sum(
  x: Tensor,
  dim: number | readonly number[] | undefined,
  keepdim: boolean,
): Tensor {
  const axes = normDims(dim, x.ndim, "sum()");
  const out = noGrad(() => dropAxes(reduceRaw("sum", x, axes), axes, keepdim));
  return x.dtype === "float32" ? record(out, "sum", [x], { axes, keepdim }) : out;
}

/** Mean over dims (all when omitted). */
export function mean(
  x: Tensor,
  dim: number | readonly number[] | undefined,
  keepdim: boolean,
): Tensor {
  requireFloat(x, "mean()");
  const axes = normDims(dim, x.ndim, "mean()");
  const count = axes.reduce((p, d) => p * x.shape[d], 1);
  const s = sum(x, axes, keepdim);
  const out = s.div(count);
  s.dispose();
  return out;
}

/** Maximum over dims (all when omitted); ties share the gradient. */
export function max(
  x: Tensor,
  dim: number | readonly number[] | undefined,
  keepdim: boolean,
): Tensor {
  const axes = normDims(dim, x.ndim, "max()");
  // As PyTorch: an error only when a reduced dim (or the whole tensor) is empty.
  const empty = dim === undefined ? x.size === 0 : axes.some((d) => x.shape[d] === 0);
  if (empty) {
    throw new RangeError(
      `max(): cannot reduce over an empty dim of a tensor of shape ${fmtShape(x.shape)}`,
    );
  }
  const kept = reduceRaw("max", x, axes);
  const keptShape = kept.shape;
  const out = noGrad(() => dropAxes(kept, axes, keepdim));
  if (x.dtype !== "float32") return out;
  return record(out, "max", [x], { axes, keptShape, out });
}

/** Index of the maximum along one dim (int32, dim removed). */
export function argmax(x: Tensor, dim: number): Tensor {
  const d = normDim(dim, x.ndim, "argmax(): dim");
  if (x.ndim === 0) return zerosInt(x);
  if (x.shape[d] === 0) {
    throw new RangeError(
      `argmax(): dim ${dim} of a tensor of shape ${fmtShape(x.shape)} is empty`,
    );
  }
  return dropAxes(reduceRaw("argmax", x, [d]), [d], false);
}

function zerosInt(x: Tensor): Tensor {
  const out = empty([], "int32", x._backend);
  x._backend.write(out._storage.buffer, new Int32Array(1));
  return out;
}

/** Softmax (or log-softmax) along `dim`, max-shifted for stability. */
export function softmax(x: Tensor, dim: number, log: boolean): Tensor {
  requireFloat(x, log ? "logSoftmax()" : "softmax()");
  const d = normDim(dim, x.ndim, log ? "logSoftmax(): dim" : "softmax(): dim");
  if (x.ndim === 0) {
    // One element: compute it as a row of one, record the node on x itself.
    const y = noGrad(() => {
      const x1 = x.reshape([1]), y1 = softmax(x1, 0, log), y0 = y1.reshape([]);
      x1.dispose();
      y1.dispose();
      return y0;
    });
    return record(y, log ? "logSoftmax" : "softmax", [x], { dim: 0, out: y });
  }
  const fused = log ? x._backend.fused?.logSoftmax : x._backend.fused?.softmax;
  const out = noGrad(() => {
    if (fused && d === x.ndim - 1 && x.isContiguous) {
      const o = empty(x.shape, "float32", x._backend);
      fused(x._view(), o._storage.buffer);
      return o;
    }
    return softmaxComposed(x, d, log);
  });
  return record(out, log ? "logSoftmax" : "softmax", [x], { dim: d, out });
}

/** The composed softmax, from primitives (also the fused path's reference). */
export function softmaxComposed(x: Tensor, d: number, log: boolean): Tensor {
  const m = reduceRaw("max", x, [d]);
  const shifted = x.sub(m);
  m.dispose();
  const e = shifted.exp();
  const s = e.sum(d, { keepdim: true });
  let out: Tensor;
  if (log) {
    const ls = s.log();
    out = shifted.sub(ls);
    ls.dispose();
  } else out = e.div(s);
  shifted.dispose();
  e.dispose();
  s.dispose();
  return out;
}

/** Gradient rules of this file's ops. */
export const reduceRules: GradRules<"sum" | "max" | "softmax" | "logSoftmax"> = {
  sum: (g, c) => {
    const { axes, keepdim } = c.saved;
    const x = c.inputs[0];
    const kept = x.shape.map((s, d) => (axes.includes(d) ? 1 : s));
    return [(keepdim ? g : g.reshape(kept)).expand(x.shape)];
  },
  max: (g, c) => {
    const { axes, keptShape, out } = c.saved;
    const x = c.inputs[0];
    const mask = x.eq(out.reshape(keptShape));
    const count = mask.sum(axes, { keepdim: true });
    return [g.reshape(keptShape).mul(mask).div(count)];
  },
  softmax: (g, c) => {
    const { dim, out } = c.saved;
    const dot = g.mul(out).sum(dim, { keepdim: true });
    return [g.sub(dot).mul(out)];
  },
  logSoftmax: (g, c) => {
    const { dim, out } = c.saved;
    return [g.sub(out.exp().mul(g.sum(dim, { keepdim: true })))];
  },
};
