/**
 * Attention as one op where the backend has the fused kernels
 * (`FusedOps.attention` and `attentionBackward`): the forward keeps only
 * the output and each row's log-sum-exp, and the backward recomputes the
 * probabilities block by block, so no [B, H, T, S] tensor is stored.
 *
 * @module
 */
import { failSafe } from "./memory.ts";
import { type GradRules, noGrad, record } from "./graph.ts";
import { empty } from "./_op_helpers.ts";
import type { Tensor } from "./tensor.ts";

/** True when `t`'s backend runs attention as one op (both directions). */
export function hasFusedAttention(t: Tensor): boolean {
  const f = t._backend.fused;
  return !!(f?.attention && f.attentionBackward);
}

/**
 * Package-internal (used by `nn.scaledDotProductAttention`, which checks
 * the arguments): the fused attention of q [B, H, T, D], k [B, Hkv, S, D],
 * v [B, Hkv, S, Dv] with an optional additive bias broadcastable to
 * [B, H, T, S] and an optional causal offset.
 */
export function fusedAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  bias: Tensor | null,
  scale: number,
  causalOffset: number | null,
): Tensor {
  return failSafe(() => {
    const [B, H, T] = q.shape, Dv = v.shape[3];
    const be = q._backend;
    const biasView = bias ? broadcastTo(bias, [B, H, T, k.shape[2]]) : null;
    const out = empty([B, H, T, Dv], "float32", be);
    const lse = empty([B, H, T], "float32", be);
    be.fused!.attention!(
      q._view(),
      k._view(),
      v._view(),
      biasView,
      scale,
      causalOffset,
      out._storage.buffer,
      lse._storage.buffer,
    );
    const inputs = [q, k, v];
    if (!inputs.some((t) => t.requiresGrad)) {
      lse.dispose();
      return out;
    }
    return record(out, "attention", inputs, { out, lse, bias, scale, causalOffset });
  });
}

/** A view of `t` broadcast (stride 0) to a 4-D `shape`. */
function broadcastTo(t: Tensor, shape: number[]) {
  const off = shape.length - t.ndim;
  const strides = shape.map((_, i) => {
    const d = i - off;
    return d < 0 || t.shape[d] === 1 ? 0 : t.strides[d];
  });
  return { ...t._view(), shape, strides };
}

/** The fused attention's rule: the backend's backward, from the saved lse. */
export const attentionRules: GradRules<"attention"> = {
  attention: (g, c) => {
    const [q, k, v] = c.inputs;
    const { out, lse, bias, scale, causalOffset } = c.saved;
    const be = q._backend;
    const [dq, dk, dv] = noGrad(() => [
      empty(q.shape, "float32", be),
      empty(k.shape, "float32", be),
      empty(v.shape, "float32", be),
    ]);
    const gc = g.contiguous();
    be.fused!.attentionBackward!(
      q._view(),
      k._view(),
      v._view(),
      bias ? broadcastTo(bias, [q.shape[0], q.shape[1], q.shape[2], k.shape[2]]) : null,
      scale,
      causalOffset,
      out._view(),
      lse._view(),
      gc._view(),
      dq._storage.buffer,
      dk._storage.buffer,
      dv._storage.buffer,
    );
    return [c.needs[0] ? dq : null, c.needs[1] ? dk : null, c.needs[2] ? dv : null];
  },
};
