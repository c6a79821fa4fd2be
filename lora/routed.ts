/**
 * `routed`: serve several adapters from one batch (PEFT's `adapter_names=`).
 *
 * @module
 */

import type { Module } from "../nn/mod.ts";
import { _checkModel, _loraLayers, _wrappers } from "./_parts.ts";
import { _wrapInfo } from "./_state.ts";
import { BASE_ROUTE } from "./_routed_forward.ts";

/**
 * Routes each row of a batch to its own adapter until the returned handle
 * is disposed (`using _ = lora.routed(model, names)`): in every forward,
 * row i of each LoRA layer's input (its leading dim) gets adapter
 * `names[i]`, or none for `"__base__"`. Each layer runs its base once over
 * the whole batch and each adapter's small product on that adapter's rows
 * only; modules-to-save run each group through its copy. The active
 * adapters do not matter meanwhile.
 *
 * As PEFT: only in eval mode, not while adapters are merged, and not for
 * DoRA adapters.
 *
 * @param model A wrapped model in eval mode.
 * @param names One adapter name (or `"__base__"`) per row.
 * @returns A Disposable that ends the routing (once; later calls do nothing).
 * @throws {TypeError} When `names` is not a non-empty string[].
 * @throws {Error} For an unknown name or a DoRA adapter, in training mode,
 *   or while adapters are merged.
 * @example
 * ```ts
 * import { lora, nn, randn } from "../mod.ts";
 * const net = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * lora.addAdapter(net, "b", { targets: ["0"], rank: 2, alpha: 2 });
 * net.eval();
 * {
 *   using _r = lora.routed(net, ["default", "b", "__base__"]);
 *   net.forward(randn([3, 4])); // row 0: "default", row 1: "b", row 2: the base
 * }
 * ```
 */
export function routed(model: Module, names: readonly string[]): Disposable {
  const who = "lora.routed";
  _checkModel(who, model);
  if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== "string")) {
    throw new TypeError(`${who}: names must be a non-empty string[], got ${JSON.stringify(names)}`);
  }
  const info = _wrapInfo.get(model);
  const known = info?.adapters ?? new Map();
  const unknown = [...new Set(names)].filter((n) => n !== BASE_ROUTE && !known.has(n));
  if (unknown.length > 0) {
    throw new Error(
      `${who}: no adapter named ${unknown.map((n) => `"${n}"`).join(", ")}; the model has ${
        [...known.keys()].map((n) => `"${n}"`).join(", ") || "none"
      } (and "${BASE_ROUTE}" for the base)`,
    );
  }
  if (model.training) {
    throw new Error(
      `${who}: the model is in training mode; routing is for inference (model.eval())`,
    );
  }
  const layers = _loraLayers(model);
  const merged = layers.filter(([, l]) => l.merged).map(([n]) => `"${n}"`);
  if (merged.length > 0) {
    throw new Error(`${who}: adapters are merged into ${merged.join(", ")}; unmerge first`);
  }
  const dora = [...new Set(names)].filter((n) => known.get(n)?.useDora);
  if (dora.length > 0) {
    throw new Error(
      `${who}: DoRA adapters (${dora.map((n) => `"${n}"`).join(", ")}) cannot be routed`,
    );
  }
  const wrappers = _wrappers(model).map(([, w]) => w);
  const rows = [...names];
  const before = layers.map(([, l]) => l._routing());
  for (const [, l] of layers) l._setRouting(rows);
  for (const w of wrappers) w._setRouting(rows);
  let open = true;
  return {
    [Symbol.dispose](): void {
      if (!open) return;
      open = false;
      layers.forEach(([, l], i) => l._setRouting(before[i]));
      for (const w of wrappers) w._setRouting(null);
    },
  };
}
