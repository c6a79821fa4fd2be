/**
 * Pretrained transformer checkpoints in Hugging Face's layout: configs,
 * the Llama family (llama, mistral, qwen2) and GPT-2 with the checkpoints'
 * own parameter names, `fromPretrained`, the causal-LM loss, and
 * generation with a key/value cache.
 *
 * @example
 * ```ts
 * import { models, tensor } from "../mod.ts";
 * const model = new models.GPT2LMHeadModel({
 *   model_type: "gpt2", vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2,
 * });
 * const ids = tensor([[1, 2, 3]], { dtype: "int32" });
 * console.log(await models.causalLmLoss(model.forward(ids), ids).item() > 0); // true
 * ```
 *
 * @module
 */
export {
  type GPT2Config,
  type LlamaConfig,
  type ModelConfig,
  parseConfig,
  SUPPORTED_MODEL_TYPES,
} from "./config.ts";
export {
  LlamaAttention,
  LlamaDecoderLayer,
  LlamaForCausalLM,
  LlamaMLP,
  LlamaModel,
} from "./llama.ts";
export { GPT2Attention, GPT2Block, GPT2LMHeadModel, GPT2MLP, GPT2Model } from "./gpt2.ts";
export { type ForwardOptions, type ModelInit } from "./_model_common.ts";
export { KVCache } from "./kv_cache.ts";
export { type CausalLM, fromPretrained, type PretrainedOptions } from "./pretrained.ts";
export { causalLmLoss } from "./loss.ts";
export { generate, type GenerateOptions } from "./generate.ts";
export { type DecodeOptions, type EncodeOptions, Tokenizer } from "./tokenizer.ts";
