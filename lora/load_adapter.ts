/**
 * `lora.load`'s checks and updates, without file access (PEFT's
 * `PeftModel.from_pretrained` / `load_adapter`): every key, shape and
 * config field is checked before anything changes.
 *
 * @module
 */

import { noGrad, type Tensor, tensor } from "../tensor/mod.ts";
import { Conv1D, Embedding, type Module } from "../nn/mod.ts";
import type { SafetensorsEntry } from "../io/safetensors.ts";
import { _checkAdapterName, DEFAULT_ADAPTER, LoraLayer } from "./lora_layer.ts";
import { LoraLinear } from "./lora_linear.ts";
import { ModulesToSaveWrapper } from "./modules_to_save.ts";
import { _loraLayers, _wrappers } from "./_parts.ts";
import { _wrapInfo } from "./_state.ts";
import { _selectTargets } from "./targets.ts";
import { _candidates, _inject, _precompute, _saveTargets } from "./inject.ts";
import { _alphaFor, type _Config, _rankFor, _readConfig } from "./peft_config.ts";
import { type _Group, _groupKeys, _keysOf, PEFT_PREFIX } from "./peft_format.ts";

/** Fields `_readConfig` turns into the adapter's record (the rest is written back as read). */
const KNOWN = [
  "alpha_pattern",
  "auto_mapping",
  "base_model_name_or_path",
  "bias",
  "exclude_modules",
  "fan_in_fan_out",
  "inference_mode",
  "init_lora_weights",
  "layers_pattern",
  "layers_to_transform",
  "lora_alpha",
  "lora_dropout",
  "modules_to_save",
  "peft_type",
  "r",
  "rank_pattern",
  "revision",
  "target_modules",
  "use_dora",
  "use_rslora",
];

function _fmt(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

function _checkShape(key: string, got: readonly number[], want: readonly number[]): void {
  if (got.length !== want.length || got.some((s, i) => s !== want[i])) {
    throw new RangeError(
      `lora.load: "${key}" has shape ${_fmt(got)} but the model needs ${_fmt(want)}`,
    );
  }
}

/** Sizes of an adaptable layer: (in, out), an embedding's (num, dim). */
function _dims(base: Module): { inF: number; outF: number; embedding: boolean } {
  if (base instanceof Embedding) {
    return { inF: base.numEmbeddings, outF: base.embeddingDim, embedding: true };
  }
  const l = base as unknown as { inFeatures: number; outFeatures: number };
  return { inF: l.inFeatures, outF: l.outFeatures, embedding: false };
}

/** The layers that will hold the adapter, and the modules-to-save copies to fill. */
interface _Plan {
  layers: string[];
  bases: Map<string, Module>;
  saves: Map<string, [string, Tensor][]>;
}

function _planExisting(model: Module, name: string, groups: Map<string, _Group>): _Plan {
  const layers = _loraLayers(model);
  const holding = layers.filter(([, l]) => l.adapter(name) !== undefined);
  const names = holding.map(([n]) => n);
  const merged = holding.find(([, l]) => l.merged);
  if (merged) throw new Error(`lora.load: "${merged[0]}" is merged; unmerge first`);
  for (const [n, g] of groups) {
    if (!names.includes(n)) {
      throw new Error(
        `lora.load: "${g.a![0]}" names no LoRA layer of the model; its LoRA layers are ${
          names.map((x) => `"${x}"`).join(", ") || "(none)"
        }`,
      );
    }
  }
  const saves = new Map<string, [string, Tensor][]>();
  for (const [n, w] of _wrappers(model)) {
    const c = w.copy(name);
    if (c) saves.set(n, Object.entries(c) as [string, Tensor][]);
  }
  return { layers: names, bases: new Map(holding.map(([n, l]) => [n, l.base])), saves };
}

function _planNew(model: Module, name: string, c: _Config, groups: Map<string, _Group>): _Plan {
  const candidates = _candidates(model, name);
  let layers: string[];
  if (c.targets === null) layers = [...groups.keys()].filter((n) => candidates.has(n));
  else {
    layers = _selectTargets({ ...c, targets: c.targets }, candidates, "lora.load", false);
  }
  for (const [n, g] of groups) {
    if (!layers.includes(n)) {
      throw new Error(
        `lora.load: "${
          g.a![0]
        }" names no layer that adapter_config.json adapts in this model; it adapts ${
          layers.map((x) => `"${x}"`).join(", ") || "(none)"
        }`,
      );
    }
  }
  const bases = new Map<string, Module>();
  for (const n of layers) {
    const m = candidates.get(n)!;
    bases.set(n, m instanceof LoraLayer ? m.base : m);
  }
  const saves = new Map<string, [string, Tensor][]>();
  for (const [n, m] of _saveTargets(model, c.modulesToSave, name, layers, false, "lora.load")) {
    const own = m instanceof ModulesToSaveWrapper ? m.originalModule : m;
    saves.set(n, [...own.namedParameters()]);
  }
  return { layers, bases, saves };
}

/** Checks one layer's entries against the model and the config. */
function _checkLayer(
  n: string,
  g: _Group | undefined,
  base: Module,
  c: _Config,
  existing: LoraLayer | undefined,
  name: string,
  useDora: boolean,
): void {
  const { inF, outF, embedding } = _dims(base);
  const keys = _keysOf(n, embedding);
  if (g === undefined) throw new Error(`lora.load: key "${keys.a}" is missing from the file`);
  if ((g.kind === "embedding") !== embedding) {
    throw new TypeError(
      `lora.load: "${g.a![0]}" is ${
        g.kind === "embedding" ? "an Embedding" : "a Linear"
      } adapter key but "${n}" is ${embedding ? "an Embedding" : "a Linear"} layer`,
    );
  }
  if (!embedding) {
    const conv = base instanceof Conv1D;
    if (conv !== c.fanInFanOut) {
      throw new TypeError(
        `lora.load: adapter_config.json says fan_in_fan_out ${c.fanInFanOut} but "${n}" is ${
          conv ? "a Conv1D ([in, out] weights)" : "a Linear ([out, in] weights)"
        }`,
      );
    }
  }
  const [keyA, a] = g.a!, [keyB, b] = g.b!;
  const r = a.shape[0];
  const want = _rankFor(n, c);
  if (r !== want.r) {
    throw new RangeError(
      `lora.load: "${keyA}" has rank ${r} (shape ${_fmt(a.shape)}) but adapter_config.json ` +
        `says ${want.from} for "${n}"`,
    );
  }
  const rank = existing?.adapter(name)?.rank ?? r;
  _checkShape(keyA, a.shape, [rank, inF]);
  _checkShape(keyB, b.shape, [outF, rank]);
  if (useDora && !g.m) {
    throw new Error(
      `lora.load: key "${keys.m}" is missing from the file (the adapter uses DoRA, use_dora true)`,
    );
  }
  if (!useDora && g.m) {
    throw new Error(
      `lora.load: unexpected key "${g.m[0]}": the adapter does not use DoRA (use_dora false)`,
    );
  }
  if (g.m) _checkShape(g.m[0], g.m[1].shape, [outF]);
}

/**
 * The file's full base weights of adapted layers, `<layer>.base_layer.weight`
 * (PEFT's `save_embedding_layers`, which it sets when `embed_tokens` or
 * `lm_head` is a target): checked against the base, loaded into it as PEFT does.
 */
function _baseLayerKeys(plan: _Plan, rest: Map<string, SafetensorsEntry>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const n of plan.layers) {
    const key = `${PEFT_PREFIX}${n}.base_layer.weight`;
    const e = rest.get(key);
    if (e === undefined) continue;
    const w = (plan.bases.get(n) as unknown as { weight: Tensor }).weight;
    _checkShape(key, e.shape, w.shape);
    out.set(key, w);
  }
  return out;
}

function _checkSaves(plan: _Plan, rest: Map<string, SafetensorsEntry>): void {
  const expected = new Map<string, Tensor>();
  for (const [n, params] of plan.saves) {
    for (const [path, p] of params) expected.set(`${PEFT_PREFIX}${n}.${path}`, p);
  }
  const bases = _baseLayerKeys(plan, rest);
  for (const key of rest.keys()) {
    if (bases.has(key)) continue;
    if (!expected.has(key)) {
      throw new Error(
        `lora.load: unexpected key "${key}" (not a LoRA key, nor a parameter of a modules_to_save module${
          expected.size > 0 ? ` (${[...plan.saves.keys()].map((x) => `"${x}"`).join(", ")})` : ""
        })`,
      );
    }
  }
  for (const [key, p] of expected) {
    const e = rest.get(key);
    if (e === undefined) throw new Error(`lora.load: key "${key}" is missing from the file`);
    _checkShape(key, e.shape, p.shape);
  }
}

/**
 * Checks a PEFT adapter against `model` and, only when everything fits,
 * puts it in as adapter `name`: into the adapter of that name when the
 * model has one (it must be on exactly the file's layers), else as a new
 * adapter on the layers the config selects (wrapping the model first when
 * it is not wrapped, as `PeftModel.from_pretrained`). alpha, rsLora and
 * dropout come from the config.
 *
 * @param model The model (changed only when everything fits).
 * @param tensors The decoded weights file.
 * @param rawConfig The parsed `adapter_config.json`.
 * @param name The adapter's name in the model.
 * @throws {Error} For an unexpected, unknown or missing key, or a merged adapter.
 * @throws {RangeError} For a shape that does not fit, naming key and shapes.
 * @throws {TypeError} For a malformed or unsupported config.
 */
export async function _applyAdapter(
  model: Module,
  tensors: Record<string, SafetensorsEntry>,
  rawConfig: unknown,
  name = DEFAULT_ADAPTER,
): Promise<void> {
  _checkAdapterName("lora.load", name);
  const c = _readConfig(rawConfig);
  const { groups, rest } = _groupKeys(tensors);
  const record = _wrapInfo.get(model)?.adapters.get(name);
  if (record && record.useDora !== c.useDora) {
    throw new TypeError(
      `lora.load: adapter_config.json says use_dora ${c.useDora} but the model's adapter "${name}" has useDora ${record.useDora}`,
    );
  }
  const plan = record ? _planExisting(model, name, groups) : _planNew(model, name, c, groups);
  const lora = new Map(_loraLayers(model));
  for (const n of plan.layers) {
    _checkLayer(n, groups.get(n), plan.bases.get(n)!, c, lora.get(n), name, c.useDora);
  }
  _checkSaves(plan, rest);
  const bases = _baseLayerKeys(plan, rest);
  // Everything fits: from here on nothing throws for the input's sake.
  if (!record) {
    const exact = new RegExp(
      plan.layers.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"),
    );
    const o = {
      targets: exact,
      rank: c.r,
      alpha: c.alpha,
      rankPattern: c.rankPattern,
      alphaPattern: c.alphaPattern,
      dropout: c.dropout,
      rsLora: c.rsLora,
      useDora: c.useDora,
      init: c.init,
      modulesToSave: c.modulesToSave ?? undefined,
    };
    // An SVD / QR init is redone on the base (as PEFT's from_pretrained),
    // so the base becomes the residual the adapter was trained on.
    const io = { strictModulesToSave: false };
    const decomposed = await _precompute(model, "lora.load", name, o, io);
    _inject(model, "lora.load", name, o, { ...io, decomposed });
  }
  const rec = _wrapInfo.get(model)!.adapters.get(name)!;
  Object.assign(rec, {
    rank: c.r,
    alpha: c.alpha,
    rankPattern: c.rankPattern,
    alphaPattern: c.alphaPattern,
    dropout: c.dropout,
    rsLora: c.rsLora,
    init: c.init,
    ...(record ? {} : {
      targets: [c.targets ?? plan.layers],
      modulesToSave: c.modulesToSave,
      excludeModules: c.excludeModules,
      layersToTransform: c.layersToTransform,
      layersPattern: c.layersPattern,
    }),
    extra: Object.fromEntries(Object.entries(c.raw).filter(([k]) => !KNOWN.includes(k))),
  });
  _fill(model, name, c, groups, rest);
  noGrad(() => {
    for (const [key, w] of bases) {
      const e = rest.get(key)!;
      const src = tensor(e.data, { shape: e.shape, backend: w.backend });
      w.assign(src);
      src.dispose();
    }
  });
}

/** Copies the checked values in. */
function _fill(
  model: Module,
  name: string,
  c: _Config,
  groups: Map<string, _Group>,
  rest: Map<string, SafetensorsEntry>,
): void {
  const put = (param: Tensor, e: SafetensorsEntry) => {
    const src = tensor(e.data, { shape: e.shape, backend: param.backend });
    param.assign(src);
    src.dispose();
  };
  noGrad(() => {
    for (const [n, l] of _loraLayers(model)) {
      const a = l.adapter(name);
      if (a === undefined) continue;
      const g = groups.get(n)!;
      a._configure(_alphaFor(n, c), c.rsLora);
      if (l instanceof LoraLinear) a._setDropout(c.dropout);
      l._attach(name);
      put(a.loraA, g.a![1]);
      put(a.loraB, g.b![1]);
      if (a.loraMagnitude && g.m) put(a.loraMagnitude, g.m[1]);
    }
    for (const [n, w] of _wrappers(model)) {
      const copy = w.copy(name);
      if (copy === undefined) continue;
      for (const [path, t] of Object.entries(copy)) {
        put(t as Tensor, rest.get(`${PEFT_PREFIX}${n}.${path}`)!);
      }
    }
  });
}
