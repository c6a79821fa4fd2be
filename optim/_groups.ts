/**
 * Parameter groups as PyTorch's optimizers take them: `params` is either
 * an iterable of tensors (one group) or an iterable of groups
 * `{ params, ...overrides }`. This file turns either into resolved groups
 * (every hyper-parameter filled in from the defaults) and checks them:
 * unknown keys, non-tensors, non-float32 tensors and a tensor listed twice
 * are errors that name the place.
 *
 * @module
 */

import { Tensor } from "../tensor/mod.ts";

/** A value as a message quotes it. */
export function _show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v instanceof Tensor) return `a Tensor of shape [${v.shape}]`;
  if (Array.isArray(v)) return `[${v.map(_show).join(", ")}]`;
  if (v !== null && typeof v === "object") return v.constructor?.name ?? "object";
  return String(v);
}

/** A group's tensors, frozen, plus its hyper-parameters `H`. */
export type Resolved<H> = { readonly params: readonly Tensor[] } & H;

/** How one optimizer checks a fully merged set of hyper-parameters. */
export type HyperCheck<H> = (where: string, h: H) => void;

function isIterable(v: unknown): v is Iterable<unknown> {
  return v !== null && typeof v === "object" &&
    typeof (v as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function";
}

function isGroup(v: unknown): boolean {
  return v !== null && typeof v === "object" && !(v instanceof Tensor) && !isIterable(v);
}

function checkTensor(who: string, where: string, p: unknown): Tensor {
  if (!(p instanceof Tensor)) throw new TypeError(`${who}: ${where} is not a Tensor (got ${p})`);
  if (p.dtype !== "float32") {
    throw new TypeError(`${who}: ${where} has dtype ${p.dtype}, not float32`);
  }
  return p;
}

function groupTensors(who: string, where: string, ps: unknown): Tensor[] {
  if (ps instanceof Tensor) return [checkTensor(who, `${where}.params`, ps)];
  if (!isIterable(ps)) {
    throw new TypeError(
      `${who}: ${where}.params must be a Tensor or an iterable of Tensors, got ${_show(ps)}`,
    );
  }
  return [...ps].map((p, j) => checkTensor(who, `${where}.params[${j}]`, p));
}

/**
 * One group from its description: its tensors, and the defaults overridden
 * by the keys it sets (an `undefined` value keeps the default).
 */
export function resolveGroup<H extends object>(
  who: string,
  where: string,
  g: unknown,
  defaults: Partial<H>,
  keys: readonly string[],
  check: HyperCheck<H>,
): Resolved<H> {
  if (!isGroup(g)) {
    throw new TypeError(`${who}: ${where} must be a parameter group object, got ${_show(g)}`);
  }
  const rec = g as Record<string, unknown>;
  if (!("params" in rec)) throw new TypeError(`${who}: ${where} has no "params"`);
  const unknown = Object.keys(rec).filter((k) => k !== "params" && !keys.includes(k));
  if (unknown.length > 0) {
    throw new TypeError(
      `${who}: ${where} has unknown key(s) ${unknown.map(_show).join(", ")} (known: ${
        ["params", ...keys].map(_show).join(", ")
      })`,
    );
  }
  const params = Object.freeze(groupTensors(who, where, rec.params));
  const h: Record<string, unknown> = { ...defaults };
  for (const k of keys) if (rec[k] !== undefined) h[k] = rec[k];
  check(`${where}.`, h as H);
  return { ...(h as H), params };
}

/**
 * The groups of `params`: one group of defaults for an iterable of tensors,
 * else one resolved group per entry.
 *
 * @throws {TypeError} For a `params` that is not iterable, a mix of
 *   tensors and groups, a non-tensor or non-float32 entry, a group without
 *   `params` or with an unknown key, or a hyper-parameter of the wrong kind.
 * @throws {RangeError} For a hyper-parameter out of range, or a tensor
 *   listed twice (in one group or in two).
 */
export function resolveGroups<H extends object>(
  who: string,
  params: unknown,
  defaults: Partial<H>,
  keys: readonly string[],
  check: HyperCheck<H>,
): Resolved<H>[] {
  if (!isIterable(params) || params instanceof Tensor) {
    throw new TypeError(
      `${who}: params must be an iterable of Tensors or of parameter groups, got ${_show(params)}`,
    );
  }
  const list = [...params];
  let groups: Resolved<H>[];
  if (list.length > 0 && isGroup(list[0])) {
    // The options are checked even where every group overrides them, as
    // PyTorch checks its defaults; only a missing lr waits for the groups
    // (SGD needs one from the options or from every group).
    check("", { lr: 0, ...defaults } as H);
    groups = list.map((g, i) => {
      if (!isGroup(g)) {
        throw new TypeError(
          `${who}: params[${i}] is ${_show(g)} but params[0] is a parameter group: ` +
            "give tensors or groups, not both",
        );
      }
      return resolveGroup(who, `paramGroups[${i}]`, g, defaults, keys, check);
    });
  } else {
    const tensors = list.map((p, i) => checkTensor(who, `params[${i}]`, p));
    check("", { ...defaults } as H);
    groups = [{ ...(defaults as H), params: Object.freeze(tensors) }];
  }
  checkDistinct(who, groups, list.length > 0 && isGroup(list[0]));
  return groups;
}

/**
 * Throws a RangeError naming both places when a tensor is listed twice
 * (PyTorch: "some parameters appear in more than one parameter group").
 */
export function checkDistinct<H>(who: string, groups: Resolved<H>[], named = true): void {
  const seen = new Map<Tensor, string>();
  groups.forEach((g, i) =>
    g.params.forEach((p, j) => {
      const here = named ? `paramGroups[${i}].params[${j}]` : `params[${j}]`;
      const before = seen.get(p);
      if (before !== undefined) {
        throw new RangeError(
          `${who}: the tensor of shape [${p.shape}] at ${here} is also at ${before}; ` +
            "each parameter may be listed once",
        );
      }
      seen.set(p, here);
    })
  );
}
