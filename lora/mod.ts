/**
 * LoRA (low-rank adaptation) for `nn` models, in PEFT's conventions: wrap
 * chosen Linear layers, train only the adapters, merge them in, and move
 * adapters to and from PEFT adapter directories.
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

export { type LoraInit, LoraLinear, type LoraLinearOptions } from "./lora_linear.ts";
export { type LoraTargets } from "./targets.ts";
export { unwrap, wrap, type WrapOptions } from "./wrap.ts";
export { merge, unmerge } from "./merge.ts";
export { disabled, type ParameterCount, parameterCount } from "./disabled.ts";
export { type AdapterConfig, PEFT_PREFIX } from "./peft_format.ts";
export { ADAPTER_CONFIG, ADAPTER_WEIGHTS, load, save } from "./adapter_files.ts";
