/**
 * Ops that only change metadata (a view of the same storage), plus the
 * row gather that Embedding uses, each beside its gradient rule.
 *
 * @module
 */
import { type GradRules, noGrad, record } from "./graph.ts";
import { empty, view } from "./_op_helpers.ts";
import { clone } from "./ops_elementwise.ts";
import { zeros } from "./factories.ts";
import { checkShape, contiguousStrides, describe, fmtShape, normDim, numel } from "./shape.ts";
import { Tensor } from "./tensor.ts";

function inferShape(t: Tensor, shape: readonly number[]): number[] {
  const out = checkShape(shape, "reshape()", true);
  const free = out.indexOf(-1);
  if (out.some((s, i) => s === -1 && i !== free)) {
    throw new RangeError(`reshape(): only one size may be -1, got ${fmtShape(shape)}`);
  }
  if (free >= 0) {
    const rest = out.reduce((p, s, i) => (i === free ? p : p * s), 1);
    if (rest === 0) {
      throw new RangeError(
        `reshape(): cannot infer the -1 in ${fmtShape(shape)}: the other sizes multiply to 0`,
      );
    }
    out[free] = t.size / rest;
  }
  if (numel(out) !== t.size || !Number.isInteger(out[free] ?? 0)) {
    throw new RangeError(
      `Cannot reshape a tensor of shape ${fmtShape(t.shape)} (${t.size} elements) to ${
        fmtShape(shape)
      }`,
    );
  }
  return out;
}

/** Same elements, new shape; a view when the layout allows, else a copy. */
export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  const s = inferShape(t, shape);
  if (t.isContiguous) {
    return record(view(t, s, contiguousStrides(s)), "reshape", [t], { shape: t.shape });
  }
  const c = noGrad(() => clone(t));
  const out = record(view(c, s, contiguousStrides(s)), "reshape", [t], { shape: t.shape });
  c.dispose();
  return out;
}

/** Reorders dims. */
export function permute(t: Tensor, dims: readonly number[]): Tensor {
  if (!Array.isArray(dims)) {
    throw new TypeError(`permute(): dims must be an array of integers, got ${describe(dims)}`);
  }
  const d: number[] = [];
  for (let i = 0; i < dims.length; i++) {
    if (!(i in dims)) throw new TypeError(`permute(): dims ${describe(dims)} have a hole`);
    d.push(normDim(dims[i], t.ndim, "permute(): dim"));
  }
  if (d.length !== t.ndim || new Set(d).size !== d.length) {
    throw new RangeError(
      `permute(): [${dims.join(",")}] is not a permutation of the dims of a tensor of shape ${
        fmtShape(t.shape)
      }`,
    );
  }
  const out = view(t, d.map((i) => t.shape[i]), d.map((i) => t.strides[i]));
  return record(out, "permute", [t], { dims: d });
}

/** Swaps two dims. */
export function transpose(t: Tensor, dim0: number, dim1: number): Tensor {
  const a = normDim(dim0, t.ndim, "transpose(): dim0"),
    b = normDim(dim1, t.ndim, "transpose(): dim1");
  if (t.ndim === 0) return record(view(t, [], []), "permute", [t], { dims: [] });
  const dims = [...t.shape.keys()];
  [dims[a], dims[b]] = [dims[b], dims[a]];
  return permute(t, dims);
}

/** Inserts a size-1 dim. */
export function unsqueeze(t: Tensor, dim: number): Tensor {
  const d = normDim(dim, t.ndim + 1, "unsqueeze(): dim");
  const shape = [...t.shape], strides = [...t.strides];
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < t.ndim ? t.strides[d] * t.shape[d] : 1);
  return record(view(t, shape, strides), "reshape", [t], { shape: t.shape });
}

/** Removes size-1 dims (all, or only `dim`). */
export function squeeze(t: Tensor, dim?: number): Tensor {
  const drop = dim === undefined
    ? t.shape.map((s, i) => (s === 1 ? i : -1)).filter((i) => i >= 0)
    : [normDim(dim, t.ndim, "squeeze(): dim")].filter((i) => t.shape[i] === 1);
  const shape = t.shape.filter((_, i) => !drop.includes(i));
  const strides = t.strides.filter((_, i) => !drop.includes(i));
  return record(view(t, shape, strides), "reshape", [t], { shape: t.shape });
}

/** Broadcasts to `shape` without copying (stride 0). */
export function expand(t: Tensor, shape: readonly number[]): Tensor {
  checkShape(shape, "expand()", true);
  const lead = shape.length - t.ndim;
  const bad = () =>
    new RangeError(
      `expand(): cannot expand a tensor of shape ${fmtShape(t.shape)} to ${fmtShape(shape)}`,
    );
  if (lead < 0) throw bad();
  const out: number[] = [], strides: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    const src = i < lead ? 1 : t.shape[i - lead];
    const want = shape[i] === -1 && i >= lead ? src : shape[i];
    if (!Number.isInteger(want) || want < 0 || (src !== want && src !== 1)) throw bad();
    out.push(want);
    strides.push(i < lead || (src === 1 && want !== 1) ? 0 : t.strides[i - lead]);
  }
  return record(view(t, out, strides), "expand", [t], {});
}

/** `length` entries of `dim` starting at `start`. */
export function narrow(t: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normDim(dim, t.ndim, "narrow(): dim");
  if (t.ndim === 0) throw new RangeError("narrow(): a 0-d tensor has no dim to narrow");
  if (typeof start !== "number" || typeof length !== "number") {
    throw new TypeError(
      `narrow(): start and length must be integers, got ${describe(start)} and ${describe(length)}`,
    );
  }
  const n = t.shape[d];
  // A negative start counts from the end, as in PyTorch.
  const s0 = start < 0 ? start + n : start;
  if (
    !Number.isInteger(start) || !Number.isInteger(length) || s0 < 0 || length < 0 ||
    s0 + length > n
  ) {
    throw new RangeError(
      `narrow(): start ${start} and length ${length} are out of range for dim ${dim} of size ${n}`,
    );
  }
  start = s0;
  const shape = [...t.shape];
  shape[d] = length;
  const out = view(t, shape, t.strides, t.offset + start * t.strides[d]);
  return record(out, "narrow", [t], { dim: d, start, shape: t.shape });
}

/** Entries of `dim` picked by a 1-D int32 index; gradient scatter-adds. */
export function indexSelect(t: Tensor, dim: number, index: Tensor): Tensor {
  const d = normDim(dim, t.ndim, "indexSelect(): dim");
  if (!(index instanceof Tensor)) {
    throw new TypeError(`indexSelect(): index must be a Tensor, got ${describe(index)}`);
  }
  if (t.ndim === 0) throw new RangeError("indexSelect(): a 0-d tensor has no dim to index");
  if (index.dtype !== "int32" || index.ndim !== 1) {
    throw new TypeError(
      `indexSelect(): index must be a 1-D int32 tensor, got ${index.dtype} of shape ${
        fmtShape(index.shape)
      }`,
    );
  }
  if (index._backend !== t._backend) {
    throw new TypeError(
      `indexSelect(): tensors are on different backends ("${t.backend}" and "${index.backend}")`,
    );
  }
  const src = d === 0 ? t : noGrad(() => t.transpose(0, d));
  const shape = [index.shape[0], ...src.shape.slice(1)];
  const out = empty(shape, t.dtype, t._backend);
  try {
    t._backend.gather(src._view(), index._view(), out._storage.buffer);
  } catch (e) {
    out.dispose();
    // The backend checks index values where it can read them (the CPU).
    if (e instanceof RangeError) throw new RangeError(`indexSelect(): ${e.message}`);
    throw e;
  } finally {
    if (src !== t) src.dispose();
  }
  const result = d === 0 ? out : noGrad(() => out.transpose(0, d));
  if (result !== out) out.dispose();
  if (t.dtype !== "float32") return result;
  return record(result, "indexSelect", [t], { dim: d, index, shape: t.shape });
}

/** Gradient rules of this file's ops. */
export const viewRules: GradRules<"reshape" | "permute" | "expand" | "narrow" | "indexSelect"> = {
  reshape: (g, c) => [g.reshape(c.saved.shape)],
  permute: (g, c) => {
    const dims = c.saved.dims;
    const inv = new Array<number>(dims.length);
    dims.forEach((d, i) => (inv[d] = i));
    return [g.permute(inv)];
  },
  expand: (g) => [g],
  narrow: (g, c) => {
    const { dim, start, shape } = c.saved;
    const z = zeros(shape, { backend: g.backend });
    z.narrow(dim, start, g.shape[dim]).assign(g);
    return [z];
  },
  indexSelect: (g, c) => {
    const { dim, index, shape } = c.saved;
    const src = dim === 0 ? g : g.transpose(0, dim);
    const rows = dim === 0 ? shape : src.shape.map((s, i) => (i === 0 ? shape[dim] : s));
    const acc = zeros(rows, { backend: g.backend });
    acc._scatterAdd(index, src);
    return [dim === 0 ? acc : acc.transpose(0, dim)];
  },
};
