/**
 * `addWeightedAdapter`: a new adapter made from a weighted combination of
 * existing ones, with PEFT's arithmetic (`LoraModel.add_weighted_adapter`).
 *
 * @module
 */

import { cat, noGrad, scope, type Tensor, tensor, zeros } from "../tensor/mod.ts";
import type { Module } from "../nn/mod.ts";
import { _checkAdapterName } from "./lora_layer.ts";
import { _checkModel, _copyConflicts, _loraLayers } from "./_parts.ts";
import { _knownAdapters } from "./merge.ts";
import { type _AdapterRecord, _wrapInfo } from "./_state.ts";
import { _inject } from "./inject.ts";
import type { LoraTargets } from "./targets.ts";
import { type _SvdFactors, _svdFactors, _weightedDelta } from "./weighted_svd.ts";
import { _readsSync } from "./init_decomposition.ts";
import type { LoraAdapter } from "./adapter.ts";
import type { LoraLayer } from "./lora_layer.ts";

/**
 * Options of {@link addWeightedAdapter}.
 *
 * @example
 * ```ts
 * import { lora } from "../mod.ts";
 * const opts: lora.WeightedAdapterOptions = { combination: "cat" };
 * ```
 */
export interface WeightedAdapterOptions {
  /**
   * `"linear"` (same ranks: A = Σ sign·√|wᵢsᵢ|·Aᵢ, B = Σ √|wᵢsᵢ|·Bᵢ),
   * `"cat"` (ranks add up: A = [wᵢsᵢ·Aᵢ], B = [Bᵢ]) or `"svd"` (the
   * truncated SVD of Σ wᵢsᵢ·ΔWᵢ); default `"svd"`, as PEFT.
   */
  combination?: "linear" | "cat" | "svd";
  /** The rank of an `"svd"` result (default: the largest rank of the inputs). */
  svdRank?: number;
  /** A quantile in (0, 1] at which an `"svd"` result's factors are clamped (PEFT's `svd_clamp`). */
  svdClamp?: number;
}

/** PEFT's rank of an adapter for this purpose: r, or the largest rank_pattern value. */
function _maxRank(r: _AdapterRecord): number {
  return Math.max(r.rank, ...Object.values(r.rankPattern));
}

function _combinedTargets(records: _AdapterRecord[], who: string): LoraTargets {
  const specs = records.flatMap((r) => r.targets);
  if (specs.every((s) => Array.isArray(s))) {
    return [...new Set(specs.flatMap((s) => s as string[]))];
  }
  if (specs.every((s) => s instanceof RegExp)) {
    return new RegExp(specs.map((s) => `(${(s as RegExp).source})`).join("|"));
  }
  throw new TypeError(
    `${who}: the adapters' targets mix name lists and regular expressions (or "all-linear"); PEFT cannot combine them`,
  );
}

function _checkArgs(
  who: string,
  model: Module,
  adapters: unknown,
  weights: unknown,
  name: unknown,
  opts: WeightedAdapterOptions,
): asserts adapters is string[] {
  _checkModel(who, model);
  _knownAdapters(who, model, adapters);
  const list = adapters as string[];
  if (list.length === 0) throw new TypeError(`${who}: name at least one adapter`);
  if (
    !Array.isArray(weights) || weights.length !== list.length ||
    weights.some((w) => typeof w !== "number" || !Number.isFinite(w))
  ) {
    throw new TypeError(
      `${who}: weights must be ${list.length} finite numbers, got ${JSON.stringify(weights)}`,
    );
  }
  _checkAdapterName(who, name);
  if (_wrapInfo.get(model)!.adapters.has(name)) {
    throw new Error(`${who}: the model has an adapter named "${name}" already`);
  }
  const c = opts.combination ?? "svd";
  if (c !== "linear" && c !== "cat" && c !== "svd") {
    throw new TypeError(
      `${who}: combination must be "linear", "cat" or "svd", got ${JSON.stringify(c)}`,
    );
  }
  if (opts.svdRank !== undefined && (!Number.isInteger(opts.svdRank) || opts.svdRank < 1)) {
    throw new RangeError(`${who}: svdRank must be a positive integer, got ${opts.svdRank}`);
  }
  const q = opts.svdClamp;
  if (q !== undefined && !(typeof q === "number" && q > 0 && q <= 1)) {
    throw new RangeError(`${who}: svdClamp must be a quantile in (0, 1], got ${q}`);
  }
}

/**
 * Adds adapter `newName` made from `adapters` weighted by `weights`, with
 * PEFT's arithmetic (including its quirks): the new adapter takes the first
 * adapter's settings with `r` = `lora_alpha` = the new rank (so scaling 1,
 * or √r with rsLora), on the union of their targets; for `"svd"` each
 * update ΔWᵢ = sᵢ·Bᵢ·Aᵢ is weighted by wᵢ·sᵢ (the scaling counts twice, as
 * in PEFT). It starts inactive and frozen (see `setAdapter`).
 *
 * `"svd"` factorises on the host: where the backend reads back
 * asynchronously (WebGPU) it returns a promise to await (the model is only
 * changed when the factors are ready); elsewhere it is done on return.
 *
 * @param model A wrapped model.
 * @param adapters The adapters to combine.
 * @param weights One weight per adapter (negative subtracts).
 * @param newName The new adapter's name.
 * @param opts `{ combination?, svdRank?, svdClamp? }` (default `"svd"`).
 * @returns Nothing, or a promise (`"svd"` on an asynchronous backend).
 * @throws {Error} For an unknown adapter, an existing `newName`, or two
 *   adapters with copies of the same modules-to-save module.
 * @throws {TypeError} For mismatched weights or a bad combination.
 * @throws {RangeError} For `"linear"` over different ranks, or a bad svdRank / svdClamp.
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const net = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * lora.addAdapter(net, "b", { targets: ["0"], rank: 2, alpha: 2 });
 * lora.addWeightedAdapter(net, ["default", "b"], [0.5, 0.5], "mix", { combination: "cat" });
 * lora.setAdapter(net, "mix");
 * ```
 */
export function addWeightedAdapter(
  model: Module,
  adapters: readonly string[],
  weights: readonly number[],
  newName: string,
  opts: WeightedAdapterOptions = {},
): void | Promise<void> {
  const who = "lora.addWeightedAdapter";
  _checkArgs(who, model, adapters, weights, newName, opts);
  const info = _wrapInfo.get(model)!;
  const conflicts = _copyConflicts(model, adapters);
  if (conflicts.length > 0) {
    throw new Error(
      `${who}: adapters copy the same modules_to_save module: ${conflicts.join("; ")}`,
    );
  }
  const combination = adapters.length === 1 ? "linear" : opts.combination ?? "svd";
  const records = adapters.map((a) => info.adapters.get(a)!);
  const ranks = records.map(_maxRank);
  let rank: number;
  if (combination === "linear") {
    if (new Set(ranks).size !== 1) {
      throw new RangeError(
        `${who}: "linear" needs adapters of one rank, got ${JSON.stringify(ranks)}`,
      );
    }
    rank = ranks[0];
    for (const [n, l] of _loraLayers(model)) {
      const odd = adapters.filter((a) => l.adapter(a) && l.adapter(a)!.rank !== rank);
      if (odd.length > 0) {
        throw new RangeError(
          `${who}: "linear" needs rank ${rank} everywhere, but "${n}" has ${
            odd.map((a) => `"${a}" at rank ${l.adapter(a)!.rank}`).join(", ")
          }`,
        );
      }
    }
  } else if (combination === "cat") rank = ranks.reduce((a, b) => a + b, 0);
  else {
    rank = opts.svdRank ?? Math.max(...ranks);
    for (const [n, l] of _loraLayers(model)) {
      const held = _present(l, adapters, weights);
      if (held.length === 0) continue;
      const [rows, cols] = [held[0][0].loraB.shape[0], held[0][0].loraA.shape[1]];
      if (rank > Math.min(rows, cols)) {
        throw new RangeError(
          `${who}: svdRank ${rank} exceeds min(out, in) = ${Math.min(rows, cols)} of "${n}"`,
        );
      }
    }
  }
  const plan: _Plan = { who, adapters, weights, newName, combination, rank, records, opts };
  if (combination !== "svd") return _build(model, plan, new Map());
  // ΔW per layer now; A and B from its SVD, read back at once or awaited.
  const deltas = _loraLayers(model)
    .map(([n, l]) => [n, _present(l, adapters, weights)] as const)
    .filter(([, p]) => p.length > 0)
    .map(([n, p]) => [n, _weightedDelta(p)] as const);
  const factor = (d: Tensor, data: ArrayLike<number>) =>
    _svdFactors(
      { data: Float32Array.from(data), shape: [d.shape[0], d.shape[1]] },
      rank,
      opts.svdClamp,
    );
  if (deltas.every(([, d]) => _readsSync(d))) {
    let factors: Map<string, _SvdFactors>;
    try {
      factors = new Map(deltas.map(([n, d]) => [n, factor(d, d.dataSync())]));
    } finally {
      for (const [, d] of deltas) d.dispose();
    }
    return _build(model, plan, factors);
  }
  return (async () => {
    const factors = new Map<string, _SvdFactors>();
    try {
      for (const [n, d] of deltas) factors.set(n, factor(d, await d.data()));
    } finally {
      for (const [, d] of deltas) d.dispose();
    }
    _build(model, plan, factors);
  })();
}

/** Everything `_build` needs, checked. */
interface _Plan {
  who: string;
  adapters: readonly string[];
  weights: readonly number[];
  newName: string;
  combination: "linear" | "cat" | "svd";
  rank: number;
  records: _AdapterRecord[];
  opts: WeightedAdapterOptions;
}

/** The layer's adapters among `names`, with their weights. */
function _present(
  l: LoraLayer,
  names: readonly string[],
  weights: readonly number[],
): [LoraAdapter, number][] {
  return names.map((a, i) => [l.adapter(a), weights[i]] as const)
    .filter(([a]) => a !== undefined) as [LoraAdapter, number][];
}

/** Adds the new adapter and writes its A and B on every layer it went on. */
function _build(model: Module, p: _Plan, svd: Map<string, _SvdFactors>): void {
  const first = p.records[0];
  const targets = _combinedTargets(p.records, p.who);
  _inject(model, p.who, p.newName, {
    targets,
    rank: p.rank,
    alpha: p.rank,
    dropout: first.dropout,
    rsLora: first.rsLora,
    useDora: first.useDora,
    modulesToSave: first.modulesToSave ?? undefined,
    excludeModules: first.excludeModules ?? undefined,
    layersToTransform: first.layersToTransform ?? undefined,
    layersPattern: first.layersPattern ?? undefined,
  }, { strictModulesToSave: false });
  noGrad(() => {
    for (const [n, l] of _loraLayers(model)) {
      const target = l.adapter(p.newName);
      if (target === undefined) continue;
      const present = _present(l, p.adapters, p.weights);
      scope(() => {
        let a: Tensor, b: Tensor;
        if (present.length === 0) {
          a = target.loraA.mul(0);
          b = target.loraB.mul(0);
        } else if (p.combination === "cat") {
          a = cat(present.map(([x, w]) => x.loraA.mul(w * x.scaling)), 0);
          b = cat(present.map(([x]) => x.loraB), 1);
          [a, b] = _pad(a, b, target.rank);
        } else if (p.combination === "linear") {
          a = _sum(present.map(([x, w]) => {
            const ws = w * x.scaling;
            return x.loraA.mul(Math.sqrt(Math.abs(ws)) * (ws >= 0 ? 1 : -1));
          }));
          b = _sum(present.map(([x, w]) => x.loraB.mul(Math.sqrt(Math.abs(w * x.scaling)))));
        } else {
          const f = svd.get(n)!;
          const where = { backend: target.loraA.backend };
          a = tensor(f.a.data, { shape: f.a.shape, ...where });
          b = tensor(f.b.data, { shape: f.b.shape, ...where });
        }
        target.loraA.assign(a);
        target.loraB.assign(b);
      });
    }
  });
}

function _sum(ts: Tensor[]): Tensor {
  return ts.reduce((acc, t) => acc.add(t));
}

/** Zero-pads A [k, in] / B [out, k] to rank r (PEFT writes into zeroed tensors). */
function _pad(a: Tensor, b: Tensor, r: number): [Tensor, Tensor] {
  const k = a.shape[0];
  if (k === r) return [a, b];
  const where = { backend: a.backend };
  return [
    cat([a, zeros([r - k, a.shape[1]], where)], 0),
    cat([b, zeros([b.shape[0], r - k], where)], 1),
  ];
}
