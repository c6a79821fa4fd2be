/**
 * The additive attention bias of a decoder step: causal (query i at
 * position past + i sees keys j ≤ past + i), optionally a sliding window
 * (keys j > past + i − window), and padding from an attention mask. As
 * transformers' eager path, hidden keys get float32's lowest value rather
 * than −∞, so a row with every key hidden stays finite.
 *
 * @module
 */
import { type Tensor, tensor } from "../tensor/mod.ts";
import type { AttentionOptions } from "../nn/mod.ts";

/** float32's lowest finite value (transformers' `torch.finfo(dtype).min`). */
const LOWEST = -3.4028234663852886e38;

/**
 * The [B or 1, 1, T, S] additive bias for T new queries after `past`
 * positions (S = past + T): causal, a sliding window, and the padding of
 * `attentionMask` [B, S] (1 keep, 0 padding; int32 or float32).
 *
 * @param T New positions.
 * @param past Positions already held.
 * @param window Sliding window, or null.
 * @param attentionMask The mask over all S positions, or undefined.
 * @param backend Where to put it.
 * @returns The bias (the caller frees it, or a scope does).
 * @throws {RangeError} When the mask does not cover S positions.
 */
export function attentionBias(
  T: number,
  past: number,
  window: number | null,
  attentionMask: Tensor | undefined,
  backend: string,
): Tensor {
  const S = past + T;
  const out = new Float32Array(T * S);
  for (let i = 0; i < T; i++) {
    const q = past + i;
    for (let j = 0; j < S; j++) {
      if (j > q || (window !== null && j <= q - window)) out[i * S + j] = LOWEST;
    }
  }
  const causal = tensor(out, { shape: [1, 1, T, S], backend });
  if (!attentionMask) return causal;
  if (attentionMask.ndim !== 2 || attentionMask.shape[1] !== S) {
    throw new RangeError(
      `attentionMask must be [batch, ${S}] (every position so far), got [${attentionMask.shape}]`,
    );
  }
  const [B] = attentionMask.shape;
  // (mask − 1)·|lowest|: 0 where kept, the lowest value where padding.
  const pad = attentionMask.float().sub(1).mul(-LOWEST).reshape([B, 1, 1, S]);
  return causal.add(pad);
}

/**
 * What a decoder step passes to `nn.scaledDotProductAttention`: with no
 * padding mask and no sliding window that reaches back, the causal rule
 * (`isCausal`, offset `past`), so the fused kernels skip the hidden keys
 * and no [T, S] bias is built; otherwise the additive bias above. Both
 * give the same probabilities for every row that sees a key (a hidden key
 * weighs exp(lowest − max) = 0 either way).
 *
 * @param T New positions.
 * @param past Positions already held.
 * @param window Sliding window, or null.
 * @param attentionMask The mask over all S positions, or undefined.
 * @param backend Where to put a bias.
 * @returns Attention options (a bias in them is the caller's to free, or a scope's).
 */
export function attentionOptions(
  T: number,
  past: number,
  window: number | null,
  attentionMask: Tensor | undefined,
  backend: string,
): AttentionOptions {
  if (!attentionMask && (window === null || window >= past + T)) {
    return { isCausal: true, causalOffset: past };
  }
  return { mask: attentionBias(T, past, window, attentionMask, backend) };
}
