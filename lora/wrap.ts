/**
 * `wrap` and `unwrap`: put LoRA adapters into a model and take them out.
 *
 * @module
 */

import { manualSeed } from "../tensor/mod.ts";
import { Module } from "../nn/mod.ts";
import { _checkLoraOptions, type LoraInit, LoraLinear } from "./lora_linear.ts";
import { _linearLayers, _selectTargets, type LoraTargets } from "./targets.ts";
import { _wrapInfo } from "./_state.ts";
import { _loraLayers, _shiftLayers } from "./merge.ts";

/**
 * Options of {@link wrap}.
 *
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const opts: lora.WrapOptions = { dropout: 0.1, init: "gaussian", rsLora: true, seed: 0 };
 * lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2, opts);
 * ```
 */
export interface WrapOptions {
  /** Dropout probability on each adapter's input (default 0). */
  dropout?: number;
  /** `"kaiming"` (default, PEFT's) or `"gaussian"` (PEFT's N(0, 1/r²)). */
  init?: LoraInit;
  /** Rank-stabilised scaling alpha / √rank (default false). */
  rsLora?: boolean;
  /** Reseeds the library RNG (as `manualSeed(seed)`) before drawing `loraA`. */
  seed?: number;
}

function _checkModel(who: string, model: unknown): asserts model is Module {
  if (!(model instanceof Module)) {
    throw new TypeError(`${who}: model must be an nn.Module, got ${model}`);
  }
}

/**
 * Adds LoRA adapters to `model` in place: freezes every parameter of the
 * model, then replaces each selected `nn.Linear` by a {@link LoraLinear}
 * whose `loraA` and `loraB` are the only trainable parameters.
 *
 * @param model The model (changed in place).
 * @param targets Names (a layer matches when its dotted name equals an entry
 *   or ends with `"." + entry`, as PEFT's `target_modules`), a RegExp (full
 *   match of the dotted name) or `"all-linear"` (every Linear but `lm_head`).
 * @param rank The rank r (a positive integer).
 * @param alpha Scaling numerator: scaling = alpha / r (alpha / √r with rsLora).
 * @param opts `{ dropout?, init?, rsLora?, seed? }`.
 * @returns `model`.
 * @throws {TypeError} For a wrong kind of argument.
 * @throws {RangeError} For a bad rank, alpha, dropout or an empty target list.
 * @throws {Error} When a target matches no Linear layer (the message lists
 *   the Linear layers); nothing is changed then.
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
  _checkModel("lora.wrap", model);
  _checkLoraOptions("lora.wrap", { rank, alpha, ...opts });
  if (opts.seed !== undefined && !Number.isInteger(opts.seed)) {
    throw new TypeError(`lora.wrap: seed must be an integer, got ${opts.seed}`);
  }
  const names = _selectTargets(model, targets);
  if (opts.seed !== undefined) manualSeed(opts.seed);
  _wrapNames(model, names, () => rank, () => alpha, opts);
  _wrapInfo.get(model)!.targets.push(Array.isArray(targets) ? [...targets] : targets);
  return model;
}

/**
 * Freezes the model's non-adapter parameters and wraps the named Linear
 * layers (the names must be valid). Shared by `wrap` and `load`.
 *
 * @param model The model.
 * @param names Dotted names of Linear layers.
 * @param rankOf Rank for a name.
 * @param alphaOf alpha for a name.
 * @param opts dropout, init, rsLora.
 */
export function _wrapNames(
  model: Module,
  names: readonly string[],
  rankOf: (name: string) => number,
  alphaOf: (name: string) => number,
  opts: WrapOptions,
): void {
  let info = _wrapInfo.get(model);
  if (info === undefined) {
    const flags = new Map(model.parameters().map((p) => [p, p.requiresGrad]));
    info = { targets: [], flags, init: opts.init ?? "kaiming" };
    _wrapInfo.set(model, info);
  }
  info.init = opts.init ?? "kaiming";
  const adapters = new Set(_loraLayers(model).flatMap(([, l]) => [l.loraA, l.loraB]));
  for (const p of model.parameters()) if (!adapters.has(p)) p.requiresGrad = false;
  const linears = _linearLayers(model);
  for (const name of names) {
    const layer = new LoraLinear(linears.get(name)!, {
      rank: rankOf(name),
      alpha: alphaOf(name),
      dropout: opts.dropout,
      init: opts.init,
      rsLora: opts.rsLora,
    });
    model.setModule(name, layer);
  }
}

/**
 * Merges every adapter into its base weight, then puts the plain
 * `nn.Linear` layers back; the adapters' tensors are disposed and each
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
  _shiftLayers("lora.unwrap", layers.filter(([, l]) => !l.merged), 1);
  for (const [name, layer] of layers) {
    model.setModule(name, layer.base);
    layer.loraA.dispose();
    layer.loraB.dispose();
  }
  const info = _wrapInfo.get(model);
  if (info !== undefined) {
    for (const p of model.parameters()) {
      const was = info.flags.get(p);
      if (was !== undefined) p.requiresGrad = was;
    }
    _wrapInfo.delete(model);
  }
  return model;
}
