/**
 * `wrap`, `addAdapter` and `unwrap`: put LoRA adapters into a model and
 * take them out (PEFT's `get_peft_model`, `add_adapter`, `merge_and_unload`).
 *
 * @module
 */

import { noGrad, type Tensor } from "../tensor/mod.ts";
import type { Module } from "../nn/mod.ts";
import { _checkAdapterName, DEFAULT_ADAPTER, type LoraLayer } from "./lora_layer.ts";
import type { LoraTargets } from "./targets.ts";
import { _wrapInfo } from "./_state.ts";
import { _checkModel, _loraLayers, _wrappers } from "./_parts.ts";
import { _rewrite } from "./merge.ts";
import type { AdapterOptions, WrapOptions } from "./options.ts";
import { _inject, _precompute } from "./inject.ts";

export type { AdapterOptions, WrapOptions };

/**
 * Adds LoRA adapters to `model` in place (PEFT's `get_peft_model`): freezes
 * every parameter of the model, then replaces each selected `nn.Linear`
 * (or `nn.Conv1D`) by a {@link LoraLinear} and each selected
 * `nn.Embedding` by a {@link LoraEmbedding}, whose adapters are the only
 * trainable parameters (with `modulesToSave`, also those modules' copies).
 *
 * The first adapter of a model is active. Wrapping again with the same
 * `adapterName` puts that adapter on more layers; with a new name it adds
 * an inactive adapter, as {@link addAdapter}.
 *
 * @param model The model (changed in place).
 * @param targets Names (a layer matches when its dotted name equals an entry
 *   or ends with `"." + entry`, as PEFT's `target_modules`), a RegExp (full
 *   match of the dotted name) or `"all-linear"` (every Linear but `lm_head`).
 * @param rank The rank r (a positive integer).
 * @param alpha Scaling numerator: scaling = alpha / r (alpha / √r with rsLora).
 * @param opts {@link WrapOptions}: `{ adapterName?, dropout?, init?, rsLora?,
 *   useDora?, seed?, modulesToSave?, excludeModules?, layersToTransform?,
 *   layersPattern?, rankPattern?, alphaPattern? }`.
 * @returns `model`.
 * @throws {TypeError} For a wrong kind of argument.
 * @throws {RangeError} For a bad rank, alpha, dropout or an empty target list.
 * @throws {Error} When a target matches no layer (the message lists the
 *   layers that can be adapted); nothing is changed then.
 * @example
 * ```ts
 * import { lora, nn, type Tensor } from "../mod.ts";
 * class Net extends nn.Module {
 *   q_proj = new nn.Linear(8, 8);
 *   out = new nn.Linear(8, 2);
 *   forward(x: Tensor): Tensor { return this.out.forward(this.q_proj.forward(x).relu()); }
 * }
 * const net = lora.wrap(new Net(), ["q_proj"], 4, 8);
 * console.log([...net.namedParameters().keys()]);
 * // ["q_proj.base.weight", "q_proj.base.bias", "q_proj.loraA", "q_proj.loraB", "out.weight", "out.bias"]
 * ```
 */
export function wrap<M extends Module>(
  model: M,
  targets: LoraTargets,
  rank: number,
  alpha: number,
  opts: WrapOptions = {},
): M {
  const { adapterName = DEFAULT_ADAPTER, ...rest } = opts ?? {};
  _inject(model, "lora.wrap", adapterName, { ...rest, targets, rank, alpha });
  return model;
}

/**
 * {@link wrap} for every backend and every init: the SVD / QR inits
 * (`"pissa"`, `"pissa_niter_N"`, `"olora"`) read the base weights back,
 * which `wrap` can only do at once where the backend reads synchronously
 * (the CPU); this awaits the reads, so it also works on WebGPU. Everything
 * is checked before anything changes; the model is not touched until the
 * factorisations are done.
 *
 * @param model The model (changed in place).
 * @param targets As {@link wrap}.
 * @param rank The rank r.
 * @param alpha Scaling numerator.
 * @param opts {@link WrapOptions}.
 * @returns A promise of `model`.
 * @throws {TypeError} For a wrong kind of argument (the promise rejects).
 * @throws {RangeError} For a bad rank, alpha or dropout.
 * @throws {Error} When a target matches no layer.
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const seq = new nn.Sequential(new nn.Linear(8, 8));
 * await lora.wrapAsync(seq, ["0"], 2, 4, { init: "pissa" });
 * ```
 */
export async function wrapAsync<M extends Module>(
  model: M,
  targets: LoraTargets,
  rank: number,
  alpha: number,
  opts: WrapOptions = {},
): Promise<M> {
  const { adapterName = DEFAULT_ADAPTER, ...rest } = opts ?? {};
  const o = { ...rest, targets, rank, alpha };
  const io = { strictModulesToSave: true };
  const decomposed = await _precompute(model, "lora.wrapAsync", adapterName, o, io);
  _inject(model, "lora.wrapAsync", adapterName, o, { ...io, decomposed });
  return model;
}

/**
 * Adds another adapter, `name`, to a model (PEFT's `add_adapter`). It is not
 * active (and so not trainable) until {@link setAdapter} selects it, unless
 * it is the model's first adapter. It may go on other layers than the
 * adapters before it.
 *
 * @param model The model (changed in place).
 * @param name The new adapter's name (letters, digits, `_`, `-`).
 * @param opts {@link AdapterOptions}: `{ targets, rank, alpha, ...WrapOptions }`.
 * @returns `model`.
 * @throws {Error} When `name` exists already, or a target matches no layer.
 * @throws {TypeError} For a wrong kind of argument.
 * @throws {RangeError} For a bad rank, alpha or dropout.
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const net = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * lora.addAdapter(net, "task2", { targets: ["0"], rank: 4, alpha: 4 });
 * console.log(lora.adapterNames(net), lora.activeAdapters(net)); // ["default", "task2"] ["default"]
 * ```
 */
export function addAdapter<M extends Module>(model: M, name: string, opts: AdapterOptions): M {
  _checkModel("lora.addAdapter", model);
  _checkAdapterName("lora.addAdapter", name);
  if (_wrapInfo.get(model)?.adapters.has(name)) {
    throw new Error(`lora.addAdapter: the model has an adapter named "${name}" already`);
  }
  if (typeof opts !== "object" || opts === null) {
    throw new TypeError(`lora.addAdapter: opts must be { targets, rank, alpha, ... }, got ${opts}`);
  }
  _inject(model, "lora.addAdapter", name, opts);
  return model;
}

/**
 * Merges the active adapters into the base weights (PEFT's
 * `merge_and_unload`), then puts the plain layers back: LoRA layers become
 * their `base`, modules-to-save become the original module holding the
 * active adapter's copy. Every adapter tensor is disposed and each
 * parameter's `requiresGrad` is restored to what it was before `wrap`.
 *
 * @param model A wrapped model (changed in place).
 * @returns `model`.
 * @throws {Error} When the model has no LoRA layers.
 * @throws {RangeError} When merging would put non-finite values into a
 *   weight; nothing is changed then.
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const seq = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * lora.unwrap(seq);
 * console.log(seq.getModule("0") instanceof nn.Linear); // true
 * ```
 */
export function unwrap<M extends Module>(model: M): M {
  _checkModel("lora.unwrap", model);
  const layers = _loraLayers(model);
  if (layers.length === 0) throw new Error("lora.unwrap: the model has no LoRA layers");
  const info = _wrapInfo.get(model);
  const active = info?.active ?? [];
  const plan = layers
    .map(([n, l]) =>
      [n, l, active.filter((a) => l.adapter(a) && !l.mergedAdapters.includes(a))] as [
        string,
        LoraLayer,
        string[],
      ]
    )
    .filter(([, l, names]) => names.length > 0 && l.enabled);
  if (plan.length > 0) _rewrite("lora.unwrap", plan, false);
  for (const [name, layer] of layers) {
    model.setModule(name, layer.base);
    for (const a of layer.adapterNames) layer._removeAdapter(a);
  }
  for (const [name, w] of _wrappers(model)) {
    const chosen = w.activeAdapter;
    if (chosen !== null) {
      const copy = w.copy(chosen)! as unknown as Record<string, Tensor>;
      noGrad(() => {
        for (const [path, p] of w.originalModule.namedParameters()) p.assign(copy[path]);
      });
    }
    for (const a of w.adapterNames) w._remove(a);
    model.setModule(name, w.originalModule);
  }
  if (info !== undefined) {
    for (const p of model.parameters()) {
      const was = info.flags.get(p);
      if (was !== undefined) p.requiresGrad = was;
    }
    _wrapInfo.delete(model);
  }
  return model;
}
