/**
 * `merge` / `unmerge`: fold the adapters into the base weights and back,
 * all layers or none.
 *
 * @module
 */

import { _assignAllFinite, keep, noGrad, scope } from "../tensor/mod.ts";
import { Module } from "../nn/mod.ts";
import { LoraLinear } from "./lora_linear.ts";

/**
 * The LoRA layers of a model with their dotted names, in module order.
 *
 * @param model The model.
 * @returns [name, layer] pairs.
 */
export function _loraLayers(model: Module): [string, LoraLinear][] {
  const out: [string, LoraLinear][] = [];
  for (const [name, m] of model.namedModules()) {
    if (m instanceof LoraLinear) out.push([name, m]);
  }
  return out;
}

/**
 * Sets `W ← W + sign·scaling·B·A` on every given layer, or on none: all new
 * weights are computed and checked before any is written.
 *
 * @param who The caller, for messages.
 * @param layers The layers.
 * @param sign +1 merges, −1 unmerges.
 * @throws {RangeError} When a new weight would hold a non-finite value. On
 *   a backend that reads asynchronously (WebGPU) the check runs on the
 *   device: nothing is written, and the next read or sync throws the error
 *   and puts the layers' merge state back.
 */
export function _shiftLayers(
  who: string,
  layers: [string, LoraLinear][],
  sign: 1 | -1,
): void {
  const fresh = layers.map(([, l]) => keep(l._shiftedWeight(sign)));
  const before = layers.map(([, l]) => l.merged);
  try {
    noGrad(() =>
      _assignAllFinite(layers.map(([, l], i) => [fresh[i], l.base.weight] as const), {
        op: who,
        error: (i) =>
          new RangeError(
            `${who}: "${layers[i][0]}" would get non-finite weights (scaling ${
              layers[i][1].scaling
            }); nothing was changed`,
          ),
        onFail: () => layers.forEach(([, l], i) => l._setMerged(before[i])),
      })
    );
  } finally {
    for (const t of fresh) t.dispose();
  }
  for (const [, l] of layers) l._setMerged(sign === 1);
}

function _layersOf(who: string, model: Module): [string, LoraLinear][] {
  if (!(model instanceof Module)) {
    throw new TypeError(`${who}: model must be an nn.Module, got ${model}`);
  }
  const layers = _loraLayers(model);
  if (layers.length === 0) throw new Error(`${who}: the model has no LoRA layers`);
  const off = layers.filter(([, l]) => !l.enabled).map(([n]) => `"${n}"`);
  if (off.length > 0) {
    throw new Error(`${who}: adapters ${off.join(", ")} are disabled; enable them first`);
  }
  return layers;
}

/**
 * Folds each adapter into its base weight in place, `W ← W + scaling·B·A`;
 * afterwards each layer computes only `base(x)`, as fast as the plain
 * model. All layers are merged, or none.
 *
 * @param model A wrapped model.
 * @throws {Error} When the model has no LoRA layers, a layer is already
 *   merged (merging twice) or adapters are disabled.
 * @throws {RangeError} When a merged weight would hold a non-finite value;
 *   nothing is changed then.
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const seq = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * lora.merge(seq);
 * lora.unmerge(seq);
 * ```
 */
export function merge(model: Module): void {
  const layers = _layersOf("lora.merge", model);
  const done = layers.filter(([, l]) => l.merged).map(([n]) => `"${n}"`);
  if (done.length > 0) {
    throw new Error(`lora.merge: ${done.join(", ")} already merged; unmerge first`);
  }
  scope(() => _shiftLayers("lora.merge", layers, 1));
}

/**
 * Takes the merged adapters back out, `W ← W − scaling·B·A`, so the layers
 * compute `base(x) + scaling·(x·Aᵀ)·Bᵀ` again (W comes back up to
 * float32 rounding).
 *
 * @param model A merged model.
 * @throws {Error} When the model has no LoRA layers or none is merged.
 * @throws {RangeError} When a weight would hold a non-finite value; nothing
 *   is changed then.
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const seq = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * lora.merge(seq);
 * lora.unmerge(seq);
 * ```
 */
export function unmerge(model: Module): void {
  const layers = _layersOf("lora.unmerge", model).filter(([, l]) => l.merged);
  if (layers.length === 0) throw new Error("lora.unmerge: no layer is merged");
  scope(() => _shiftLayers("lora.unmerge", layers, -1));
}
