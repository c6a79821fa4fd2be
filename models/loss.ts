/**
 * `causalLmLoss`: next-token cross-entropy, as transformers'
 * `ForCausalLMLoss` computes it (logits at t predict the token at t + 1;
 * the mean over the tokens whose label is real).
 *
 * @module
 */
import { cat, ones, scope, type Tensor, zeros } from "../tensor/mod.ts";
import * as nn from "../nn/mod.ts";

/**
 * The causal-LM loss of logits [B, T, V] for ids [B, T]: the mean over
 * positions t < T − 1 of −log softmax(logits[:, t])[ids[:, t + 1]],
 * counting only labels whose `attentionMask` is 1 (padding is ignored, as
 * the -100 labels of transformers' collators) and, with `lossMask`, only
 * labels it marks (a prompt's tokens are read but not learned).
 *
 * @param logits [B, T, vocab], float32.
 * @param ids int32 [B, T].
 * @param opts `{ attentionMask?, lossMask? }`, each [B, T] of 1/0.
 * @returns A scalar.
 * @throws {TypeError} For wrong dtypes.
 * @throws {RangeError} For shapes that do not fit, or T < 2.
 * @example
 * ```ts
 * import { models, tensor, zeros } from "../mod.ts";
 * const loss = models.causalLmLoss(zeros([1, 3, 4]), tensor([[0, 1, 2]], { dtype: "int32" }));
 * console.log(await loss.item()); // log(4) ≈ 1.386
 * ```
 */
export function causalLmLoss(
  logits: Tensor,
  ids: Tensor,
  opts: { attentionMask?: Tensor; lossMask?: Tensor } = {},
): Tensor {
  if (logits.dtype !== "float32" || ids.dtype !== "int32") {
    throw new TypeError(
      `causalLmLoss: logits must be float32 and ids int32, got ${logits.dtype} and ${ids.dtype}`,
    );
  }
  const [B, T, V] = logits.shape;
  if (logits.ndim !== 3 || ids.ndim !== 2 || ids.shape[0] !== B || ids.shape[1] !== T || T < 2) {
    throw new RangeError(
      `causalLmLoss: logits [${logits.shape}] and ids [${ids.shape}] must be [B, T, V] and [B, T], T ≥ 2`,
    );
  }
  for (const [name, m] of [["attentionMask", opts.attentionMask], ["lossMask", opts.lossMask]]) {
    const t = m as Tensor | undefined;
    if (t && (t.ndim !== 2 || t.shape[0] !== B || t.shape[1] !== T)) {
      throw new RangeError(`causalLmLoss: ${name} [${t.shape}] must be [${B}, ${T}]`);
    }
  }
  return scope(() => {
    // Every position's row of logits (a view, no copy of [B, T, V]); the
    // last position of each sequence has no next token, so its label is a
    // placeholder with weight 0, like transformers' -100 padding.
    const x = logits.reshape([B * T, V]);
    const shifted = (m: Tensor, fill: Tensor) =>
      cat([m.narrow(1, 1, T - 1), fill], 1).reshape([B * T]);
    const y = shifted(ids, zeros([B, 1], { dtype: "int32", backend: ids.backend }));
    const losses = nn.crossEntropy(x, y, { reduction: "none" });
    const none = zeros([B, 1], { backend: logits.backend });
    let w = shifted(ones([B, T], { backend: logits.backend }), none);
    for (const m of [opts.attentionMask, opts.lossMask]) {
      if (m) w = w.mul(shifted(m.float(), none));
    }
    return losses.mul(w).sum().div(w.sum());
  });
}
