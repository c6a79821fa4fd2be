/**
 * What the model classes share: forward options, construction options,
 * the id check and transformers' weight initialisation.
 *
 * @module
 */
import { noGrad, randn, scope, type Tensor } from "../tensor/mod.ts";
import * as nn from "../nn/mod.ts";
import type { KVCache } from "./kv_cache.ts";

/** Options of a causal LM's `forward`. */
export interface ForwardOptions {
  /** [B, S] over every position so far (1 keep, 0 padding); S = cached + T. */
  attentionMask?: Tensor;
  /** The key/value cache of generation: appended to, attended over. */
  cache?: KVCache;
}

/** Options of a model's constructor. */
export interface ModelInit {
  /** Backend for the weights; the default backend when omitted. */
  backend?: string;
  /**
   * "random": weights N(0, 0.02²), biases 0, norms 1 (transformers'
   * `_init_weights`); "zeros": every weight 0 (when a checkpoint follows).
   */
  init?: "random" | "zeros";
}

/**
 * Throws unless `ids` is an int32 [B, T] tensor (values are checked by the
 * embedding: at once on the CPU, at the next read on WebGPU).
 */
export function checkIds(ids: Tensor, vocab: number, who: string): void {
  if (ids.dtype !== "int32" || ids.ndim !== 2) {
    throw new TypeError(
      `${who}: ids must be int32 [batch, seq] (vocab ${vocab}), got ${ids.dtype} [${ids.shape}]`,
    );
  }
}

/** Sets every weight as transformers' `_init_weights` does (or to zero). */
export function initWeights(model: nn.Module, how: "random" | "zeros"): void {
  noGrad(() => {
    for (const m of model.namedModules().values()) {
      const norm = m instanceof nn.RMSNorm || m instanceof nn.LayerNorm;
      const w = (m as { weight?: Tensor | null }).weight;
      const b = (m as { bias?: Tensor | null }).bias;
      if (w && (m instanceof nn.Linear || m instanceof nn.Embedding || m instanceof nn.Conv1D)) {
        if (how === "zeros") w.assign(0);
        else scope(() => w.assign(randn([...w.shape], { backend: w.backend }).mul(0.02)));
      } else if (w && norm) w.assign(how === "zeros" ? 0 : 1);
      if (b) b.assign(0);
    }
  });
}
