/**
 * `wrap`, `addAdapter` and `unwrap`: put LoRA adapters into a model and
 * take them out (PEFT's `get_peft_model`, `add_adapter`, `merge_and_unload`).
 *
 * @module
 */

import { keep, manualSeed, noGrad, scope, type Tensor, tensor } from "../tensor/mod.ts";
import { Embedding, type Module } from "../nn/mod.ts";
import { _isDecompositionInit, type LoraAdapter, type LoraAdapterOptions } from "./adapter.ts";
import { _checkAdapterName, DEFAULT_ADAPTER, LoraLayer } from "./lora_layer.ts";
import { LoraLinear } from "./lora_linear.ts";
import { LoraEmbedding } from "./lora_embedding.ts";
import { ModulesToSaveWrapper } from "./modules_to_save.ts";
import { _adaptableLayers, _selectTargets, type LoraTargets } from "./targets.ts";
import { type _WrapInfo, _wrapInfo } from "./_state.ts";
import { _applyActive, _checkModel, _loraLayers, _wrappers } from "./_parts.ts";
import { _rewrite } from "./merge.ts";
import {
  _checkWrapOptions,
  _layerSize,
  _recordOf,
  type AdapterOptions,
  type WrapOptions,
} from "./options.ts";
import {
  _checkDecomposable,
  _decomposeAsync,
  type _Decomposed,
  _decomposeSync,
  type _DecompositionTarget,
  _readsSync,
} from "./init_decomposition.ts";
import { _scaling } from "./adapter.ts";

export type { AdapterOptions, WrapOptions };

/** Layers a new adapter `name` may go on: plain adaptable layers and LoRA layers without it. */
export function _candidates(model: Module, name: string): Map<string, Module> {
  const plain = _adaptableLayers(model);
  const out = new Map<string, Module>();
  for (const [n, m] of model.namedModules()) {
    if (plain.has(n) || (m instanceof LoraLayer && m.adapter(name) === undefined)) out.set(n, m);
  }
  return out;
}

/**
 * The modules `modules_to_save` names (PEFT's `_set_trainable`: a module
 * whose dotted name ends with an entry), outside LoRA layers and wrappers.
 */
export function _saveTargets(
  model: Module,
  entries: readonly string[] | null | undefined,
  name: string,
  adapted: readonly string[],
  strict: boolean,
  who: string,
): [string, Module][] {
  if (!entries || entries.length === 0) return [];
  const inside = new Set<Module>();
  for (const m of model.namedModules().values()) {
    if (m instanceof LoraLayer || m instanceof ModulesToSaveWrapper) {
      for (const sub of m.namedModules().values()) if (sub !== m) inside.add(sub);
    }
  }
  const picked: [string, Module][] = [];
  for (const [key, m] of model.namedModules()) {
    if (key === "" || inside.has(m) || !entries.some((e) => key.endsWith(e))) continue;
    if (m instanceof LoraLayer || adapted.includes(key)) {
      throw new TypeError(
        `${who}: modules_to_save "${key}" is a LoRA layer; it cannot also be copied`,
      );
    }
    const own = m instanceof ModulesToSaveWrapper ? m.originalModule : m;
    if ([...own.namedModules().values()].some((s) => s instanceof LoraLayer)) {
      throw new TypeError(
        `${who}: modules_to_save "${key}" holds LoRA layers; it cannot be copied`,
      );
    }
    if (m instanceof ModulesToSaveWrapper && m.copy(name) !== undefined) continue;
    picked.push([key, m]);
  }
  const nested = picked.find(([a]) => picked.some(([b]) => b !== a && a.startsWith(b + ".")));
  if (nested) throw new TypeError(`${who}: modules_to_save "${nested[0]}" lies inside another one`);
  if (strict) {
    const names = [...model.namedModules().keys()].filter((k) => k !== "");
    for (const e of entries) {
      if (!names.some((k) => k.endsWith(e))) {
        throw new Error(`${who}: modules_to_save entry "${e}" matches no module of the model`);
      }
    }
  }
  return picked;
}

/** How `_inject` treats modules_to_save entries that match nothing. */
export interface _InjectOptions {
  /** Throw for an entry that matches no module (wrap); a loaded config may name absent heads. */
  strictModulesToSave: boolean;
  /** Make the adapter active even when others are (default: only the first adapter is). */
  activate?: boolean;
  /** An SVD / QR init's results, computed beforehand (where reading W back is asynchronous). */
  decomposed?: Map<string, _Decomposed>;
}

/** Checks and selection shared by `_inject` and the async precomputation. */
function _plan(
  model: Module,
  who: string,
  name: string,
  o: AdapterOptions,
  io: _InjectOptions,
): {
  candidates: Map<string, Module>;
  picked: string[];
  saves: [string, Module][];
  targets: _DecompositionTarget[];
} {
  _checkModel(who, model);
  _checkAdapterName(who, name);
  _checkWrapOptions(who, o);
  const record = _wrapInfo.get(model)?.adapters.get(name);
  if (
    record && (record.useDora !== (o.useDora ?? false) || record.rsLora !== (o.rsLora ?? false))
  ) {
    throw new TypeError(
      `${who}: adapter "${name}" exists with useDora ${record.useDora} and rsLora ${record.rsLora}; more layers must match`,
    );
  }
  const candidates = _candidates(model, name);
  const picked = _selectTargets(o, candidates, who);
  const saves = _saveTargets(model, o.modulesToSave, name, picked, io.strictModulesToSave, who);
  const init = o.init ?? "kaiming";
  const targets: _DecompositionTarget[] = [];
  if (_isDecompositionInit(init)) {
    for (const n of picked) {
      const m = candidates.get(n)!;
      const base = m instanceof LoraLayer ? m.base : m;
      if (base instanceof Embedding) {
        throw new TypeError(`${who}: init "${init}" needs Linear layers; "${n}" is an Embedding`);
      }
      const { rank, alpha } = _layerSize(n, o);
      targets.push([n, base, rank, _scaling(alpha, rank, o.rsLora ?? false)]);
    }
    _checkDecomposable(who, init, targets);
  }
  return { candidates, picked, saves, targets };
}

/**
 * The SVD / QR results an init needs, read back and computed on the host:
 * awaited, so it works on every backend.
 */
export async function _precompute(
  model: Module,
  who: string,
  name: string,
  o: AdapterOptions,
  io: _InjectOptions,
): Promise<Map<string, _Decomposed> | undefined> {
  const { targets } = _plan(model, who, name, o, io);
  if (targets.length === 0) return undefined;
  if (o.seed !== undefined) manualSeed(o.seed);
  return await _decomposeAsync(targets, o.init!);
}

/** Writes an SVD / QR init into a fresh adapter and its base weight. */
function _applyDecomposition(layer: LoraLayer, name: string, init: string, d: _Decomposed): void {
  const a = layer.adapter(name)!;
  const w = (layer.base as unknown as { weight: Tensor }).weight;
  const up = (m: _Decomposed["a"]) => tensor(m.data, { shape: m.shape, backend: w.backend });
  noGrad(() => {
    const [ta, tb, tr] = [up(d.a), up(d.b), up(d.residual)];
    a.loraA.assign(ta);
    a.loraB.assign(tb);
    w.assign(tr);
    tr.dispose();
    a._setInit(init as LoraAdapter["init"], { a: keep(ta), b: keep(tb) });
  });
  if (a.useDora) layer._initMagnitude(a);
}

/**
 * Adds adapter `name` (or extends it to more layers) with every check made
 * before anything changes. Shared by `wrap`, `addAdapter`, `load` and
 * `addWeightedAdapter`.
 *
 * @returns The names of the layers it went on.
 */
export function _inject(
  model: Module,
  who: string,
  name: string,
  o: AdapterOptions,
  io: _InjectOptions = { strictModulesToSave: true },
): string[] {
  const { candidates, picked, saves, targets } = _plan(model, who, name, o, io);
  const info = _wrapInfo.get(model);
  const record = info?.adapters.get(name);
  const init = o.init ?? "kaiming";
  let decomposed = io.decomposed;
  if (targets.length > 0 && decomposed === undefined) {
    const slow = targets.find(([, base]) => !_readsSync(_baseWeightOf(base)));
    if (slow) {
      throw new TypeError(
        `${who}: init "${init}" reads the base weights back, which is asynchronous on the ${
          _baseWeightOf(slow[1]).backend
        } backend: use await lora.wrapAsync(…) there`,
      );
    }
    if (o.seed !== undefined) manualSeed(o.seed);
    decomposed = scope(() => _decomposeSync(targets, init));
  }
  // Everything is checked: from here on nothing throws for the input's sake.
  const state = info ?? _newInfo(model);
  const adapterTensors = new Set<Tensor>();
  for (const [, l] of _loraLayers(model)) {
    for (const n of l.adapterNames) for (const t of l.adapter(n)!.tensors) adapterTensors.add(t);
  }
  for (const [, w] of _wrappers(model)) {
    for (const n of w.adapterNames) for (const t of w.copy(n)!.parameters()) adapterTensors.add(t);
  }
  for (const p of model.parameters()) if (!adapterTensors.has(p)) p.requiresGrad = false;
  if (o.seed !== undefined) manualSeed(o.seed);
  for (const n of picked) {
    const m = candidates.get(n)!;
    const opts: LoraAdapterOptions = {
      ..._layerSize(n, o),
      dropout: o.dropout,
      init: _isDecompositionInit(init) ? "kaiming" : init, // drawn, then replaced from W's decomposition
      rsLora: o.rsLora,
      useDora: o.useDora,
    };
    let layer: LoraLayer;
    if (m instanceof LoraLayer) {
      m._addAdapter(name, opts);
      layer = m;
    } else {
      layer = m instanceof Embedding
        ? new LoraEmbedding(m, opts, name)
        : new LoraLinear(m as ConstructorParameters<typeof LoraLinear>[0], opts, name);
      model.setModule(n, layer);
    }
    const d = decomposed?.get(n);
    if (d) _applyDecomposition(layer, name, init, d);
  }
  for (const [n, m] of saves) {
    if (m instanceof ModulesToSaveWrapper) m._add(name);
    else {
      const w = new ModulesToSaveWrapper(m);
      w._add(name);
      model.setModule(n, w);
    }
  }
  if (record) record.targets.push(...(_recordOf(o).targets));
  else state.adapters.set(name, _recordOf(o));
  if (state.active.length === 0 || io.activate) state.active = [name];
  _applyActive(model, state.active);
  return picked;
}

function _baseWeightOf(base: Module): Tensor {
  return (base as unknown as { weight: Tensor }).weight;
}

function _newInfo(model: Module): _WrapInfo {
  const flags = new Map(model.parameters().map((p) => [p, p.requiresGrad]));
  const info: _WrapInfo = { adapters: new Map(), active: [], flags };
  _wrapInfo.set(model, info);
  return info;
}

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
