/**
 * `Optimizer`: the base class of the optimizers. It holds the parameter
 * groups and clears gradients; subclasses implement `step()`.
 *
 * @module
 */

import type { Tensor } from "../tensor/mod.ts";
import { checkDistinct, type HyperCheck, resolveGroup, resolveGroups } from "./_groups.ts";

/** Throws unless `v` is a finite number ≥ 0 (RangeError) or a number (TypeError). */
export function _checkHyper(who: string, name: string, v: unknown, max = Infinity): void {
  if (typeof v !== "number") {
    throw new TypeError(`${who}: ${name} must be a number, got ${typeof v}`);
  }
  if (!(v >= 0 && v < max) || !Number.isFinite(v)) {
    throw new RangeError(
      `${who}: ${name} must be in [0, ${max === Infinity ? "∞" : max}), got ${v}`,
    );
  }
}

/**
 * What every parameter group holds once resolved: its tensors and the
 * hyper-parameters all optimizers share. Each optimizer's group type adds
 * its own (`SGDParamGroup`, `AdamParamGroup`).
 *
 * @example
 * ```ts
 * import { nn, optim } from "../mod.ts";
 * const opt = new optim.SGD(new nn.Linear(2, 1).parameters(), { lr: 0.1 });
 * const g: optim.ParamGroup = opt.paramGroups[0];
 * console.log(g.lr, g.params.length); // 0.1 2
 * ```
 */
export interface ParamGroup {
  /** The group's tensors (frozen: a group's membership is fixed). */
  readonly params: readonly Tensor[];
  /** Learning rate; may be changed between steps (a scheduler does). */
  lr: number;
  /** Weight decay. */
  weightDecay: number;
}

/**
 * Base class: keeps the parameter groups and clears gradients.
 *
 * `params` may be an iterable of tensors (one group with the optimizer's
 * options) or, as in PyTorch, an iterable of groups
 * `{ params, lr?, weightDecay?, … }` whose values override the options for
 * that group. {@link Optimizer.paramGroups} holds the resolved groups
 * (every value filled in); changing a value there takes effect at the next
 * step, where it is checked again.
 *
 * @example
 * ```ts
 * import { nn, optim } from "../mod.ts";
 * const opt: optim.Optimizer = new optim.SGD(new nn.Linear(2, 1).parameters(), { lr: 0.1 });
 * opt.zeroGrad();
 * ```
 */
export abstract class Optimizer<G extends ParamGroup = ParamGroup> {
  /** The resolved parameter groups, in the order given (PyTorch's `param_groups`). */
  readonly paramGroups: G[];
  /**
   * The options groups take a value from when they do not set it (PyTorch's
   * `defaults`); a value the options left out (SGD's `lr` when every group
   * sets its own) is absent.
   */
  readonly defaults: Readonly<Partial<Omit<G, "params">>>;
  readonly #who: string;
  readonly #keys: readonly string[];
  // Typed loosely so Optimizer<SGDParamGroup> is an Optimizer<ParamGroup>.
  readonly #check: HyperCheck<object>;

  /**
   * @param who The subclass name, for messages.
   * @param params Tensors, or parameter groups.
   * @param defaults The options, filled in with the subclass's defaults.
   * @param keys The hyper-parameter names a group may set.
   * @param check Throws for a bad merged set of hyper-parameters.
   * @throws {TypeError} See {@link resolveGroups}.
   * @throws {RangeError} See {@link resolveGroups}.
   */
  constructor(
    who: string,
    params: unknown,
    defaults: Partial<Omit<G, "params">>,
    keys: readonly string[],
    check: HyperCheck<Omit<G, "params">>,
  ) {
    this.#who = who;
    this.#keys = keys;
    this.#check = check as HyperCheck<object>;
    this.defaults = Object.freeze({ ...defaults });
    this.paramGroups = resolveGroups(who, params, defaults, keys, check) as G[];
  }

  /**
   * Adds a parameter group (PyTorch's `add_param_group`), e.g. layers
   * unfrozen part-way through training; values it does not set come from
   * {@link Optimizer.defaults}.
   *
   * @param group `{ params, ...overrides }`.
   * @throws {TypeError} For a bad group (see the constructor).
   * @throws {RangeError} For a value out of range, or a tensor some group
   *   already holds.
   * @example
   * ```ts
   * import { nn, optim } from "../mod.ts";
   * const [a, b] = [new nn.Linear(2, 2), new nn.Linear(2, 1)];
   * const opt = new optim.AdamW(a.parameters(), { lr: 1e-3 });
   * opt.addParamGroup({ params: b.parameters(), lr: 1e-4 });
   * console.log(opt.paramGroups.length); // 2
   * ```
   */
  addParamGroup(group: { params: Iterable<Tensor> | Tensor } & Partial<Omit<G, "params">>): void {
    const where = `paramGroups[${this.paramGroups.length}]`;
    const g = resolveGroup(this.#who, where, group, this.defaults, this.#keys, this.#check);
    checkDistinct(this.#who, [...this.paramGroups, g] as G[]);
    this.paramGroups.push(g as G);
  }

  /**
   * Internal: checks every group's values again before a step reads them
   * (they may have been changed since), so a bad value throws before any
   * parameter moves.
   */
  protected _checkGroups(): void {
    this.paramGroups.forEach((g, i) => {
      const { params: _, ...h } = g;
      this.#check(this.paramGroups.length > 1 ? `paramGroups[${i}].` : "", h);
    });
  }

  /** Every parameter of every group, in order. */
  get params(): readonly Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /**
   * The learning rate all groups share. Setting it sets every group's.
   *
   * @throws {RangeError} When the groups have different learning rates
   *   (read or set `paramGroups[i].lr` then), or when setting a negative or
   *   non-finite value.
   * @throws {TypeError} When setting a non-number.
   */
  get lr(): number {
    return this.#sharedLr();
  }

  set lr(v: number) {
    _checkHyper(this.#who, "lr", v);
    this.#sharedLr();
    for (const g of this.paramGroups) g.lr = v;
  }

  #sharedLr(): number {
    const lrs = [...new Set(this.paramGroups.map((g) => g.lr))];
    if (lrs.length > 1) {
      throw new RangeError(
        `${this.#who}: the parameter groups have different learning rates (${
          lrs.join(", ")
        }); use paramGroups[i].lr`,
      );
    }
    return lrs[0];
  }

  /**
   * Applies one update to every parameter that has a gradient.
   *
   * @example
   * ```ts
   * import { nn, optim, randn } from "../mod.ts";
   * const lin = new nn.Linear(2, 1);
   * const opt = new optim.Adam(lin.parameters(), { lr: 1e-3 });
   * lin.forward(randn([4, 2])).sum().backward();
   * opt.step();
   * ```
   */
  abstract step(): void;

  /**
   * Sets every parameter's gradient to `null`, disposing it.
   *
   * @example
   * ```ts
   * import { nn, optim } from "../mod.ts";
   * const lin = new nn.Linear(2, 1);
   * new optim.SGD(lin.parameters(), { lr: 0.1 }).zeroGrad();
   * console.log(lin.weight.grad); // null
   * ```
   */
  zeroGrad(): void {
    for (const p of this.params) {
      const g = p.grad;
      if (g !== null) {
        p.grad = null;
        g.dispose();
      }
    }
  }

  /** Internal: the state tensors a subclass keeps (moments, momentum buffers). */
  protected _stateTensors(): Iterable<Tensor> {
    return [];
  }

  /** Internal: forgets the state after `dispose()` freed it. */
  protected _clearState(): void {}

  /**
   * Frees the optimizer's state (Adam's moments, SGD's momentum buffers);
   * a later `step()` starts them afresh. `using opt = …` does the same.
   *
   * @example
   * ```ts
   * import { nn, optim } from "../mod.ts";
   * const opt = new optim.Adam(new nn.Linear(2, 1).parameters(), { lr: 1e-3 });
   * opt.dispose();
   * ```
   */
  dispose(): void {
    for (const t of this._stateTensors()) t.dispose();
    this._clearState();
  }

  /** `using opt = new optim.Adam(…)` frees the state at scope end. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
