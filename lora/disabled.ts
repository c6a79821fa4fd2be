/**
 * `disabled` (switch adapters off for a block) and `parameterCount`.
 *
 * @module
 */

import type { Module } from "../nn/mod.ts";
import { _rewrite } from "./merge.ts";
import { _checkModel, _loraLayers, _wrappers } from "./_parts.ts";

/**
 * Trainable and total parameter counts.
 *
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const n: lora.ParameterCount = lora.parameterCount(new nn.Linear(2, 2));
 * console.log(n); // { trainable: 6, total: 6 }
 * ```
 */
export interface ParameterCount {
  /** Elements of parameters with `requiresGrad`. */
  trainable: number;
  /** Elements of all parameters. */
  total: number;
}

/**
 * Counts parameter elements (each shared tensor once).
 *
 * @param model Any module.
 * @returns `{ trainable, total }`.
 * @throws {TypeError} When `model` is not a Module.
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const seq = new nn.Sequential(new nn.Linear(1000, 1000, { bias: false }));
 * lora.wrap(seq, ["0"], 2, 4);
 * console.log(lora.parameterCount(seq)); // { trainable: 4000, total: 1004000 }
 * ```
 */
export function parameterCount(model: Module): ParameterCount {
  _checkModel("lora.parameterCount", model);
  let trainable = 0, total = 0;
  for (const p of model.parameters()) {
    total += p.size;
    if (p.requiresGrad) trainable += p.size;
  }
  return { trainable, total };
}

/**
 * Switches every adapter off until the returned handle is disposed, so the
 * model computes what its base computes (`using _ = lora.disabled(model)`).
 * Merged adapters are unmerged for the block and merged back at its end.
 *
 * @param model A wrapped model.
 * @returns A Disposable that restores the adapters (once; later calls do nothing).
 * @throws {TypeError} When `model` is not a Module.
 * @example
 * ```ts
 * import { lora, nn, randn } from "../mod.ts";
 * const seq = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * {
 *   using _off = lora.disabled(seq);
 *   seq.forward(randn([1, 4])); // the base model's output
 * }
 * ```
 */
export function disabled(model: Module): Disposable {
  _checkModel("lora.disabled", model);
  const layers = _loraLayers(model);
  const wrappers = _wrappers(model).map(([, w]) => w);
  const merged = layers.filter(([, l]) => l.merged).map(([n, l]) => [n, l, l.mergedAdapters]) as [
    string,
    (typeof layers)[number][1],
    string[],
  ][];
  if (merged.length > 0) _rewrite("lora.disabled", merged, true);
  const before = layers.map(([, l]) => l.enabled);
  const wrappersBefore = wrappers.map((w) => w.enabled);
  for (const [, l] of layers) l._setEnabled(false);
  for (const w of wrappers) w._setEnabled(false);
  let open = true;
  return {
    [Symbol.dispose](): void {
      if (!open) return;
      open = false;
      layers.forEach(([, l], i) => l._setEnabled(before[i]));
      wrappers.forEach((w, i) => w._setEnabled(wrappersBefore[i]));
      if (merged.length > 0) _rewrite("lora.disabled", merged, false);
    },
  };
}
