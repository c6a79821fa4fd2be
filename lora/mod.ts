/**
 * LoRA (low-rank adaptation) for `nn` models, in PEFT's conventions: wrap
 * chosen Linear and Embedding layers, train only the adapters (several named
 * ones, DoRA, modules kept whole), merge them in, combine them, serve several
 * from one batch, and move adapters to and from PEFT adapter directories.
 *
 * @example
 * ```ts
 * import { lora, nn, type Tensor } from "../mod.ts";
 * class Net extends nn.Module {
 *   q_proj = new nn.Linear(16, 16);
 *   v_proj = new nn.Linear(16, 16);
 *   forward(x: Tensor): Tensor { return this.v_proj.forward(this.q_proj.forward(x)); }
 * }
 * const net = lora.wrap(new Net(), ["q_proj", "v_proj"], 4, 8);
 * console.log(lora.parameterCount(net)); // { trainable: 256, total: 800 }
 * ```
 *
 * @module
 */

export { LoraAdapter, LoraAdapterDict, type LoraAdapterOptions, type LoraInit } from "./adapter.ts";
export { DEFAULT_ADAPTER, LoraLayer } from "./lora_layer.ts";
export { LoraLinear, type LoraLinearOptions } from "./lora_linear.ts";
export { LoraEmbedding } from "./lora_embedding.ts";
export { ModulesToSaveWrapper, ParameterCopy, ParameterCopyDict } from "./modules_to_save.ts";
export { type LoraTargets } from "./targets.ts";
export {
  type AdapterOptions,
  addAdapter,
  unwrap,
  wrap,
  wrapAsync,
  type WrapOptions,
} from "./wrap.ts";
export { activeAdapters, adapterNames, deleteAdapter, setAdapter } from "./adapters.ts";
export { merge, type MergeOptions, unmerge } from "./merge.ts";
export { disabled, type ParameterCount, parameterCount } from "./disabled.ts";
export { routed } from "./routed.ts";
export { BASE_ROUTE } from "./_routed_forward.ts";
export { addWeightedAdapter, type WeightedAdapterOptions } from "./weighted.ts";
export { type AdapterConfig } from "./peft_config.ts";
export { PEFT_PREFIX } from "./peft_format.ts";
export {
  ADAPTER_CONFIG,
  ADAPTER_WEIGHTS,
  load,
  type LoadOptions,
  save,
  type SaveOptions,
} from "./adapter_files.ts";
