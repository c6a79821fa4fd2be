/**
 * matmul with torch.matmul's rules, and cat/stack, each beside its
 * gradient rule.
 *
 * @module
 */
import { type GradRules, noGrad, record, sumToShape } from "./graph.ts";
import { empty, requireFloat, sameBackend } from "./_op_helpers.ts";
import { broadcastShapes, broadcastStrides, describe, fmtShape, normDim } from "./shape.ts";
import { Tensor } from "./tensor.ts";

function batchView(t: Tensor, batch: readonly number[]) {
  const shape = [...batch, ...t.shape.slice(-2)];
  return { ...t._view(), shape, strides: broadcastStrides(t.shape, t.strides, shape) };
}

/** The ≥2-D case: broadcast batch dims, strided last two dims. */
function matmul2(a: Tensor, b: Tensor): Tensor {
  const [M, K] = a.shape.slice(-2), [K2, N] = b.shape.slice(-2);
  if (K !== K2) {
    throw new RangeError(
      `matmul(): inner dimensions differ: ${fmtShape(a.shape)} @ ${
        fmtShape(b.shape)
      } (${K} vs ${K2})`,
    );
  }
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), "matmul()");
  const out = empty([...batch, M, N], "float32", a._backend);
  a._backend.matmul(batchView(a, batch), batchView(b, batch), out._storage.buffer);
  return out;
}

/** Matrix product with torch.matmul's 1-D / 2-D / batched rules. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (!(b instanceof Tensor)) {
    throw new TypeError(`matmul(): the operand must be a Tensor, got ${describe(b)}`);
  }
  requireFloat(a, "matmul()");
  requireFloat(b, "matmul()");
  sameBackend(a, b, "matmul");
  if (a.ndim === 0 || b.ndim === 0) {
    throw new RangeError(
      `matmul(): both operands need at least 1 dim, got ${fmtShape(a.shape)} and ${
        fmtShape(b.shape)
      }`,
    );
  }
  const K = a.shape[a.ndim - 1], K2 = b.shape[b.ndim === 1 ? 0 : b.ndim - 2];
  if (K !== K2) {
    throw new RangeError(
      `matmul(): inner dimensions differ: ${fmtShape(a.shape)} @ ${
        fmtShape(b.shape)
      } (${K} vs ${K2})`,
    );
  }
  if (a.ndim >= 2 && b.ndim >= 2) return record(matmul2(a, b), "matmul", [a, b], {});
  // 1-D operands: lift to a row / column, then drop that dim again. The node
  // records the original operands; the rule undoes the lift.
  const out = noGrad(() => {
    const a2 = a.ndim === 1 ? a.unsqueeze(0) : a;
    const b2 = b.ndim === 1 ? b.unsqueeze(1) : b;
    const r = matmul2(a2, b2);
    const o = r.reshape(matmulShape(a.shape, b.shape));
    for (const t of [a2, b2, r]) if (t !== a && t !== b) t.dispose();
    return o;
  });
  return record(out, "matmul", [a, b], {});
}

/** torch.matmul's output shape for operands of these shapes. */
export function matmulShape(a: readonly number[], b: readonly number[]): number[] {
  const a2 = a.length === 1 ? [1, a[0]] : a, b2 = b.length === 1 ? [b[0], 1] : b;
  const batch = broadcastShapes(a2.slice(0, -2), b2.slice(0, -2));
  return [
    ...batch,
    ...(a.length === 1 ? [] : [a2[a2.length - 2]]),
    ...(b.length === 1 ? [] : [b2[b2.length - 1]]),
  ];
}

/**
 * Checks a list of tensors to join: an array of Tensors, at least one.
 *
 * @throws {TypeError} when it is not an array of Tensors.
 * @throws {RangeError} when it is empty.
 */
function checkList(tensors: unknown, what: string): asserts tensors is readonly Tensor[] {
  if (!Array.isArray(tensors)) {
    throw new TypeError(`${what}: expected an array of Tensors, got ${describe(tensors)}`);
  }
  if (tensors.length === 0) throw new RangeError(`${what} needs at least one tensor`);
  for (let i = 0; i < tensors.length; i++) {
    if (!(tensors[i] instanceof Tensor)) {
      throw new TypeError(
        `${what}: element ${i} is not a Tensor (${i in tensors ? describe(tensors[i]) : "a hole"})`,
      );
    }
  }
}

/** Joins tensors along an existing dim. */
export function cat(tensors: readonly Tensor[], dim: number): Tensor {
  checkList(tensors, "cat()");
  const first = tensors[0];
  const zeroD = tensors.findIndex((t) => t.ndim === 0);
  if (zeroD >= 0) {
    throw new RangeError(
      `cat(): tensor ${zeroD} is 0-d; zero-dimensional tensors cannot be concatenated (use stack)`,
    );
  }
  const d = normDim(dim, first.ndim, "cat(): dim");
  for (const t of tensors) {
    sameBackend(first, t, "cat");
    if (t.dtype !== first.dtype) {
      throw new TypeError(`cat(): dtypes differ: ${first.dtype} and ${t.dtype}`);
    }
    if (t.ndim !== first.ndim || t.shape.some((s, i) => i !== d && s !== first.shape[i])) {
      throw new RangeError(
        `cat(): shapes ${fmtShape(first.shape)} and ${fmtShape(t.shape)} differ outside dim ${dim}`,
      );
    }
  }
  const shape = [...first.shape];
  shape[d] = tensors.reduce((p, t) => p + t.shape[d], 0);
  const out = empty(shape, first.dtype, first._backend);
  let at = 0;
  noGrad(() => {
    for (const t of tensors) {
      const slot = out.narrow(d, at, t.shape[d]);
      first._backend.copy(t._view(), slot._view());
      slot.dispose();
      at += t.shape[d];
    }
  });
  if (first.dtype !== "float32") return out;
  return record(out, "cat", tensors, { dim: d, sizes: tensors.map((t) => t.shape[d]) });
}

/** Joins tensors along a new dim. */
export function stack(tensors: readonly Tensor[], dim: number): Tensor {
  checkList(tensors, "stack()");
  const d = normDim(dim, tensors[0].ndim + 1, "stack(): dim");
  for (const t of tensors) {
    sameBackend(tensors[0], t, "stack");
    if (t.dtype !== tensors[0].dtype) {
      throw new TypeError(`stack(): dtypes differ: ${tensors[0].dtype} and ${t.dtype}`);
    }
    if (t.ndim !== tensors[0].ndim || t.shape.some((s, i) => s !== tensors[0].shape[i])) {
      throw new RangeError(
        `stack(): shapes ${fmtShape(tensors[0].shape)} and ${fmtShape(t.shape)} differ`,
      );
    }
  }
  const parts = tensors.map((t) => t.unsqueeze(d));
  try {
    return cat(parts, d);
  } finally {
    for (const p of parts) p.dispose();
  }
}

function t2(x: Tensor): Tensor {
  return x.transpose(-1, -2);
}

/** Gradient rules of this file's ops. */
export const matmulRules: GradRules<"matmul" | "cat"> = {
  matmul: (g, c) => {
    const [a, b] = c.inputs;
    // Undo torch.matmul's lift of 1-D operands to a row / column.
    const a2 = a.ndim === 1 ? a.unsqueeze(0) : a, b2 = b.ndim === 1 ? b.unsqueeze(1) : b;
    const g2 = a.ndim === 1 && b.ndim === 1
      ? g.reshape([1, 1])
      : a.ndim === 1
      ? g.unsqueeze(-2)
      : b.ndim === 1
      ? g.unsqueeze(-1)
      : g;
    const back = (x: Tensor, like: Tensor, orig: Tensor) =>
      sumToShape(x, like.shape).reshape(orig.shape);
    return [
      c.needs[0] ? back(g2.matmul(t2(b2)), a2, a) : null,
      c.needs[1] ? back(t2(a2).matmul(g2), b2, b) : null,
    ];
  },
  cat: (g, c) => {
    const { dim, sizes } = c.saved;
    let at = 0;
    return sizes.map((n, i) => {
      const part = c.needs[i] ? g.narrow(dim, at, n) : null;
      at += n;
      return part;
    });
  },
};
