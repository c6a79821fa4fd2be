/**
 * `adapter_config.json` (PEFT's `LoraConfig.to_dict()`): what `lora.save`
 * writes for an adapter, and the checked reading of one for `lora.load`.
 *
 * @module
 */

import type { Module } from "../nn/mod.ts";
import type { LoraInit } from "./adapter.ts";
import { _isDecompositionInit } from "./adapter.ts";
import type { LoraLayer } from "./lora_layer.ts";
import { LoraLinear } from "./lora_linear.ts";
import { _patternKey, type LoraTargets } from "./targets.ts";
import type { _AdapterRecord } from "./_state.ts";

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
  /** DoRA. */
  use_dora: boolean;
  /** Always `"none"`. */
  bias: "none";
  /** Per-layer ranks that differ from `r`. */
  rank_pattern: Record<string, number>;
  /** Per-layer alphas that differ from `lora_alpha`. */
  alpha_pattern: Record<string, number>;
  /** Modules copied and trained whole. */
  modules_to_save: string[] | null;
  /** Other fields PEFT writes. */
  [field: string]: unknown;
}

/** The checked fields of a config. */
export interface _Config {
  r: number;
  alpha: number;
  dropout: number;
  rsLora: boolean;
  useDora: boolean;
  fanInFanOut: boolean;
  init: LoraInit;
  alphaPattern: Record<string, number>;
  rankPattern: Record<string, number>;
  /** null: the config names none (the file's layers are used). */
  targets: LoraTargets | null;
  modulesToSave: string[] | null;
  excludeModules: string[] | RegExp | null;
  layersToTransform: number | number[] | null;
  layersPattern: string | string[] | null;
  /** Every field as read, for writing back the ones this library does not use. */
  raw: Record<string, unknown>;
}

/** Fields that change what an adapter computes and that this library does not do: their neutral values. */
const UNSUPPORTED: [field: string, neutral: (v: unknown) => boolean][] = [
  ["lora_bias", (v) => v === false],
  ["use_qalora", (v) => v === false],
  ["use_bdlora", (v) => v === null || v === false],
  ["velora_config", (v) => v === null],
  ["alora_invocation_tokens", (v) => v === null],
  ["monteclora_config", (v) => v === null],
  ["arrow_config", (v) => v === null],
  ["kasa_config", (v) => v === null],
  ["layer_replication", (v) => v === null],
  ["trainable_token_indices", (v) => v === null],
  ["target_parameters", (v) => v === null || (Array.isArray(v) && v.length === 0)],
];

function _bad(what: string): never {
  throw new TypeError(`lora.load: adapter_config.json: ${what}`);
}

function _stringList(field: string, v: unknown): string[] | null {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) {
    _bad(`${field} must be a list of strings or null, got ${JSON.stringify(v)}`);
  }
  return [...v];
}

function _pattern(
  field: string,
  v: unknown,
  ok: (x: unknown) => boolean,
  what: string,
): Record<string, number> {
  const p = v ?? {};
  if (typeof p !== "object" || p === null || Array.isArray(p)) _bad(`${field} must be an object`);
  for (const [k, x] of Object.entries(p as object)) {
    if (!ok(x)) _bad(`${field}["${k}"] must be ${what}, got ${JSON.stringify(x)}`);
  }
  return { ...(p as Record<string, number>) };
}

function _regex(field: string, source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (e) {
    return _bad(
      `${field} ${JSON.stringify(source)} is not a regular expression this library reads: ${
        (e as Error).message
      }`,
    );
  }
}

function _init(v: unknown): LoraInit {
  if (v === undefined || v === true || v === false || v === null) return "kaiming";
  if (v === "gaussian" || v === "eva" || v === "orthogonal") {
    return v === "gaussian" ? v : "kaiming";
  }
  if (typeof v === "string" && _isDecompositionInit(v)) return v as LoraInit;
  return _bad(
    `init_lora_weights ${
      JSON.stringify(v)
    } is not supported (it changes the base weights or the training)`,
  );
}

/**
 * Reads and checks a parsed `adapter_config.json`. Unknown fields are
 * accepted; a field whose value changes the math and that this library does
 * not implement is refused, naming it.
 *
 * @param raw The parsed JSON.
 * @returns The checked fields.
 * @throws {TypeError} For a malformed or unsupported config.
 */
export function _readConfig(raw: unknown): _Config {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) _bad("not an object");
  const c = raw as Record<string, unknown>;
  if (c.peft_type !== undefined && c.peft_type !== "LORA") {
    _bad(`peft_type is ${JSON.stringify(c.peft_type)}, not "LORA"`);
  }
  if (typeof c.r !== "number" || !Number.isInteger(c.r) || c.r < 1) {
    _bad(`r must be a positive integer, got ${JSON.stringify(c.r)}`);
  }
  const alpha = c.lora_alpha ?? c.r;
  if (typeof alpha !== "number" || !Number.isFinite(alpha)) {
    _bad(`lora_alpha must be a number, got ${JSON.stringify(alpha)}`);
  }
  const dropout = c.lora_dropout ?? 0;
  if (typeof dropout !== "number" || !(dropout >= 0 && dropout < 1)) {
    _bad(`lora_dropout must be in [0, 1), got ${JSON.stringify(dropout)}`);
  }
  if (c.bias !== undefined && c.bias !== "none") {
    _bad(`bias ${JSON.stringify(c.bias)} is not supported (only "none")`);
  }
  for (const [field, neutral] of UNSUPPORTED) {
    if (c[field] !== undefined && !neutral(c[field])) {
      _bad(
        `${field} ${
          JSON.stringify(c[field])
        } is not supported (it changes what the adapter computes)`,
      );
    }
  }
  for (const flag of ["use_dora", "use_rslora", "fan_in_fan_out"]) {
    if (c[flag] !== undefined && c[flag] !== null && typeof c[flag] !== "boolean") {
      _bad(`${flag} must be a boolean, got ${JSON.stringify(c[flag])}`);
    }
  }
  const t = c.target_modules;
  let targets: LoraTargets | null;
  if (t === null || t === undefined) targets = null;
  else if (typeof t === "string") {
    targets = t.toLowerCase() === "all-linear" ? "all-linear" : _regex("target_modules", t);
  } else targets = _stringList("target_modules", t);
  const ex = c.exclude_modules;
  const excludeModules = typeof ex === "string"
    ? _regex("exclude_modules", ex)
    : _stringList("exclude_modules", ex);
  const lt = c.layers_to_transform ?? null;
  if (
    lt !== null && !Number.isInteger(lt) &&
    !(Array.isArray(lt) && lt.every((i) => Number.isInteger(i)))
  ) {
    _bad(
      `layers_to_transform must be an integer, a list of integers or null, got ${
        JSON.stringify(lt)
      }`,
    );
  }
  const lp = c.layers_pattern ?? null;
  const layersPattern = typeof lp === "string" ? lp : _stringList("layers_pattern", lp);
  for (const [k] of Object.entries((c.rank_pattern ?? {}) as object)) _regex("rank_pattern key", k);
  for (const [k] of Object.entries((c.alpha_pattern ?? {}) as object)) {
    _regex("alpha_pattern key", k);
  }
  return {
    r: c.r as number,
    alpha: alpha as number,
    dropout: dropout as number,
    rsLora: c.use_rslora === true,
    useDora: c.use_dora === true,
    fanInFanOut: c.fan_in_fan_out === true,
    init: _init(c.init_lora_weights),
    alphaPattern: _pattern(
      "alpha_pattern",
      c.alpha_pattern,
      (x) => typeof x === "number" && Number.isFinite(x),
      "a finite number",
    ),
    rankPattern: _pattern(
      "rank_pattern",
      c.rank_pattern,
      (x) => Number.isInteger(x) && (x as number) >= 1,
      "a positive integer",
    ),
    targets,
    modulesToSave: _stringList("modules_to_save", c.modules_to_save),
    excludeModules,
    layersToTransform: lt as number | number[] | null,
    layersPattern,
    raw: { ...c },
  };
}

/** The rank the config gives a layer: its `rank_pattern` entry, else `r` (PEFT's rule). */
export function _rankFor(name: string, c: _Config): { r: number; from: string } {
  const k = _patternKey(Object.keys(c.rankPattern), name);
  if (k !== undefined) {
    return { r: c.rankPattern[k], from: `rank_pattern["${k}"] = ${c.rankPattern[k]}` };
  }
  return { r: c.r, from: `r = ${c.r}` };
}

/** The alpha the config gives a layer. */
export function _alphaFor(name: string, c: _Config): number {
  const k = _patternKey(Object.keys(c.alphaPattern), name);
  return k === undefined ? c.alpha : c.alphaPattern[k];
}

function _targetModules(record: _AdapterRecord, names: string[]): string[] | string {
  const specs = record.targets;
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
 * `rank_pattern` / `alpha_pattern` to write: an entry for each layer whose
 * value the given patterns and the default do not give (first, so that
 * PEFT's first-match rule finds it), then the given patterns.
 */
function _patternOut(
  layers: [string, number][],
  given: Record<string, number>,
  fallback: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, v] of layers) {
    const k = _patternKey(Object.keys(given), name);
    if ((k === undefined ? fallback : given[k]) !== v) out[name] = v;
  }
  return { ...out, ...given };
}

/**
 * The `adapter_config.json` object of one adapter.
 *
 * @param model The model (a `config.model_type` marks a causal LM).
 * @param record The adapter's config record.
 * @param layers The layers that hold it, with their names.
 * @param name The adapter's name.
 * @returns The config, keys sorted.
 */
export function _configOf(
  model: Module,
  record: _AdapterRecord,
  layers: [string, LoraLayer][],
  name: string,
): AdapterConfig {
  const ad = layers.map(([n, l]) => [n, l.adapter(name)!] as const);
  const linear = layers.find(([, l]) => l instanceof LoraLinear)?.[1] as LoraLinear | undefined;
  const firstLinear = linear?.adapter(name);
  const init = record.init;
  // A pretrained causal LM (models/) says what it is and where it came from,
  // as PEFT's config does for a model loaded with from_pretrained.
  const meta = model as { config?: { model_type?: unknown }; nameOrPath?: unknown };
  const causal = typeof meta.config?.model_type === "string";
  const ex = record.excludeModules;
  const config: AdapterConfig = {
    ...record.extra,
    alpha_pattern: _patternOut(ad.map(([n, a]) => [n, a.alpha]), record.alphaPattern, record.alpha),
    auto_mapping: null,
    base_model_name_or_path: typeof meta.nameOrPath === "string" ? meta.nameOrPath : null,
    bias: "none",
    exclude_modules: ex instanceof RegExp ? ex.source : ex,
    fan_in_fan_out: linear?.fanInFanOut ?? false,
    inference_mode: true,
    init_lora_weights: init === "kaiming" ? true : init,
    layers_pattern: record.layersPattern,
    layers_to_transform: record.layersToTransform,
    lora_alpha: record.alpha,
    lora_dropout: firstLinear?.dropoutP ?? record.dropout,
    modules_to_save: record.modulesToSave,
    peft_type: "LORA",
    r: record.rank,
    rank_pattern: _patternOut(ad.map(([n, a]) => [n, a.rank]), record.rankPattern, record.rank),
    revision: null,
    target_modules: _targetModules(record, layers.map(([n]) => n)),
    task_type: causal ? "CAUSAL_LM" : (record.extra.task_type as string | undefined) ?? null,
    use_dora: record.useDora,
    use_rslora: record.rsLora,
  };
  return Object.fromEntries(
    Object.entries(config).sort(([a], [b]) => a < b ? -1 : 1),
  ) as AdapterConfig;
}
