/**
 * Fused fast paths as tensor functions: each uses the backend's fused kernel
 * when it has one and the composed primitives otherwise, and records one
 * autograd node either way (so the gradient rule is shared).
 *
 * @module
 */
import type { AdamArgs } from "../backends/backend.ts";
import { noGrad, record } from "./autograd.ts";
import { _empty as empty, _requireFloat, _sameBackend } from "./ops.ts";
import { fmtShape } from "./shape.ts";
import type { Tensor } from "./tensor.ts";

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
  _requireFloat(x, "linear()");
  _requireFloat(w, "linear()");
  _sameBackend(x, w, "linear");
  if (b) _sameBackend(x, b, "linear");
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
  return record(out, "linear", b ? [x, w, b] : [x, w]);
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
