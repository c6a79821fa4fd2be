/**
 * The options of `wrap` / `addAdapter` (PEFT's `LoraConfig` fields, spelled
 * the TypeScript way), their checks, and per-layer rank and alpha.
 *
 * @module
 */

import { _checkAdapterOptions, type LoraInit } from "./adapter.ts";
import { _checkTargets, _patternKey, type LoraTargets } from "./targets.ts";
import type { _AdapterRecord } from "./_state.ts";

/**
 * Options of {@link wrap}: PEFT's `LoraConfig` fields besides `target_modules`,
 * `r` and `lora_alpha`.
 *
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const opts: lora.WrapOptions = { dropout: 0.1, init: "gaussian", rsLora: true, seed: 0 };
 * lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2, opts);
 * ```
 */
export interface WrapOptions {
  /** The adapter's name (default `"default"`). */
  adapterName?: string;
  /** Dropout probability on each adapter's input (default 0; `lora_dropout`). */
  dropout?: number;
  /** How A and B start (default `"kaiming"`; `init_lora_weights`). */
  init?: LoraInit;
  /** Rank-stabilised scaling alpha / √rank (default false; `use_rslora`). */
  rsLora?: boolean;
  /** DoRA: a trainable magnitude per output row (default false; `use_dora`). */
  useDora?: boolean;
  /** Reseeds the library RNG (as `manualSeed(seed)`) before drawing the adapters. */
  seed?: number;
  /** Modules kept whole and trained as copies (`modules_to_save`; a name matches by suffix). */
  modulesToSave?: readonly string[];
  /** Layers never adapted: names (equal or `.`-suffix) or a RegExp (full match) (`exclude_modules`). */
  excludeModules?: readonly string[] | RegExp;
  /** Only layers with these indices in their layer list (`layers_to_transform`, name targets only). */
  layersToTransform?: number | readonly number[];
  /** The name of the layer list, e.g. `"layers"` (`layers_pattern`). */
  layersPattern?: string | readonly string[];
  /** Rank by layer-name pattern (`rank_pattern`: the first key with `(.*\.)?key$` matching). */
  rankPattern?: Readonly<Record<string, number>>;
  /** alpha by layer-name pattern (`alpha_pattern`). */
  alphaPattern?: Readonly<Record<string, number>>;
}

/**
 * Options of {@link addAdapter}: where it goes and its size, plus everything
 * {@link WrapOptions} has.
 *
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const net = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * const opts: lora.AdapterOptions = { targets: ["0"], rank: 4, alpha: 8, useDora: true };
 * lora.addAdapter(net, "second", opts);
 * ```
 */
export interface AdapterOptions extends Omit<WrapOptions, "adapterName"> {
  /** Which layers (as `wrap`'s `targets`). */
  targets: LoraTargets;
  /** The rank r. */
  rank: number;
  /** The scale numerator alpha. */
  alpha: number;
}

function _bad(who: string, what: string, v: unknown): never {
  throw new TypeError(`${who}: ${what}, got ${JSON.stringify(v) ?? String(v)}`);
}

function _checkStringList(who: string, field: string, v: unknown): void {
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) {
    _bad(who, `${field} must be a string[]`, v);
  }
}

function _checkPattern(
  who: string,
  field: string,
  v: unknown,
  ok: (x: unknown) => boolean,
  what: string,
): void {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    _bad(who, `${field} must be an object`, v);
  }
  for (const [k, x] of Object.entries(v as object)) {
    try {
      new RegExp(k);
    } catch {
      _bad(who, `${field} key ${JSON.stringify(k)} is not a regular expression`, k);
    }
    if (!ok(x)) _bad(who, `${field}[${JSON.stringify(k)}] must be ${what}`, x);
  }
}

/**
 * Checks every option of a wrap; throws before anything changes.
 *
 * @param who The caller, for messages.
 * @param o The options.
 * @throws {TypeError} For a wrong kind of value.
 * @throws {RangeError} For a bad rank, alpha, dropout or layer index.
 */
export function _checkWrapOptions(who: string, o: AdapterOptions): void {
  _checkTargets(who, o.targets);
  _checkAdapterOptions(who, o);
  if (o.seed !== undefined && !Number.isInteger(o.seed)) {
    _bad(who, "seed must be an integer", o.seed);
  }
  if (o.modulesToSave !== undefined) _checkStringList(who, "modulesToSave", o.modulesToSave);
  const ex = o.excludeModules;
  if (ex !== undefined && !(ex instanceof RegExp)) _checkStringList(who, "excludeModules", ex);
  const lt = o.layersToTransform;
  if (lt !== undefined) {
    const list = typeof lt === "number" ? [lt] : lt;
    if (!Array.isArray(list)) _bad(who, "layersToTransform must be a number or number[]", lt);
    if (list.some((i) => !Number.isInteger(i) || i < 0)) {
      throw new RangeError(
        `${who}: layersToTransform must hold non-negative integers, got ${JSON.stringify(lt)}`,
      );
    }
  }
  const lp = o.layersPattern;
  if (lp !== undefined && typeof lp !== "string") _checkStringList(who, "layersPattern", lp);
  if (o.rankPattern !== undefined) {
    _checkPattern(
      who,
      "rankPattern",
      o.rankPattern,
      (x) => Number.isInteger(x) && (x as number) > 0,
      "a positive integer",
    );
  }
  if (o.alphaPattern !== undefined) {
    _checkPattern(
      who,
      "alphaPattern",
      o.alphaPattern,
      (x) => typeof x === "number" && Number.isFinite(x),
      "a finite number",
    );
  }
}

/**
 * The config record of a new adapter.
 *
 * @param o Checked options.
 * @returns The record.
 */
export function _recordOf(o: AdapterOptions): _AdapterRecord {
  const lt = o.layersToTransform;
  const lp = o.layersPattern;
  return {
    targets: [Array.isArray(o.targets) ? [...o.targets] : o.targets],
    rank: o.rank,
    alpha: o.alpha,
    rankPattern: { ...o.rankPattern },
    alphaPattern: { ...o.alphaPattern },
    dropout: o.dropout ?? 0,
    rsLora: o.rsLora ?? false,
    useDora: o.useDora ?? false,
    init: o.init ?? "kaiming",
    modulesToSave: o.modulesToSave ? [...o.modulesToSave] : null,
    excludeModules: o.excludeModules instanceof RegExp
      ? o.excludeModules
      : o.excludeModules
      ? [...o.excludeModules]
      : null,
    layersToTransform: lt === undefined ? null : typeof lt === "number" ? lt : [...lt],
    layersPattern: lp === undefined ? null : typeof lp === "string" ? lp : [...lp],
    extra: {},
  };
}

/**
 * A layer's rank and alpha: the first matching `rank_pattern` /
 * `alpha_pattern` key, else `r` / `lora_alpha` (PEFT's `_create_and_replace`).
 *
 * @param name The layer's dotted name.
 * @param o The options.
 * @returns `{ rank, alpha }`.
 */
export function _layerSize(
  name: string,
  o: Pick<AdapterOptions, "rank" | "alpha" | "rankPattern" | "alphaPattern">,
): { rank: number; alpha: number } {
  const rp = o.rankPattern ?? {}, ap = o.alphaPattern ?? {};
  const rk = _patternKey(Object.keys(rp), name);
  const ak = _patternKey(Object.keys(ap), name);
  return { rank: rk === undefined ? o.rank : rp[rk], alpha: ak === undefined ? o.alpha : ap[ak] };
}
