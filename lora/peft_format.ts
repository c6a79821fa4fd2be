/**
 * PEFT's adapter tensors, without file access: the key names
 * (`get_peft_model_state_dict` with the adapter name removed) that
 * `lora.save` writes for one adapter, and their parsing for `lora.load`.
 *
 * @module
 */

import type { Module } from "../nn/mod.ts";
import type { Tensor } from "../tensor/mod.ts";
import type { SafetensorsEntry, SafetensorsInput } from "../io/safetensors.ts";
import { LoraEmbedding } from "./lora_embedding.ts";
import { _loraLayers, _wrappers } from "./_parts.ts";
import { _wrapInfo } from "./_state.ts";
import { _configOf, type AdapterConfig } from "./peft_config.ts";
import { DEFAULT_ADAPTER } from "./lora_layer.ts";

export type { AdapterConfig };

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

/** The file keys of one layer's adapter (PEFT's names). */
export function _keysOf(layer: string, embedding: boolean): { a: string; b: string; m: string } {
  const k = `${PEFT_PREFIX}${layer}`;
  return embedding
    ? { a: `${k}.lora_embedding_A`, b: `${k}.lora_embedding_B`, m: `${k}.lora_magnitude_vector` }
    : { a: `${k}.lora_A.weight`, b: `${k}.lora_B.weight`, m: `${k}.lora_magnitude_vector` };
}

async function _host(t: Tensor): Promise<SafetensorsInput> {
  return { shape: [...t.shape], data: (await t.data()) as Float32Array };
}

/**
 * What `lora.save` writes for one adapter: its tensors by PEFT key (A, B,
 * the DoRA magnitude, embedding adapters, modules-to-save copies under the
 * module's own names) and its config.
 *
 * @param model A wrapped model.
 * @param name The adapter.
 * @returns The float32 tensors by PEFT key and the config object.
 * @throws {Error} When the model has no LoRA layers or no such adapter.
 */
export async function _adapterContents(
  model: Module,
  name = DEFAULT_ADAPTER,
  convert = false,
): Promise<{ tensors: Record<string, SafetensorsInput>; config: AdapterConfig }> {
  const all = _loraLayers(model);
  if (all.length === 0) throw new Error("lora.save: the model has no LoRA layers");
  const record = _wrapInfo.get(model)?.adapters.get(name);
  if (record === undefined) throw new Error(`lora.save: the model has no adapter named "${name}"`);
  const layers = all.filter(([, l]) => l.adapter(name) !== undefined);
  const converting = convert && _checkConvertible(record, layers, name);
  const tensors: Record<string, SafetensorsInput> = {};
  for (const [n, l] of layers) {
    const a = l.adapter(name)!;
    const keys = _keysOf(n, l instanceof LoraEmbedding);
    if (converting) {
      // PEFT's subtract_mutated_init: W_res + s·B·A = W + s·(B·A − B₀·A₀) = W + s·[B | −B₀]·[A; A₀].
      // A layer the init did not decompose kept its base: A₀ = B₀ = 0 there.
      const i = a._initial;
      const zero = (t: Tensor) => ({ shape: [...t.shape], data: new Float32Array(t.size) });
      const a0 = i ? await _host(i.a) : zero(a.loraA);
      const negB0 = i ? await _host(i.b) : zero(a.loraB);
      negB0.data = negB0.data.map((v) => -v);
      tensors[keys.a] = _joined(await _host(a.loraA), a0, 0);
      tensors[keys.b] = _joined(await _host(a.loraB), negB0, 1);
    } else {
      tensors[keys.a] = await _host(a.loraA);
      tensors[keys.b] = await _host(a.loraB);
    }
    if (a.loraMagnitude) tensors[keys.m] = await _host(a.loraMagnitude);
  }
  for (const [n, w] of _wrappers(model)) {
    const copy = w.copy(name);
    if (copy === undefined) continue;
    for (const [path, t] of Object.entries(copy)) {
      tensors[`${PEFT_PREFIX}${n}.${path}`] = await _host(t as Tensor);
    }
  }
  const config = _configOf(model, record, layers, name);
  return { tensors, config: converting ? _convertedConfig(config) : config };
}

/**
 * Whether an adapter's saved form can be converted to plain LoRA on the
 * original base (PEFT's `path_initial_model_for_weight_conversion`).
 *
 * @throws {TypeError} For DoRA (its magnitudes belong to the residual base),
 *   or rsLora with rank / alpha patterns (PEFT refuses that too).
 */
function _checkConvertible(
  record: { init: string; useDora: boolean; rsLora: boolean },
  layers: [string, { adapter(n: string): { _initial?: unknown } | undefined }][],
  name: string,
): boolean {
  if (layers.every(([, l]) => l.adapter(name)!._initial === undefined)) return false;
  if (record.useDora) {
    throw new TypeError(
      `lora.save: adapter "${name}" uses DoRA; its magnitudes belong to the ${record.init} residual, so it cannot be saved as plain LoRA`,
    );
  }
  return true;
}

/** A and A₀ stacked by rows (dim 0), or B and −B₀ by columns (dim 1). */
function _joined(x: SafetensorsInput, y: SafetensorsInput, dim: 0 | 1): SafetensorsInput {
  const [r1, c1] = x.shape, [r2, c2] = y.shape;
  if (dim === 0) {
    const data = new Float32Array((r1 + r2) * c1);
    data.set(x.data, 0);
    data.set(y.data, r1 * c1);
    return { shape: [r1 + r2, c1], data };
  }
  const data = new Float32Array(r1 * (c1 + c2));
  for (let i = 0; i < r1; i++) {
    data.set(x.data.subarray(i * c1, (i + 1) * c1), i * (c1 + c2));
    data.set(y.data.subarray(i * c2, (i + 1) * c2), i * (c1 + c2) + c1);
  }
  return { shape: [r1, c1 + c2], data };
}

/** The config of a converted adapter: twice the rank, alpha keeping the scaling, a plain init. */
function _convertedConfig(c: AdapterConfig): AdapterConfig {
  if (c.use_rslora && (Object.keys(c.rank_pattern).length || Object.keys(c.alpha_pattern).length)) {
    throw new TypeError(
      "lora.save: converting to plain LoRA is not supported with use_rslora and rank_pattern / alpha_pattern (as PEFT)",
    );
  }
  const twice = (p: Record<string, number>) =>
    Object.fromEntries(Object.entries(p).map(([k, v]) => [k, 2 * v]));
  return {
    ...c,
    init_lora_weights: true,
    r: 2 * c.r,
    lora_alpha: c.use_rslora ? c.lora_alpha * Math.SQRT2 : 2 * c.lora_alpha,
    rank_pattern: twice(c.rank_pattern),
    alpha_pattern: twice(c.alpha_pattern),
  };
}

/** One layer's entries in a file. */
export interface _Group {
  kind: "linear" | "embedding";
  a?: [string, SafetensorsEntry];
  b?: [string, SafetensorsEntry];
  m?: [string, SafetensorsEntry];
}

const LINEAR_KEY = /^base_model\.model\.(.+)\.lora_([AB])(?:\.default)?\.weight$/;
const EMBEDDING_KEY = /^base_model\.model\.(.+)\.lora_embedding_([AB])$/;
const MAGNITUDE_KEY = /^base_model\.model\.(.+)\.lora_magnitude_vector$/;

function _fmt(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/**
 * Groups a file's adapter keys by layer name; other keys under the prefix
 * (modules-to-save copies) are returned as they are.
 *
 * @param tensors The decoded weights file.
 * @returns The groups and the other keys.
 * @throws {Error} For a key outside PEFT's prefix, or a layer with A but no B.
 * @throws {RangeError} For an adapter tensor of the wrong rank.
 */
export function _groupKeys(
  tensors: Record<string, SafetensorsEntry>,
): { groups: Map<string, _Group>; rest: Map<string, SafetensorsEntry> } {
  const groups = new Map<string, _Group>();
  const rest = new Map<string, SafetensorsEntry>();
  const put = (
    name: string,
    kind: _Group["kind"],
    slot: "a" | "b" | "m",
    key: string,
    e: SafetensorsEntry,
  ) => {
    const g = groups.get(name) ?? { kind };
    if (slot !== "m" && g.kind !== kind && (g.a || g.b)) {
      throw new Error(`lora.load: "${key}" mixes Linear and Embedding adapter keys for "${name}"`);
    }
    if (slot !== "m") g.kind = kind;
    g[slot] = [key, e];
    groups.set(name, g);
  };
  for (const [key, entry] of Object.entries(tensors)) {
    const linear = LINEAR_KEY.exec(key);
    const lin = linear ?? EMBEDDING_KEY.exec(key);
    const mag = MAGNITUDE_KEY.exec(key);
    if (lin) {
      if (entry.shape.length !== 2) {
        throw new RangeError(`lora.load: "${key}" has shape ${_fmt(entry.shape)}, expected 2-D`);
      }
      const kind = linear ? "linear" : "embedding";
      put(lin[1], kind, lin[2] === "A" ? "a" : "b", key, entry);
    } else if (mag) {
      if (entry.shape.length !== 1) {
        throw new RangeError(`lora.load: "${key}" has shape ${_fmt(entry.shape)}, expected 1-D`);
      }
      put(mag[1], "linear", "m", key, entry);
    } else if (key.startsWith(PEFT_PREFIX)) rest.set(key, entry);
    else {
      throw new Error(
        `lora.load: unexpected key "${key}" (expected "${PEFT_PREFIX}<module>.lora_A.weight" or ".lora_B.weight")`,
      );
    }
  }
  for (const [name, g] of groups) {
    const keys = _keysOf(name, g.kind === "embedding");
    if (!g.a || !g.b) {
      const missing = !g.a ? keys.a : keys.b;
      throw new Error(`lora.load: key "${missing}" is missing from the file`);
    }
  }
  return { groups, rest };
}
