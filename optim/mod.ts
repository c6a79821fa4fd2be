/**
 * Optimizers: `SGD` (with momentum), `Adam` and `AdamW`, numerically as
 * PyTorch 1.13, taking tensors or PyTorch-style parameter groups; and
 * `loraPlusGroups`, the LoRA+ groups (PEFT's `create_loraplus_optimizer`).
 *
 * @example
 * ```ts
 * import { nn, optim, randn } from "../mod.ts";
 * const lin = new nn.Linear(3, 1);
 * const opt = new optim.AdamW(lin.parameters(), { lr: 1e-2 });
 * nn.mseLoss(lin.forward(randn([4, 3])), randn([4, 1])).backward();
 * opt.step();
 * opt.zeroGrad();
 * ```
 *
 * @module
 */

export { Optimizer, type ParamGroup } from "./optimizer.ts";
export { SGD, type SGDGroupInput, type SGDOptions, type SGDParamGroup } from "./sgd.ts";
export { Adam, type AdamGroupInput, type AdamOptions, type AdamParamGroup, AdamW } from "./adam.ts";
export { type LoraPlusGroup, loraPlusGroups, type LoraPlusOptions } from "./lora_plus.ts";
