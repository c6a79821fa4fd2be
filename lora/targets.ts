/**
 * Which `nn.Linear` layers a `targets` spec selects, by PEFT's rules.
 *
 * @module
 */

import { Conv1D, Linear, type Module } from "../nn/mod.ts";
import { LoraLinear } from "./lora_linear.ts";

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

/**
 * The adaptable layers of a model, by dotted name: every `nn.Linear` and `nn.Conv1D`
 * except the root and the bases inside existing `LoraLinear` layers.
 *
 * @param model The model.
 * @returns Dotted name → layer, in module order.
 */
export function _linearLayers(model: Module): Map<string, Linear | Conv1D> {
  const out = new Map<string, Linear | Conv1D>();
  const inside = new Set<Module>();
  for (const m of model.namedModules().values()) {
    if (m instanceof LoraLinear) inside.add(m.base);
  }
  for (const [name, m] of model.namedModules()) {
    const adaptable = m instanceof Linear || m instanceof Conv1D;
    if (name !== "" && adaptable && !inside.has(m)) out.set(name, m);
  }
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

function _fullMatch(re: RegExp): RegExp {
  return new RegExp(`^(?:${re.source})$`, re.flags.replace(/[gy]/g, ""));
}

function _isLmHead(name: string): boolean {
  return _matchesEntry(name, "lm_head");
}

/**
 * The names of the Linear layers `targets` selects.
 *
 * @param model The model.
 * @param targets The spec.
 * @returns The selected names, in module order.
 * @throws {TypeError} When `targets` is not a string[], RegExp or "all-linear".
 * @throws {Error} When an entry (or the RegExp, or "all-linear") matches no
 *   Linear layer; the message lists the Linear layers that exist.
 */
export function _selectTargets(model: Module, targets: LoraTargets): string[] {
  const linears = [..._linearLayers(model).keys()];
  const list = linears.length > 0 ? linears.map((n) => `"${n}"`).join(", ") : "(none)";
  const fail = (what: string): never => {
    throw new Error(`lora.wrap: ${what} matches no Linear layer; the Linear layers are ${list}`);
  };
  if (targets === "all-linear") {
    const picked = linears.filter((n) => !_isLmHead(n));
    if (picked.length === 0) fail(`"all-linear"`);
    return picked;
  }
  if (targets instanceof RegExp) {
    const re = _fullMatch(targets);
    const picked = linears.filter((n) => re.test(n));
    if (picked.length === 0) fail(`target ${targets}`);
    return picked;
  }
  if (!Array.isArray(targets) || targets.some((t) => typeof t !== "string")) {
    throw new TypeError(
      `lora.wrap: targets must be a string[], a RegExp or "all-linear", got ${
        JSON.stringify(targets)
      }`,
    );
  }
  if (targets.length === 0) throw new RangeError("lora.wrap: targets is empty");
  for (const t of targets) {
    if (!linears.some((n) => _matchesEntry(n, t))) fail(`target "${t}"`);
  }
  return linears.filter((n) => targets.some((t) => _matchesEntry(n, t)));
}
