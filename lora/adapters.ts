/**
 * Switching between a model's named adapters (PEFT's `set_adapter`,
 * `active_adapters`, `delete_adapter`).
 *
 * @module
 */

import type { Module } from "../nn/mod.ts";
import { _applyActive, _checkModel, _copyConflicts, _loraLayers, _wrappers } from "./_parts.ts";
import { _knownAdapters, _rewrite } from "./merge.ts";
import { _wrapInfo } from "./_state.ts";

/**
 * Makes `names` the active adapters: only they compute in forward and only
 * their tensors require gradients (PEFT's `set_adapter`). Nothing of the
 * base is reallocated. A merged model is unmerged first, as PEFT does.
 *
 * @param model A wrapped model.
 * @param names One adapter name, or several (their updates add up, in order).
 * @throws {Error} For an unknown name, or two active adapters that both
 *   hold a copy of the same modules-to-save module.
 * @throws {TypeError} For names that are not strings, or none.
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const net = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * lora.addAdapter(net, "b", { targets: ["0"], rank: 2, alpha: 2 });
 * lora.setAdapter(net, "b");
 * console.log(lora.activeAdapters(net)); // ["b"]
 * lora.setAdapter(net, ["default", "b"]);
 * ```
 */
export function setAdapter(model: Module, names: string | readonly string[]): void {
  const who = "lora.setAdapter";
  _checkModel(who, model);
  const list = _knownAdapters(who, model, typeof names === "string" ? [names] : names);
  if (list.length === 0) throw new TypeError(`${who}: name at least one adapter`);
  const conflicts = _copyConflicts(model, list);
  if (conflicts.length > 0) {
    throw new Error(
      `${who}: only one active adapter may use a modules-to-save copy, but ${conflicts.join("; ")}`,
    );
  }
  const merged = _loraLayers(model).filter(([, l]) => l.merged);
  if (merged.length > 0) {
    _rewrite(who, merged.map(([n, l]) => [n, l, l.mergedAdapters]), true);
  }
  const info = _wrapInfo.get(model)!;
  info.active = list;
  _applyActive(model, list);
}

/**
 * The active adapters, in order.
 *
 * @param model A model.
 * @returns Their names (empty for a model that is not wrapped).
 * @throws {TypeError} When `model` is not a Module.
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const net = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * console.log(lora.activeAdapters(net)); // ["default"]
 * ```
 */
export function activeAdapters(model: Module): string[] {
  _checkModel("lora.activeAdapters", model);
  return [..._wrapInfo.get(model)?.active ?? []];
}

/**
 * Every adapter of the model, in the order they were added.
 *
 * @param model A model.
 * @returns Their names (empty for a model that is not wrapped).
 * @throws {TypeError} When `model` is not a Module.
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const net = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * console.log(lora.adapterNames(net)); // ["default"]
 * ```
 */
export function adapterNames(model: Module): string[] {
  _checkModel("lora.adapterNames", model);
  return [..._wrapInfo.get(model)?.adapters.keys() ?? []];
}

/**
 * Removes adapter `name` from every layer and frees its tensors (PEFT's
 * `delete_adapter`). When it was active, the other active adapters stay;
 * if none is left, the first remaining adapter by name becomes active, as
 * PEFT does. The LoRA layers stay in place (possibly with no adapter).
 *
 * @param model A wrapped model.
 * @param name The adapter to delete.
 * @throws {Error} For an unknown name, or an adapter that is merged.
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const net = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * lora.addAdapter(net, "b", { targets: ["0"], rank: 2, alpha: 2 });
 * lora.deleteAdapter(net, "b");
 * console.log(lora.adapterNames(net)); // ["default"]
 * ```
 */
export function deleteAdapter(model: Module, name: string): void {
  const who = "lora.deleteAdapter";
  _checkModel(who, model);
  _knownAdapters(who, model, [name]);
  const layers = _loraLayers(model);
  const merged = layers.filter(([, l]) => l.mergedAdapters.includes(name)).map(([n]) => `"${n}"`);
  if (merged.length > 0) {
    throw new Error(`${who}: "${name}" is merged into ${merged.join(", ")}; unmerge first`);
  }
  for (const [, l] of layers) l._removeAdapter(name);
  for (const [, w] of _wrappers(model)) w._remove(name);
  const info = _wrapInfo.get(model)!;
  info.adapters.delete(name);
  info.active = info.active.filter((n) => n !== name);
  if (info.active.length === 0 && info.adapters.size > 0) {
    info.active = [[...info.adapters.keys()].sort()[0]];
  }
  _applyActive(model, info.active);
}
