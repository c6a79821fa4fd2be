/**
 * LoRA+ (Hayou et al., 2024): B matrices learn `ratio` times faster than
 * A matrices. `loraPlusGroups` makes the parameter groups PEFT's
 * `create_loraplus_optimizer` makes, for any optimizer of this library.
 *
 * @module
 */

import { Module } from "../nn/mod.ts";
import type { Tensor } from "../tensor/mod.ts";
import { _show } from "./_groups.ts";
import { _checkHyper } from "./optimizer.ts";

/**
 * Options of {@link loraPlusGroups}.
 *
 * @example
 * ```ts
 * import { lora, nn, optim } from "../mod.ts";
 * const opts: optim.LoraPlusOptions = { lr: 2e-4, ratio: 16, weightDecay: 0.01 };
 * const model = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 4);
 * new optim.AdamW(optim.loraPlusGroups(model, opts));
 * ```
 */
export interface LoraPlusOptions {
  /** The learning rate of the A matrices (and of other trainable 2-D parameters). */
  lr: number;
  /** B matrices and 1-D parameters learn at `lr · ratio` (default 16). */
  ratio?: number;
  /** The learning rate of embedding adapters (default 1e-6, PEFT's). */
  embeddingLr?: number;
  /** Weight decay of every group but the 1-D one (default 0). */
  weightDecay?: number;
}

/**
 * One LoRA+ group: its tensors, learning rate and weight decay (what every
 * optimizer of this library takes as a parameter group).
 *
 * @example
 * ```ts
 * import { lora, nn, optim } from "../mod.ts";
 * const model = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 4);
 * const groups: optim.LoraPlusGroup[] = optim.loraPlusGroups(model, { lr: 1e-3 });
 * console.log(groups.map((g) => g.lr)); // [0.001, 0.000001, 0.016, 0.016]
 * ```
 */
export interface LoraPlusGroup {
  /** The group's tensors, in `namedParameters()` order. */
  params: Tensor[];
  /** Its learning rate. */
  lr: number;
  /** Its weight decay. */
  weightDecay: number;
}

/** A dotted parameter name of an embedding adapter. */
const EMBEDDING = /lora_embedding|loraEmbedding/;
/** A dotted parameter name of a B matrix (PEFT's "lora_B", this library's "loraB"). */
const B_MATRIX = /lora_B|(?:^|\.)loraB(?:$|[._])/;

const KEYS = ["lr", "ratio", "embeddingLr", "weightDecay"];

function checkOptions(who: string, opts: unknown): Required<LoraPlusOptions> {
  if (opts === null || typeof opts !== "object" || Array.isArray(opts)) {
    throw new TypeError(`${who}: options must be an object, got ${_show(opts)}`);
  }
  const unknown = Object.keys(opts).filter((k) => !KEYS.includes(k));
  if (unknown.length > 0) {
    throw new TypeError(
      `${who}: unknown option(s) ${unknown.map(_show).join(", ")} (known: ${
        KEYS.map(_show).join(", ")
      })`,
    );
  }
  const o = opts as LoraPlusOptions;
  const full = {
    lr: o.lr,
    ratio: o.ratio ?? 16,
    embeddingLr: o.embeddingLr ?? 1e-6,
    weightDecay: o.weightDecay ?? 0,
  };
  for (const k of KEYS) _checkHyper(who, k, full[k as keyof typeof full]);
  return full;
}

/**
 * The LoRA+ parameter groups of a LoRA-wrapped model, as PEFT's
 * `create_loraplus_optimizer` makes them, for any optimizer:
 * `new optim.AdamW(optim.loraPlusGroups(model, { lr: 2e-4 }))`.
 *
 * Every trainable parameter (`requiresGrad`) goes to exactly one of four
 * groups, in this order (a group may be empty, as in PEFT):
 *
 * 1. A: everything not below, at `lr` and `weightDecay` (the A matrices,
 *    and e.g. trainable full copies of modules).
 * 2. Embedding adapters, at `embeddingLr` and `weightDecay`: names that
 *    contain `lora_embedding` or `loraEmbedding`.
 * 3. B: names that contain `lora_B` (PEFT's spelling) or have a segment
 *    `loraB` (this library's: `q_proj.loraB`, `q_proj.loraB.default`,
 *    `q_proj.loraB_default`), at `lr · ratio` and `weightDecay`.
 * 4. 1-D parameters (biases, norm weights, DoRA magnitudes) and B matrices
 *    whose name contains `bias`, at `lr · ratio` with weight decay 0.
 *
 * One difference from PEFT: PEFT decays a 1-D parameter unless it is a
 * bias or a LayerNorm parameter; here every 1-D parameter gets weight
 * decay 0, as this library's API fixes. (PEFT also means embedding
 * adapters to get `embeddingLr`; it finds them by their module, here by
 * their names.)
 *
 * @param model A LoRA-wrapped model (see `lora.wrap`).
 * @param opts `{ lr, ratio? = 16, embeddingLr? = 1e-6, weightDecay? = 0 }`.
 * @returns The four groups `{ params, lr, weightDecay }`.
 * @throws {TypeError} When `model` is not an `nn.Module`, or for an option
 *   that is not a number or is unknown.
 * @throws {RangeError} For a negative or non-finite option, or a model
 *   with no trainable LoRA B matrix or embedding adapter (not wrapped, or
 *   adapters frozen): LoRA+ would then silently be plain training.
 * @example
 * ```ts
 * import { lora, nn, optim, type Tensor } from "../mod.ts";
 * class Net extends nn.Module {
 *   q_proj = new nn.Linear(8, 8);
 *   forward(x: Tensor): Tensor { return this.q_proj.forward(x); }
 * }
 * const model = lora.wrap(new Net(), ["q_proj"], 4, 8);
 * const groups = optim.loraPlusGroups(model, { lr: 1e-4, ratio: 16, weightDecay: 0.01 });
 * const opt = new optim.AdamW(groups);
 * console.log(opt.paramGroups.map((g) => [g.params.length, g.lr, g.weightDecay]));
 * // [[1, 0.0001, 0.01], [0, 0.000001, 0.01], [1, 0.0016, 0.01], [0, 0.0016, 0]]
 * ```
 */
export function loraPlusGroups(model: Module, opts: LoraPlusOptions): LoraPlusGroup[] {
  const who = "optim.loraPlusGroups";
  if (!(model instanceof Module)) {
    throw new TypeError(`${who}: model must be an nn.Module, got ${_show(model)}`);
  }
  const o = checkOptions(who, opts);
  const a: Tensor[] = [], emb: Tensor[] = [], b: Tensor[] = [], bFlat: Tensor[] = [];
  let adapters = 0;
  for (const [name, p] of model.namedParameters()) {
    if (!p.requiresGrad) continue;
    if (EMBEDDING.test(name)) {
      emb.push(p);
      adapters++;
    } else if (B_MATRIX.test(name) || p.ndim === 1) {
      if (B_MATRIX.test(name)) adapters++;
      (p.ndim === 1 || name.includes("bias") ? bFlat : b).push(p);
    } else a.push(p);
  }
  if (adapters === 0) {
    throw new RangeError(
      `${who}: the model has no trainable LoRA B matrix or embedding adapter (parameter ` +
        `names with "loraB", "lora_B" or "lora_embedding"); wrap it with lora.wrap first`,
    );
  }
  const fast = o.lr * o.ratio;
  return [
    { params: a, lr: o.lr, weightDecay: o.weightDecay },
    { params: emb, lr: o.embeddingLr, weightDecay: o.weightDecay },
    { params: b, lr: fast, weightDecay: o.weightDecay },
    { params: bFlat, lr: fast, weightDecay: 0 },
  ];
}
