/**
 * Putting an adapter into a model, with every check made before anything
 * changes: which layers (PEFT's matching), which modules are copied
 * (`modules_to_save`), SVD / QR inits, the bookkeeping, and which adapters
 * are active. Shared by `wrap`, `wrapAsync`, `addAdapter`, `load` and
 * `addWeightedAdapter`.
 *
 * @module
 */

import { keep, manualSeed, noGrad, scope, type Tensor, tensor } from "../tensor/mod.ts";
import { Embedding, type Module } from "../nn/mod.ts";
import {
  _isDecompositionInit,
  _scaling,
  type LoraAdapter,
  type LoraAdapterOptions,
} from "./adapter.ts";
import { _checkAdapterName, LoraLayer } from "./lora_layer.ts";
import { LoraLinear } from "./lora_linear.ts";
import { LoraEmbedding } from "./lora_embedding.ts";
import { ModulesToSaveWrapper } from "./modules_to_save.ts";
import { _adaptableLayers, _selectTargets } from "./targets.ts";
import { type _WrapInfo, _wrapInfo } from "./_state.ts";
import { _applyActive, _checkModel, _loraLayers, _wrappers } from "./_parts.ts";
import { _checkWrapOptions, _layerSize, _recordOf, type AdapterOptions } from "./options.ts";
import {
  _checkDecomposable,
  _decomposeAsync,
  type _Decomposed,
  _decomposeSync,
  type _DecompositionTarget,
  _readsSync,
} from "./init_decomposition.ts";

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
