/**
 * Finding a wrapped model's LoRA layers and modules-to-save wrappers, and
 * putting the active adapters into effect on all of them.
 *
 * @module
 */

import { Module } from "../nn/mod.ts";
import { LoraLayer } from "./lora_layer.ts";
import { ModulesToSaveWrapper } from "./modules_to_save.ts";

/**
 * The LoRA layers of a model with their dotted names, in module order.
 *
 * @param model The model.
 * @returns [name, layer] pairs.
 */
export function _loraLayers(model: Module): [string, LoraLayer][] {
  const out: [string, LoraLayer][] = [];
  for (const [name, m] of model.namedModules()) {
    if (m instanceof LoraLayer) out.push([name, m]);
  }
  return out;
}

/**
 * The modules-to-save wrappers of a model with their dotted names.
 *
 * @param model The model.
 * @returns [name, wrapper] pairs.
 */
export function _wrappers(model: Module): [string, ModulesToSaveWrapper][] {
  const out: [string, ModulesToSaveWrapper][] = [];
  for (const [name, m] of model.namedModules()) {
    if (m instanceof ModulesToSaveWrapper) out.push([name, m]);
  }
  return out;
}

/** Throws a TypeError unless `model` is a Module. */
export function _checkModel(who: string, model: unknown): asserts model is Module {
  if (!(model instanceof Module)) {
    throw new TypeError(`${who}: model must be an nn.Module, got ${model}`);
  }
}

/**
 * The wrappers on which more than one of `names` has a copy (PEFT allows
 * one active copy per module).
 *
 * @param model The model.
 * @param names Adapter names.
 * @returns Messages, one per conflicting wrapper.
 */
export function _copyConflicts(model: Module, names: readonly string[]): string[] {
  const out: string[] = [];
  for (const [n, w] of _wrappers(model)) {
    const mine = names.filter((a) => w.copy(a) !== undefined);
    if (mine.length > 1) out.push(`"${n}" (copies of ${mine.map((a) => `"${a}"`).join(", ")})`);
  }
  return out;
}

/**
 * Makes `active` the active adapters of every layer and wrapper: only their
 * tensors compute and require gradients (PEFT's `set_adapter`).
 *
 * @param model The model.
 * @param active The active adapter names (checked by the caller).
 */
export function _applyActive(model: Module, active: readonly string[]): void {
  for (const [, l] of _loraLayers(model)) {
    l._setActive(active);
    for (const name of l.adapterNames) {
      const on = active.includes(name);
      for (const t of l.adapter(name)!.tensors) t.requiresGrad = on;
    }
  }
  for (const [, w] of _wrappers(model)) {
    const chosen = active.find((a) => w.copy(a) !== undefined) ?? null;
    w._setActive(chosen);
    for (const name of w.adapterNames) {
      for (const t of w.copy(name)!.parameters()) t.requiresGrad = name === chosen;
    }
  }
}
