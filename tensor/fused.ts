/**
 * Fused fast paths as tensor functions: each uses the backend's fused kernel
 * when it has one and the composed primitives otherwise, and records one
 * autograd node either way (so the gradient rule is shared).
 *
 * @module
 */
import { failSafe } from "./memory.ts";
import type { AdamArgs } from "../backends/backend.ts";
import { type GradRules, noGrad, record } from "./graph.ts";
import { empty, requireFloat, sameBackend } from "./_op_helpers.ts";
import { fmtShape } from "./shape.ts";
import type { Tensor } from "./tensor.ts";
import { arange } from "./factories.ts";

/**
 * `x·Wᵀ + b` over any leading dims of x: PyTorch's `F.linear`. No gradient
 * work is spent on a frozen W or b.
 *
 * @param x Input [..., in].
 * @param w Weight [out, in].
 * @param b Bias [out], optional.
 * @returns [..., out].
 * @throws {RangeError} when the feature sizes disagree.
 * @example
 * ```ts
 * import { linear, ones } from "../mod.ts";
 * const y = linear(ones([2, 3]), ones([4, 3]), ones([4])); // [2, 4]
 * ```
 */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  return failSafe(() => {
    requireFloat(x, "linear()");
    requireFloat(w, "linear()");
    sameBackend(x, w, "linear");
    if (b) sameBackend(x, b, "linear");
    const K = x.shape[x.ndim - 1], N = w.shape[0];
    if (w.ndim !== 2 || w.shape[1] !== K || (b && (b.ndim !== 1 || b.shape[0] !== N))) {
      throw new RangeError(
        `linear(): input ${fmtShape(x.shape)}, weight ${fmtShape(w.shape)} and bias ${
          b ? fmtShape(b.shape) : "none"
        } do not fit (weight must be [out, ${K}], bias [out])`,
      );
    }
    const out = noGrad(() => {
      const x2 = x.reshape([-1, K]);
      let y: Tensor;
      const fused = x._backend.fused?.linear;
      if (fused) {
        y = empty([x2.shape[0], N], "float32", x._backend);
        fused(x2._view(), w._view(), b ? b._view() : null, y._storage.buffer);
      } else {
        const wt = w.transpose(0, 1);
        const p = x2.matmul(wt);
        y = b ? p.add(b) : p;
        if (y !== p) p.dispose();
        wt.dispose();
      }
      x2.dispose();
      const r = y.reshape([...x.shape.slice(0, -1), N]);
      y.dispose();
      return r;
    });
    return record(out, "linear", b ? [x, w, b] : [x, w], {});
  });
}

/**
 * One Adam/AdamW step on a parameter, in place (PyTorch's update). Uses the
 * backend's single-pass kernel when it has one.
 *
 * @param param The parameter (updated in place).
 * @param grad Its gradient.
 * @param m First-moment state (updated in place).
 * @param v Second-moment state (updated in place).
 * @param args Hyper-parameters and bias corrections.
 * @example
 * ```ts
 * import { adamUpdate, ones, zeros } from "../mod.ts";
 * const p = ones([2]), g = ones([2]), m = zeros([2]), v = zeros([2]);
 * adamUpdate(p, g, m, v, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8,
 *   weightDecay: 0, decoupledDecay: 0, bias1: 0.1, bias2: 0.001 });
 * ```
 */
export function adamUpdate(
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  args: AdamArgs,
): void {
  const fused = param._backend.fused?.adam;
  const dense = [param, grad, m, v].every((t) => t.isContiguous && t.offset === 0);
  if (fused && dense) {
    fused(
      param._storage.buffer,
      grad._view(),
      m._storage.buffer,
      v._storage.buffer,
      param.size,
      args,
    );
    for (const t of [param, m, v]) t._storage.version++;
    return;
  }
  noGrad(() => adamComposed(param, grad, m, v, args));
}

/** Adam from primitives (the fused kernels' reference). */
export function adamComposed(
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  a: AdamArgs,
): void {
  const tmp: Tensor[] = [];
  const t = (x: Tensor) => (tmp.push(x), x);
  const g = a.weightDecay !== 0 ? t(grad.add(t(param.mul(a.weightDecay)))) : grad;
  m.assign(t(t(m.mul(a.beta1)).add(t(g.mul(1 - a.beta1)))));
  v.assign(t(t(v.mul(a.beta2)).add(t(t(g.mul(g)).mul(1 - a.beta2)))));
  if (a.decoupledDecay !== 0) param.assign(t(param.mul(1 - a.lr * a.decoupledDecay)));
  const denom = t(t(t(v.sqrt()).div(Math.sqrt(a.bias2))).add(a.eps));
  param.assign(t(param.sub(t(t(m.div(denom)).mul(a.lr / a.bias1)))));
  for (const x of tmp) x.dispose();
}

/**
 * The LoRA linear, `x·Wᵀ + b + scaling·(x·Aᵀ)·Bᵀ`, as one op: one node
 * whose backward forms only the gradients that are needed (dx, dA, dB for a
 * frozen base), never the frozen W's, and never materialises B·A.
 *
 * @param x Input [..., in].
 * @param w Base weight [out, in] (usually frozen).
 * @param b Base bias [out] or null.
 * @param a Down-projection A [r, in].
 * @param bUp Up-projection B [out, r].
 * @param scaling The adapter's multiplier (alpha / r).
 * @returns [..., out].
 * @throws {RangeError} when the shapes do not fit.
 * @example
 * ```ts
 * import { loraLinear, ones, zeros } from "../mod.ts";
 * const y = loraLinear(ones([2, 3]), ones([4, 3]), null, ones([1, 3]), zeros([4, 1]), 2);
 * ```
 */
export function loraLinear(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  a: Tensor,
  bUp: Tensor,
  scaling: number,
): Tensor {
  return failSafe(() => {
    for (const t of [x, w, a, bUp, ...(b ? [b] : [])]) {
      requireFloat(t, "loraLinear()");
      sameBackend(x, t, "loraLinear");
    }
    const K = x.shape[x.ndim - 1], N = w.shape[0], r = a.shape[0];
    if (
      w.ndim !== 2 || w.shape[1] !== K || a.ndim !== 2 || a.shape[1] !== K ||
      bUp.ndim !== 2 || bUp.shape[0] !== N || bUp.shape[1] !== r ||
      (b && (b.ndim !== 1 || b.shape[0] !== N))
    ) {
      throw new RangeError(
        `loraLinear(): input ${fmtShape(x.shape)}, weight ${fmtShape(w.shape)}, A ${
          fmtShape(a.shape)
        }, B ${fmtShape(bUp.shape)} and bias ${b ? fmtShape(b.shape) : "none"} do not fit`,
      );
    }
    const [out, down] = noGrad(() => {
      const x2 = x.reshape([-1, K]);
      const [y, d] = loraProduct(x2, w, b, a, bUp, scaling);
      x2.dispose();
      const r2 = y.reshape([...x.shape.slice(0, -1), N]);
      y.dispose();
      return [r2, d];
    });
    const inputs = b ? [x, w, a, bUp, b] : [x, w, a, bUp];
    if (!inputs.some((t) => t.requiresGrad)) {
      down.dispose();
      return out;
    }
    return record(out, "loraLinear", inputs, { down, scaling });
  });
}

/**
 * `[x2·Wᵀ + b + scaling·(x2·Aᵀ)·Bᵀ, x2·Aᵀ]` for a 2-D x2 (any strides), not
 * recorded: the backend's fused LoRA linear when it has one (no [M, N]
 * temporary), else composed. The backward's input gradient is the same
 * product with transposed views (see `fusedRules.loraLinear`).
 */
function loraProduct(
  x2: Tensor,
  w: Tensor,
  b: Tensor | null,
  a: Tensor,
  bUp: Tensor,
  scaling: number,
): [Tensor, Tensor] {
  const M = x2.shape[0], N = w.shape[0], r = a.shape[0];
  const fused = x2._backend.fused?.loraLinear;
  if (fused) {
    const y = empty([M, N], "float32", x2._backend);
    const d = empty([M, r], "float32", x2._backend);
    fused(
      x2._view(),
      w._view(),
      b ? b._view() : null,
      a._view(),
      bUp._view(),
      scaling,
      y._storage.buffer,
      d._storage.buffer,
    );
    return [y, d];
  }
  const d = linear(x2, a);
  const ds = d.mul(scaling), base = linear(x2, w, b), up = linear(ds, bUp);
  const y = base.add(up);
  for (const t of [ds, base, up]) t.dispose();
  return [y, d];
}

/**
 * Per-row cross-entropy of logits [n, C] against int32 targets [n], as one
 * op (fused softmax + pick when the backend has it): `logsumexp(x) − x[t]`.
 * Its backward is `softmax(x) − onehot(t)`, from the saved probabilities.
 *
 * @param logits [n, C] float32.
 * @param targets [n] int32 class indices.
 * @returns Losses [n].
 * @throws {RangeError} when the shapes do not fit.
 * @example
 * ```ts
 * import { crossEntropyRows, tensor } from "../mod.ts";
 * const l = crossEntropyRows(tensor([[2, 0], [0, 2]]), tensor([0, 1], { dtype: "int32" }));
 * ```
 */
export function crossEntropyRows(logits: Tensor, targets: Tensor): Tensor {
  return failSafe(() => {
    requireFloat(logits, "crossEntropyRows()");
    sameBackend(logits, targets, "crossEntropyRows");
    if (
      logits.ndim !== 2 || targets.ndim !== 1 || targets.dtype !== "int32" ||
      targets.shape[0] !== logits.shape[0]
    ) {
      throw new RangeError(
        `crossEntropyRows(): logits ${fmtShape(logits.shape)} and ${targets.dtype} targets ${
          fmtShape(targets.shape)
        } do not fit (expected [n, C] and int32 [n])`,
      );
    }
    const [n, c] = logits.shape;
    const fused = logits._backend.fused?.crossEntropy;
    if (!fused && n * c >= 2 ** 31) {
      throw new RangeError(
        `crossEntropyRows(): logits ${fmtShape(logits.shape)} have 2^31 or more elements, ` +
          `more than this backend's composed cross-entropy indexes`,
      );
    }
    const [losses, probs] = noGrad(() => {
      const x = logits.contiguous();
      let l: Tensor, p: Tensor;
      if (fused) {
        l = empty([n], "float32", x._backend);
        p = empty([n, c], "float32", x._backend);
        fused(x._view(), targets._view(), l._storage.buffer, p._storage.buffer);
      } else {
        // Each row's target picked by index (a one-hot product would turn a
        // −∞ log-probability elsewhere in the row into NaN).
        const logp = x.logSoftmax(1), flat = logp.reshape([n * c]);
        const at = arange(0, n * c, c, { dtype: "int32", backend: x.backend });
        const idx = at.add(targets), picked = flat.indexSelect(0, idx);
        l = picked.neg();
        p = logp.exp();
        for (const t of [logp, flat, at, idx, picked]) t.dispose();
      }
      x.dispose();
      return [l, p];
    });
    if (!logits.requiresGrad) {
      probs.dispose();
      return losses;
    }
    return record(losses, "crossEntropy", [logits], { probs, targets });
  });
}

/** onehot(t) [n, C] as float32 0/1, from primitives. */
export function _oneHot(targets: Tensor, c: number): Tensor {
  const classes = arange(0, c, 1, { backend: targets.backend }).reshape([1, c]);
  const t = targets.float(), col = t.reshape([-1, 1]);
  const hot = col.eq(classes);
  for (const x of [classes, t, col]) x.dispose();
  return hot;
}

function t2(x: Tensor): Tensor {
  return x.transpose(-1, -2);
}

/** Gradient rules of the fused ops: only the gradients that are needed. */
export const fusedRules: GradRules<"linear" | "loraLinear" | "crossEntropy"> = {
  loraLinear: (g, c) => {
    // inputs: x, W, A, B[, bias]; gradients only where needed (a frozen W
    // costs nothing), and B·A is never formed.
    const [x, w, a, bUp] = c.inputs;
    const { down, scaling } = c.saved;
    const K = x.shape[x.ndim - 1], N = w.shape[0];
    const g2 = g.reshape([-1, N]), x2 = x.reshape([-1, K]);
    // dx = g·W + (s·g·B)·A is the LoRA product of g with Wᵀ, Bᵀ and Aᵀ: on a
    // backend with the fused op, one call (the adapter part accumulated
    // into the base product, no add pass), whose `down` is g·B.
    let dx: Tensor | null = null, gd: Tensor | null = null;
    if (c.needs[0]) {
      const [y, gB] = loraProduct(g2, t2(w), null, t2(bUp), t2(a), scaling);
      dx = y.reshape(x.shape);
      if (c.needs[2]) gd = gB.mul(scaling);
    } else if (c.needs[2]) gd = g2.matmul(bUp).mul(scaling);
    return [
      dx,
      c.needs[1] ? t2(g2).matmul(x2) : null,
      c.needs[2] ? t2(gd!).matmul(x2) : null,
      c.needs[3] ? t2(g2).matmul(down).mul(scaling) : null,
      c.needs[4] ? g2.sum(0) : null,
    ];
  },
  crossEntropy: (g, c) => {
    // (softmax − onehot)·g, as softmax·g with g subtracted at each row's
    // target: one pass over [n, C] and n scattered updates, no one-hot.
    const { probs, targets } = c.saved;
    const [n, C] = probs.shape;
    if (n * C >= 2 ** 31) {
      const hot = _oneHot(targets, C);
      return [probs.sub(hot).mul(g.unsqueeze(1))];
    }
    const out = probs.mul(g.unsqueeze(1));
    const at = arange(0, n * C, C, { dtype: "int32", backend: targets.backend });
    const flat = out.reshape([n * C, 1]), idx = at.add(targets), neg = g.neg().reshape([n, 1]);
    flat._scatterAdd(idx, neg);
    for (const t of [at, flat, idx, neg]) t.dispose();
    return [out];
  },
  linear: (g, c) => {
    const [x, w] = c.inputs;
    const K = x.shape[x.ndim - 1], N = w.shape[0];
    const g2 = g.reshape([-1, N]);
    const x2 = c.needs[1] ? x.reshape([-1, K]) : null;
    return [
      c.needs[0] ? g2.matmul(w).reshape(x.shape) : null,
      x2 ? t2(g2).matmul(x2) : null,
      c.needs[2] ? g2.sum(0) : null,
    ];
  },
};
