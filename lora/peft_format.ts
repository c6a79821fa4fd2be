/**
 * PEFT's adapter layout, without file access: the tensors and the
 * `adapter_config.json` object that `lora.save` writes, and the checks and
 * updates of `lora.load`.
 *
 * @module
 */

import { noGrad, tensor } from "../tensor/mod.ts";
import { Conv1D, type Module } from "../nn/mod.ts";
import type { SafetensorsEntry, SafetensorsInput } from "../io/safetensors.ts";
import { _loraLayers } from "./merge.ts";
import { _linearLayers, _matchesEntry } from "./targets.ts";
import { _wrapInfo } from "./_state.ts";
import { _wrapNames } from "./wrap.ts";

/**
 * Prefix PEFT puts before every module name in the weights file.
 *
 * @example
 * ```ts
 * import { lora } from "../mod.ts";
 * console.log(`${lora.PEFT_PREFIX}q_proj.lora_A.weight`);
 * // "base_model.model.q_proj.lora_A.weight"
 * ```
 */
export const PEFT_PREFIX = "base_model.model.";

/**
 * The fields of `adapter_config.json` this library reads and writes.
 *
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const seq = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * const dir = await Deno.makeTempDir();
 * await lora.save(seq, dir);
 * const text = await Deno.readTextFile(`${dir}/adapter_config.json`);
 * const config: lora.AdapterConfig = JSON.parse(text);
 * console.log(config.r, config.lora_alpha); // 2 2
 * ```
 */
export interface AdapterConfig {
  /** Always `"LORA"`. */
  peft_type: "LORA";
  /** The rank. */
  r: number;
  /** alpha. */
  lora_alpha: number;
  /** Target names, or a regular-expression source. */
  target_modules: string[] | string;
  /** Adapter input dropout. */
  lora_dropout: number;
  /** alpha / √r scaling. */
  use_rslora: boolean;
  /** Always `"none"`. */
  bias: "none";
  /** Per-layer ranks that differ from `r`. */
  rank_pattern: Record<string, number>;
  /** Per-layer alphas that differ from `lora_alpha`. */
  alpha_pattern: Record<string, number>;
  /** Other fields PEFT writes. */
  [field: string]: unknown;
}

function _fmt(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

function _targetModules(model: Module, names: string[]): string[] | string {
  const specs = _wrapInfo.get(model)?.targets ?? [];
  if (specs.length === 1 && specs[0] instanceof RegExp) return specs[0].source;
  if (specs.length > 0 && specs.every((s) => Array.isArray(s))) {
    return [...new Set(specs.flatMap((s) => s as string[]))];
  }
  if (specs.length === 1 && specs[0] === "all-linear") {
    return [...new Set(names.map((n) => n.slice(n.lastIndexOf(".") + 1)))].sort();
  }
  return names;
}

/**
 * What `lora.save` writes for a wrapped model.
 *
 * @param model A wrapped model.
 * @returns The float32 tensors by PEFT key and the config object.
 * @throws {Error} When the model has no LoRA layers.
 */
export async function _adapterContents(
  model: Module,
): Promise<{ tensors: Record<string, SafetensorsInput>; config: AdapterConfig }> {
  const layers = _loraLayers(model);
  if (layers.length === 0) throw new Error("lora.save: the model has no LoRA layers");
  const tensors: Record<string, SafetensorsInput> = {};
  for (const [name, l] of layers) {
    const key = `${PEFT_PREFIX}${name}`;
    tensors[`${key}.lora_A.weight`] = {
      shape: [...l.loraA.shape],
      data: (await l.loraA.data()) as Float32Array,
    };
    tensors[`${key}.lora_B.weight`] = {
      shape: [...l.loraB.shape],
      data: (await l.loraB.data()) as Float32Array,
    };
  }
  const [, first] = layers[0];
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  for (const [name, l] of layers) {
    if (l.rank !== first.rank) rankPattern[name] = l.rank;
    if (l.alpha !== first.alpha) alphaPattern[name] = l.alpha;
  }
  const names = layers.map(([n]) => n);
  const init = _wrapInfo.get(model)?.init ?? first.init;
  // A pretrained causal LM (models/) says what it is and where it came from,
  // as PEFT's config does for a model loaded with from_pretrained.
  const meta = model as { config?: { model_type?: unknown }; nameOrPath?: unknown };
  const causal = typeof meta.config?.model_type === "string";
  const config: AdapterConfig = {
    alpha_pattern: alphaPattern,
    auto_mapping: null,
    base_model_name_or_path: typeof meta.nameOrPath === "string" ? meta.nameOrPath : null,
    bias: "none",
    fan_in_fan_out: first.fanInFanOut,
    inference_mode: true,
    init_lora_weights: init === "gaussian" ? "gaussian" : true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: first.alpha,
    lora_dropout: first.dropoutP,
    modules_to_save: null,
    peft_type: "LORA",
    r: first.rank,
    rank_pattern: rankPattern,
    revision: null,
    target_modules: _targetModules(model, names),
    task_type: causal ? "CAUSAL_LM" : null,
    use_dora: false,
    use_rslora: first.rsLora,
  };
  return { tensors, config };
}

/** The checked fields of a config. */
interface _Config {
  r: number;
  alpha: number;
  dropout: number;
  rsLora: boolean;
  fanInFanOut: boolean;
  alphaPattern: Record<string, number>;
  rankPattern: Record<string, number>;
  targets: unknown;
}

function _readConfig(raw: unknown): _Config {
  const bad = (what: string): never => {
    throw new TypeError(`lora.load: adapter_config.json: ${what}`);
  };
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) bad("not an object");
  const c = raw as Record<string, unknown>;
  if (c.peft_type !== undefined && c.peft_type !== "LORA") {
    bad(`peft_type is ${JSON.stringify(c.peft_type)}, not "LORA"`);
  }
  if (typeof c.r !== "number" || !Number.isInteger(c.r) || c.r < 1) {
    bad(`r must be a positive integer, got ${JSON.stringify(c.r)}`);
  }
  const alpha = c.lora_alpha ?? c.r;
  if (typeof alpha !== "number") bad(`lora_alpha must be a number, got ${JSON.stringify(alpha)}`);
  const dropout = c.lora_dropout ?? 0;
  if (typeof dropout !== "number" || !(dropout >= 0 && dropout < 1)) {
    bad(`lora_dropout must be in [0, 1), got ${JSON.stringify(dropout)}`);
  }
  for (const [field, ok] of [["bias", "none"], ["use_dora", false]]) {
    if (c[field as string] !== undefined && c[field as string] !== ok) {
      bad(
        `${field} ${JSON.stringify(c[field as string])} is not supported (only ${
          JSON.stringify(ok)
        })`,
      );
    }
  }
  const ap = c.alpha_pattern ?? {};
  if (typeof ap !== "object" || ap === null || Array.isArray(ap)) {
    bad("alpha_pattern must be an object");
  }
  for (const [k, v] of Object.entries(ap as object)) {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      bad(`alpha_pattern["${k}"] must be a finite number, got ${JSON.stringify(v)}`);
    }
  }
  const rp = c.rank_pattern ?? {};
  if (typeof rp !== "object" || rp === null || Array.isArray(rp)) {
    bad("rank_pattern must be an object");
  }
  for (const [k, v] of Object.entries(rp as object)) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      bad(`rank_pattern["${k}"] must be a positive integer, got ${JSON.stringify(v)}`);
    }
  }
  return {
    r: c.r as number,
    alpha: alpha as number,
    dropout: dropout as number,
    rsLora: c.use_rslora === true,
    fanInFanOut: c.fan_in_fan_out === true,
    alphaPattern: ap as Record<string, number>,
    rankPattern: rp as Record<string, number>,
    targets: c.target_modules,
  };
}

/** Groups the file's keys by module name; throws on a key it cannot place. */
function _groupKeys(
  tensors: Record<string, SafetensorsEntry>,
): Map<string, { a?: [string, SafetensorsEntry]; b?: [string, SafetensorsEntry] }> {
  const groups = new Map<
    string,
    { a?: [string, SafetensorsEntry]; b?: [string, SafetensorsEntry] }
  >();
  const re = /^base_model\.model\.(.+)\.lora_([AB])(?:\.default)?\.weight$/;
  for (const [key, entry] of Object.entries(tensors)) {
    const m = re.exec(key);
    if (m === null) {
      throw new Error(
        `lora.load: unexpected key "${key}" (expected "${PEFT_PREFIX}<module>.lora_A.weight" or ".lora_B.weight")`,
      );
    }
    if (entry.shape.length !== 2) {
      throw new RangeError(`lora.load: "${key}" has shape ${_fmt(entry.shape)}, expected 2-D`);
    }
    const g = groups.get(m[1]) ?? {};
    g[m[2] === "A" ? "a" : "b"] = [key, entry];
    groups.set(m[1], g);
  }
  for (const [name, g] of groups) {
    if (!g.a || !g.b) {
      const missing = `${PEFT_PREFIX}${name}.lora_${g.a ? "B" : "A"}.weight`;
      throw new Error(`lora.load: key "${missing}" is missing from the file`);
    }
  }
  return groups as Map<string, { a: [string, SafetensorsEntry]; b: [string, SafetensorsEntry] }>;
}

/** The rank the config gives a layer: its `rank_pattern` entry, else `r` (PEFT's rule). */
function _rankFor(name: string, c: _Config): { r: number; from: string } {
  for (const [k, v] of Object.entries(c.rankPattern)) {
    if (_matchesEntry(name, k)) return { r: v, from: `rank_pattern["${k}"] = ${v}` };
  }
  return { r: c.r, from: `r = ${c.r}` };
}

function _alphaFor(name: string, c: _Config): number {
  for (const [k, v] of Object.entries(c.alphaPattern)) {
    if (_matchesEntry(name, k) && typeof v === "number") return v;
  }
  return c.alpha;
}

function _checkShape(key: string, got: readonly number[], want: readonly number[]): void {
  if (got.length !== want.length || got.some((s, i) => s !== want[i])) {
    throw new RangeError(
      `lora.load: "${key}" has shape ${_fmt(got)} but the model needs ${_fmt(want)}`,
    );
  }
}

/**
 * Checks a PEFT adapter against `model` and, only when every key and shape
 * fits, copies it in. A wrapped model must have exactly the file's layers;
 * an unwrapped one is wrapped at the file's layers first. alpha, rsLora and
 * dropout come from the config.
 *
 * @param model The model (changed only when everything fits).
 * @param tensors The decoded weights file.
 * @param rawConfig The parsed `adapter_config.json`.
 * @throws {Error} For an unexpected, unknown or missing key, or a merged model.
 * @throws {RangeError} For a shape that does not fit, naming key and shapes.
 * @throws {TypeError} For a malformed or unsupported config.
 */
export function _applyAdapter(
  model: Module,
  tensors: Record<string, SafetensorsEntry>,
  rawConfig: unknown,
): void {
  const c = _readConfig(rawConfig);
  const groups = _groupKeys(tensors);
  const layers = new Map(_loraLayers(model));
  const wrapped = layers.size > 0;
  const candidates = wrapped ? layers : _linearLayers(model);
  const names = [...candidates.keys()];
  for (const [name, g] of groups) {
    if (!candidates.has(name)) {
      const kind = wrapped ? "LoRA layer" : "Linear layer";
      throw new Error(
        `lora.load: "${g.a![0]}" names no ${kind} of the model; its ${kind}s are ${
          names.map((n) => `"${n}"`).join(", ") || "(none)"
        }`,
      );
    }
  }
  // fan_in_fan_out says how the base stores its weight: it must be how this
  // model's layers store theirs (Conv1D [in, out], Linear [out, in]).
  for (const name of groups.keys()) {
    const l = layers.get(name);
    const conv = l ? l.fanInFanOut : _linearLayers(model).get(name) instanceof Conv1D;
    if (conv !== c.fanInFanOut) {
      throw new TypeError(
        `lora.load: adapter_config.json says fan_in_fan_out ${c.fanInFanOut} but "${name}" is ${
          conv ? "a Conv1D ([in, out] weights)" : "a Linear ([out, in] weights)"
        }`,
      );
    }
  }
  if (wrapped) {
    const merged = names.filter((n) => layers.get(n)!.merged);
    if (merged.length > 0) throw new Error(`lora.load: "${merged[0]}" is merged; unmerge first`);
    const absent = names.find((n) => !groups.has(n));
    if (absent !== undefined) {
      throw new Error(
        `lora.load: key "${PEFT_PREFIX}${absent}.lora_A.weight" is missing from the file`,
      );
    }
  }
  const ranks = new Map<string, number>();
  for (const [name, g] of groups) {
    const [keyA, a] = g.a!;
    const [keyB, b] = g.b!;
    const r = a.shape[0];
    const want = _rankFor(name, c);
    if (r !== want.r) {
      throw new RangeError(
        `lora.load: "${keyA}" has rank ${r} (shape ${_fmt(a.shape)}) but adapter_config.json ` +
          `says ${want.from} for "${name}"`,
      );
    }
    const l = layers.get(name);
    const lin = l?.base ?? _linearLayers(model).get(name)!;
    _checkShape(keyA, a.shape, [l?.rank ?? r, lin.inFeatures]);
    _checkShape(keyB, b.shape, [lin.outFeatures, r]);
    ranks.set(name, r);
  }
  // Everything fits: from here on nothing throws for the input's sake.
  if (!wrapped) {
    const order = names.filter((n) => groups.has(n));
    _wrapNames(model, order, (n) => ranks.get(n)!, (n) => _alphaFor(n, c), {
      dropout: c.dropout,
      rsLora: c.rsLora,
    });
    const t = c.targets;
    const isList = Array.isArray(t) && t.every((x) => typeof x === "string");
    _wrapInfo.get(model)!.targets.push(isList ? t as string[] : order);
  }
  noGrad(() => {
    for (const [name, l] of _loraLayers(model)) {
      const g = groups.get(name)!;
      l._configure(_alphaFor(name, c), c.rsLora);
      for (const [param, [, e]] of [[l.loraA, g.a!], [l.loraB, g.b!]] as const) {
        const src = tensor(e.data, { shape: e.shape, backend: param.backend });
        param.assign(src);
        src.dispose();
      }
    }
  });
}
