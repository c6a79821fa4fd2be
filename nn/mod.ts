/**
 * Neural-network building blocks: `Module`, layers, losses and parameter
 * factories.
 *
 * @example
 * ```ts
 * import { nn, randn } from "../mod.ts";
 * const mlp = new nn.Sequential(new nn.Linear(4, 8), new nn.GELU(), new nn.Linear(8, 2));
 * console.log(mlp.forward(randn([3, 4])).shape); // [3, 2]
 * ```
 *
 * @module
 */

export { Module } from "./module.ts";
export { Conv1D, Linear, type LinearOptions } from "./linear.ts";
export {
  Dropout,
  GELU,
  geluTanh,
  Identity,
  ReLU,
  Sequential,
  Sigmoid,
  SiLU,
  silu,
  Tanh,
} from "./layers.ts";
export { RMSNorm, rmsNorm, type RMSNormOptions } from "./rms_norm.ts";
export {
  applyRotaryEmbedding,
  ropeInverseFrequencies,
  type RopeScaling,
  RotaryEmbedding,
} from "./rotary.ts";
export { type AttentionOptions, causalMask, scaledDotProductAttention } from "./attention.ts";
export { Embedding, type EmbeddingOptions } from "./embedding.ts";
export { LayerNorm, type LayerNormOptions } from "./layer_norm.ts";
export { crossEntropy, type LossOptions, mseLoss, type Reduction } from "./losses.ts";
export { normalParameter, parameter, type ParameterOptions, uniformParameter } from "./init.ts";
