/**
 * `Optimizer`: the base class of the optimizers. It holds the parameter
 * list and clears gradients; subclasses implement `step()`.
 *
 * @module
 */

import { Tensor } from "../tensor/mod.ts";

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
 * Base class: keeps the parameters to update and clears their gradients.
 *
 * @example
 * ```ts
 * import { nn, optim } from "../mod.ts";
 * const opt: optim.Optimizer = new optim.SGD(new nn.Linear(2, 1).parameters(), { lr: 0.1 });
 * opt.zeroGrad();
 * ```
 */
export abstract class Optimizer {
  /** The parameters this optimizer updates. */
  readonly params: readonly Tensor[];

  /**
   * @param who The subclass name, for messages.
   * @param params The parameters (any iterable of tensors).
   * @throws {TypeError} When an entry is not a float32 Tensor.
   */
  constructor(who: string, params: Iterable<Tensor>) {
    const list = [...params];
    list.forEach((p, i) => {
      if (!(p instanceof Tensor)) {
        throw new TypeError(`${who}: params[${i}] is not a Tensor (got ${p})`);
      }
      if (p.dtype !== "float32") {
        throw new TypeError(`${who}: params[${i}] has dtype ${p.dtype}, not float32`);
      }
    });
    this.params = list;
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
