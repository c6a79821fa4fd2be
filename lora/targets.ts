/**
 * Which layers an adapter goes on, by PEFT's rules (`check_target_module_exists`):
 * `target_modules`, `exclude_modules`, `layers_to_transform` /
 * `layers_pattern`, and never inside `modules_to_save`; `rank_pattern` /
 * `alpha_pattern` keys by `get_pattern_key`.
 *
 * @module
 */

import { Conv1D, Embedding, Linear, type Module } from "../nn/mod.ts";
import { LoraLayer } from "./lora_layer.ts";
import { ModulesToSaveWrapper } from "./modules_to_save.ts";

/**
 * What `lora.wrap` adapts: names (suffix match), a RegExp (full match) or every Linear.
 *
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const targets: lora.LoraTargets = /\d+/;
 * lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), targets, 2, 2);
 * ```
 */
export type LoraTargets = readonly string[] | RegExp | "all-linear";

/** A layer an adapter can go on. */
export type _Adaptable = Linear | Conv1D | Embedding;

/** Where an adapter goes: PEFT's matching fields. */
export interface _TargetSpec {
  /** `target_modules`. */
  targets: LoraTargets;
  /** `exclude_modules`: names (equal or `.`-suffix) or a RegExp (full match). */
  excludeModules?: readonly string[] | RegExp | null;
  /** `layers_to_transform`: layer indices (only with a name list). */
  layersToTransform?: number | readonly number[] | null;
  /** `layers_pattern`: the name(s) of the layer list. */
  layersPattern?: string | readonly string[] | null;
  /** `modules_to_save`: never adapted. */
  modulesToSave?: readonly string[] | null;
}

/** Whether `m` sits inside a LoRA layer or a modules-to-save wrapper (not adaptable). */
function _wrappedParts(model: Module): Set<Module> {
  const inside = new Set<Module>();
  for (const m of model.namedModules().values()) {
    if (m instanceof LoraLayer || m instanceof ModulesToSaveWrapper) {
      for (const sub of m.namedModules().values()) if (sub !== m) inside.add(sub);
    }
  }
  return inside;
}

/**
 * The plain adaptable layers of a model, by dotted name: every `nn.Linear`,
 * `nn.Conv1D` and `nn.Embedding` except the root and anything inside a LoRA
 * layer or a modules-to-save wrapper.
 *
 * @param model The model.
 * @returns Dotted name → layer, in module order.
 */
export function _adaptableLayers(model: Module): Map<string, _Adaptable> {
  const out = new Map<string, _Adaptable>();
  const inside = _wrappedParts(model);
  for (const [name, m] of model.namedModules()) {
    const ok = m instanceof Linear || m instanceof Conv1D || m instanceof Embedding;
    if (name !== "" && ok && !inside.has(m)) out.set(name, m);
  }
  return out;
}

/**
 * The plain Linear (and Conv1D) layers of a model, by dotted name.
 *
 * @param model The model.
 * @returns Dotted name → layer, in module order.
 */
export function _linearLayers(model: Module): Map<string, Linear | Conv1D> {
  const out = new Map<string, Linear | Conv1D>();
  for (const [n, m] of _adaptableLayers(model)) if (!(m instanceof Embedding)) out.set(n, m);
  return out;
}

/**
 * PEFT's `target_modules` rule for a name: equal to an entry, or ends with
 * `"." + entry`.
 *
 * @param name A dotted module name.
 * @param entry A target entry.
 * @returns Whether it matches.
 */
export function _matchesEntry(name: string, entry: string): boolean {
  return name === entry || name.endsWith("." + entry);
}

/** A RegExp that must match the whole string (Python's `re.fullmatch`). */
export function _fullMatch(re: RegExp | string): RegExp {
  const source = typeof re === "string" ? re : re.source;
  const flags = typeof re === "string" ? "" : re.flags.replace(/[gy]/g, "");
  return new RegExp(`^(?:${source})$`, flags);
}

/**
 * PEFT's `get_pattern_key`: the first key `k` (in order) for which
 * `(.*\.)?(k)$` matches the whole name from its start.
 *
 * @param keys The pattern keys, in order.
 * @param name The dotted module name.
 * @returns The matching key, or undefined.
 */
export function _patternKey(keys: readonly string[], name: string): string | undefined {
  return keys.find((k) => new RegExp(`^(.*\\.)?(${k})$`).test(name));
}

/** PEFT's layer index of a name: the number after the layers pattern (or any segment). */
function _layerIndex(
  name: string,
  pattern: string | readonly string[] | null | undefined,
): number | null {
  const patterns = pattern === null || pattern === undefined || pattern.length === 0
    ? null
    : typeof pattern === "string"
    ? [pattern]
    : pattern;
  const res = patterns === null
    ? [/^.*?\.[^.]*\.(\d+)\./]
    : patterns.map((p) => new RegExp(`^.*?\\.${p}\\.(\\d+)\\.`));
  for (const re of res) {
    const m = re.exec(name);
    if (m) return Number(m[1]);
  }
  return null;
}

/** Whether PEFT's modules_to_save exclusion (`(^|.*\.)m($|\..*)`) hits `name`. */
function _inModulesToSave(name: string, modules: readonly string[] | null | undefined): boolean {
  return (modules ?? []).some((m) => new RegExp(`^(^|.*\\.)${m}($|\\..*)$`).test(name));
}

/** Whether `exclude_modules` excludes `name`. */
function _excluded(name: string, ex: _TargetSpec["excludeModules"]): boolean {
  if (ex === null || ex === undefined) return false;
  if (ex instanceof RegExp) return _fullMatch(ex).test(name);
  return ex.some((e) => _matchesEntry(name, e));
}

/** Whether `layers_to_transform` keeps `name` (list targets only, as PEFT). */
function _inLayers(name: string, spec: _TargetSpec): boolean {
  const idx = spec.layersToTransform;
  if (idx === null || idx === undefined || (Array.isArray(idx) && idx.length === 0)) return true;
  const i = _layerIndex(name, spec.layersPattern);
  if (i === null) return false;
  return typeof idx === "number" ? i === idx : (idx as readonly number[]).includes(i);
}

/**
 * Checks the shape of a targets spec.
 *
 * @throws {TypeError} When `targets` is not a string[], RegExp or "all-linear".
 * @throws {RangeError} For an empty list.
 */
export function _checkTargets(who: string, targets: unknown): asserts targets is LoraTargets {
  if (targets === "all-linear" || targets instanceof RegExp) return;
  if (!Array.isArray(targets) || targets.some((t) => typeof t !== "string")) {
    throw new TypeError(
      `${who}: targets must be a string[], a RegExp or "all-linear", got ${
        JSON.stringify(targets)
      }`,
    );
  }
  if (targets.length === 0) throw new RangeError(`${who}: targets is empty`);
}

/**
 * The names of the layers a spec selects for a new adapter: plain adaptable
 * layers and LoRA layers that do not have this adapter yet.
 *
 * @param spec The matching fields.
 * @param candidates Name → layer the adapter may go on.
 * @param who The caller, for messages.
 * @param strictEntries Whether every name entry must match some layer
 *   (`wrap`); a loaded config only needs one to (as PEFT).
 * @returns The selected names, in module order.
 * @throws {TypeError} When `targets` is not a string[], RegExp or "all-linear".
 * @throws {Error} When an entry (or the RegExp, or "all-linear") matches no
 *   layer, or the filters leave none; the message lists the layers.
 */
export function _selectTargets(
  spec: _TargetSpec,
  candidates: Map<string, Module>,
  who = "lora.wrap",
  strictEntries = true,
): string[] {
  const targets = spec.targets;
  _checkTargets(who, targets);
  const names = [...candidates.keys()];
  const list = names.length > 0 ? names.map((n) => `"${n}"`).join(", ") : "(none)";
  const fail = (what: string): never => {
    throw new Error(
      `${who}: ${what} matches no Linear or Embedding layer; the layers that can be adapted are ${list}`,
    );
  };
  const isLinear = (n: string) => {
    const m = candidates.get(n)!;
    const base = m instanceof LoraLayer ? m.base : m;
    return base instanceof Linear || base instanceof Conv1D;
  };
  let picked: string[];
  if (targets === "all-linear") {
    picked = names.filter((n) => isLinear(n) && !_matchesEntry(n, "lm_head"));
    if (picked.length === 0) fail(`"all-linear"`);
  } else if (targets instanceof RegExp) {
    const re = _fullMatch(targets);
    picked = names.filter((n) => re.test(n));
    if (picked.length === 0) fail(`target ${targets}`);
  } else {
    if (strictEntries) {
      for (const t of targets) if (!names.some((n) => _matchesEntry(n, t))) fail(`target "${t}"`);
    }
    picked = names.filter((n) => targets.some((t) => _matchesEntry(n, t)));
    if (picked.length === 0) fail(`targets ${JSON.stringify(targets)}`);
    picked = picked.filter((n) => _inLayers(n, spec));
  }
  picked = picked.filter((n) =>
    !_excluded(n, spec.excludeModules) && !_inModulesToSave(n, spec.modulesToSave)
  );
  if (picked.length === 0) {
    throw new Error(
      `${who}: no layer is left to adapt after exclude_modules, layers_to_transform and modules_to_save; the layers that can be adapted are ${list}`,
    );
  }
  return picked;
}
