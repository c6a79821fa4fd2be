/**
 * `generate`: autoregressive decoding with a key/value cache (the prompt
 * once, then one position per new token): greedy, or sampling with
 * temperature, top-k and top-p from the library's seeded generator;
 * stopping at an end-of-sequence id; a callback per token for streaming.
 *
 * @module
 */
import { _uniform, manualSeed, noGrad, scope, type Tensor, tensor } from "../tensor/mod.ts";
import { KVCache } from "./kv_cache.ts";
import type { CausalLM } from "./pretrained.ts";

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** How many tokens to add at most (per row). */
  maxNewTokens: number;
  /** Sampling temperature; 0 or absent: greedy (the most likely token). */
  temperature?: number;
  /** Sample among the k most likely tokens only. */
  topK?: number;
  /** Sample among the most likely tokens whose probabilities sum to p. */
  topP?: number;
  /** Seeds the generator first (`manualSeed`), for reproducible samples. */
  seed?: number;
  /** Stop a row at this id (or any of these); it is included in the output. */
  eosTokenId?: number | number[];
  /** Called with each new token as it is chosen (streaming). */
  onToken?: (token: number, row: number, step: number) => void;
}

function checkOptions(o: GenerateOptions): void {
  const int = (v: unknown, what: string, min: number) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
      throw new RangeError(`generate: ${what} must be an integer ≥ ${min}, got ${v}`);
    }
  };
  int(o.maxNewTokens, "maxNewTokens", 0);
  if (o.topK !== undefined) int(o.topK, "topK", 1);
  if (o.temperature !== undefined && !(o.temperature >= 0)) {
    throw new RangeError(`generate: temperature must be ≥ 0, got ${o.temperature}`);
  }
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) {
    throw new RangeError(`generate: topP must be in (0, 1], got ${o.topP}`);
  }
}

/** Picks a token from one row of logits (host copy). */
function choose(row: Float32Array, o: GenerateOptions): number {
  if (!o.temperature) {
    let best = 0;
    for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
    return best;
  }
  let order = [...row.keys()].sort((a, b) => row[b] - row[a]);
  if (o.topK !== undefined) order = order.slice(0, o.topK);
  const top = row[order[0]];
  let probs = order.map((i) => Math.exp((row[i] - top) / o.temperature!));
  const z = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / z);
  if (o.topP !== undefined) {
    let acc = 0, keep = 0;
    while (keep < probs.length && acc < o.topP) acc += probs[keep++];
    order = order.slice(0, keep);
    probs = probs.slice(0, keep).map((p) => p / acc);
  }
  let u = _uniform(), k = 0;
  while (k < probs.length - 1 && u >= probs[k]) u -= probs[k++];
  return order[k];
}

/**
 * Continues each row of `ids` by up to `maxNewTokens` tokens.
 *
 * @param model A causal LM (`models.fromPretrained`, or built from a config).
 * @param ids The prompts: int32 [B, T] or number[][] of equal lengths.
 * @param opts Decoding options.
 * @returns The new tokens of each row (prompt excluded; up to and including
 *   an end-of-sequence id).
 * @throws {RangeError} For bad options or ragged prompts.
 * @example
 * ```ts
 * import { models } from "../mod.ts";
 * const model = new models.LlamaForCausalLM({
 *   model_type: "llama", vocab_size: 16, hidden_size: 8, intermediate_size: 12,
 *   num_hidden_layers: 1, num_attention_heads: 2,
 * });
 * const [tokens] = await models.generate(model, [[1, 2, 3]], { maxNewTokens: 4 });
 * console.log(tokens.length); // 4
 * ```
 */
export async function generate(
  model: CausalLM,
  ids: Tensor | number[][],
  opts: GenerateOptions,
): Promise<number[][]> {
  checkOptions(opts);
  const rows = Array.isArray(ids) ? ids : (await ids.toArray()) as number[][];
  const B = rows.length, T = rows[0]?.length ?? 0;
  if (B === 0 || T === 0 || rows.some((r) => r.length !== T)) {
    throw new RangeError("generate: prompts must be non-empty rows of equal length");
  }
  if (opts.seed !== undefined) manualSeed(opts.seed);
  const eos = new Set(opts.eosTokenId === undefined ? [] : [opts.eosTokenId].flat());
  const backend = model.parameters()[0]?.backend;
  const out: number[][] = rows.map(() => []);
  const done = rows.map(() => false);
  const cache = new KVCache();
  const wasTraining = model.training;
  model.eval();
  try {
    let input = rows;
    for (let step = 0; step < opts.maxNewTokens && done.includes(false); step++) {
      // The logits of each row's last position, read back to choose from.
      const last = noGrad(() =>
        scope(() => {
          const x = tensor(input, { dtype: "int32", backend });
          const logits = model.forward(x, { cache });
          const t = logits.shape[1];
          return logits.narrow(1, t - 1, 1).reshape([B, logits.shape[2]]).contiguous();
        })
      );
      const data = await last.data() as Float32Array;
      last.dispose();
      const V = data.length / B;
      const next = rows.map((_, b) => {
        if (done[b]) return [...eos][0] ?? 0; // finished rows feed a placeholder
        const tok = choose(data.subarray(b * V, (b + 1) * V), opts);
        out[b].push(tok);
        opts.onToken?.(tok, b, step);
        if (eos.has(tok)) done[b] = true;
        return tok;
      });
      input = next.map((t) => [t]);
    }
  } finally {
    cache.dispose();
    if (wasTraining) model.train();
  }
  return out;
}
