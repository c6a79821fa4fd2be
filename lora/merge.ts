/**
 * `merge` / `unmerge`: fold adapters into the base weights and back, all
 * layers or none.
 *
 * @module
 */

import { _assignAllFinite, keep, noGrad, scope, type Tensor } from "../tensor/mod.ts";
import type { Module } from "../nn/mod.ts";
import type { LoraLayer } from "./lora_layer.ts";
import { _checkModel, _loraLayers } from "./_parts.ts";
import { _wrapInfo } from "./_state.ts";

export { _loraLayers } from "./_parts.ts";

/**
 * Options of {@link merge}.
 *
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const opts: lora.MergeOptions = { adapters: ["default"] };
 * lora.merge(lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2), opts);
 * ```
 */
export interface MergeOptions {
  /** The adapters to merge, in order (default: the active ones). */
  adapters?: readonly string[];
}

/** A layer and the adapters to fold into it, in order. */
type _Plan = [name: string, layer: LoraLayer, adapters: string[]];

/**
 * Writes each layer's new weight, all or none: every new weight is computed
 * and checked before any is written.
 *
 * @param who The caller, for messages.
 * @param plan Per layer, the adapters to merge (empty: unmerge all).
 * @throws {RangeError} When a new weight would hold a non-finite value. On
 *   a backend that reads asynchronously (WebGPU) the check runs on the
 *   device: nothing is written, and the next read or sync throws the error
 *   and puts the layers' merge state back.
 */
export function _rewrite(who: string, plan: _Plan[], unmerge: boolean): void {
  scope(() => {
    const fresh = plan.map(([, l, names]) => {
      if (unmerge) return { weight: keep(l._unmergedWeight()), norms: new Map<string, Tensor>() };
      const m = l._mergedWeight(names);
      for (const t of [m.weight, ...m.norms.values()]) keep(t);
      return m;
    });
    const before = plan.map(([, l]) => l.mergedAdapters);
    try {
      noGrad(() =>
        _assignAllFinite(plan.map(([, l], i) => [fresh[i].weight, _baseWeight(l)] as const), {
          op: who,
          error: (i) =>
            new RangeError(
              `${who}: "${plan[i][0]}" would get non-finite weights (adapters ${
                plan[i][2].map((n) => `"${n}"`).join(", ")
              }); nothing was changed`,
            ),
          onFail: () => plan.forEach(([, l], i) => l._restoreMerged(before[i])),
        })
      );
    } catch (e) {
      for (const f of fresh) for (const t of f.norms.values()) t.dispose();
      throw e;
    } finally {
      for (const f of fresh) f.weight.dispose();
    }
    plan.forEach(([, l, names], i) => {
      if (unmerge) l._commitUnmerge();
      else l._commitMerge(names, fresh[i].norms);
    });
  });
}

function _baseWeight(l: LoraLayer): Tensor {
  return (l.base as unknown as { weight: Tensor }).weight;
}

function _layersOf(who: string, model: Module): [string, LoraLayer][] {
  _checkModel(who, model);
  const layers = _loraLayers(model);
  if (layers.length === 0) throw new Error(`${who}: the model has no LoRA layers`);
  const off = layers.filter(([, l]) => !l.enabled).map(([n]) => `"${n}"`);
  if (off.length > 0) {
    throw new Error(`${who}: adapters ${off.join(", ")} are disabled; enable them first`);
  }
  return layers;
}

/** Checks a list of adapter names against the model's adapters. */
export function _knownAdapters(who: string, model: Module, names: unknown): string[] {
  if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) {
    throw new TypeError(`${who}: adapters must be a string[], got ${JSON.stringify(names)}`);
  }
  const known = [..._wrapInfo.get(model)?.adapters.keys() ?? []];
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new Error(
      `${who}: no adapter named ${unknown.map((n) => `"${n}"`).join(", ")}; the model has ${
        known.map((n) => `"${n}"`).join(", ") || "none"
      }`,
    );
  }
  return [...new Set(names as string[])];
}

/**
 * Folds adapters into their base weights in place (PEFT's `merge_adapter`):
 * plain LoRA adds `scaling·B·A`; DoRA sets each row to
 * `m / ‖W + s·B·A‖ · (W + s·B·A)`. Afterwards those adapters cost nothing in
 * forward. All layers are merged, or none.
 *
 * @param model A wrapped model.
 * @param opts `{ adapters? }`: which adapters, in order (default: the active ones).
 * @throws {Error} When the model has no LoRA layers, an adapter is unknown
 *   or already merged (merging twice), nothing is left to merge, or
 *   adapters are disabled.
 * @throws {RangeError} When a merged weight would hold a non-finite value;
 *   nothing is changed then.
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const seq = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * lora.merge(seq);
 * lora.unmerge(seq);
 * ```
 */
export function merge(model: Module, opts: MergeOptions = {}): void {
  const layers = _layersOf("lora.merge", model);
  const names = opts.adapters === undefined
    ? [..._wrapInfo.get(model)?.active ?? []]
    : _knownAdapters("lora.merge", model, opts.adapters);
  const plan: _Plan[] = [];
  const done: string[] = [];
  for (const [n, l] of layers) {
    const todo = names.filter((a) => l.adapter(a) !== undefined);
    done.push(...todo.filter((a) => l.mergedAdapters.includes(a)).map((a) => `"${n}" (${a})`));
    if (todo.length > 0) plan.push([n, l, todo]);
  }
  if (done.length > 0) {
    throw new Error(`lora.merge: ${done.join(", ")} already merged; unmerge first`);
  }
  if (plan.length === 0) throw new Error("lora.merge: no layer has the adapters to merge");
  _rewrite("lora.merge", plan, false);
}

/**
 * Takes every merged adapter back out, last merged first, so the layers
 * compute `base(x)` plus their live adapters again (W comes back up to
 * float32 rounding; DoRA divides by the factor remembered at merge, as PEFT).
 *
 * @param model A merged model.
 * @throws {Error} When the model has no LoRA layers or none is merged.
 * @throws {RangeError} When a weight would hold a non-finite value; nothing
 *   is changed then.
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const seq = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * lora.merge(seq);
 * lora.unmerge(seq);
 * ```
 */
export function unmerge(model: Module): void {
  const plan: _Plan[] = _layersOf("lora.unmerge", model)
    .filter(([, l]) => l.merged)
    .map(([n, l]) => [n, l, l.mergedAdapters]);
  if (plan.length === 0) throw new Error("lora.unmerge: no layer is merged");
  _rewrite("lora.unmerge", plan, true);
}
