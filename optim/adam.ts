/**
 * Adam and AdamW, numerically as PyTorch 1.13 (`amsgrad=False`).
 *
 * @module
 */

import { adamUpdate, keep, noGrad, type Tensor, zeros } from "../tensor/mod.ts";
import { _checkHyper, Optimizer, type ParamGroup } from "./optimizer.ts";

/**
 * Options of {@link Adam} and {@link AdamW}.
 *
 * @example
 * ```ts
 * import { nn, optim } from "../mod.ts";
 * const opts: optim.AdamOptions = { lr: 1e-3, betas: [0.9, 0.98], weightDecay: 0.01 };
 * new optim.AdamW(new nn.Linear(2, 2).parameters(), opts);
 * ```
 */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** Decay rates of the first and second moments (default [0.9, 0.999]). */
  betas?: readonly [number, number];
  /** Denominator guard (default 1e-8). */
  eps?: number;
  /** Weight decay: L2 for Adam (default 0), decoupled for AdamW (default 1e-2). */
  weightDecay?: number;
}

/**
 * A resolved parameter group of {@link Adam} or {@link AdamW}.
 *
 * @example
 * ```ts
 * import { nn, optim } from "../mod.ts";
 * const opt = new optim.AdamW(new nn.Linear(2, 1).parameters());
 * const g: optim.AdamParamGroup = opt.paramGroups[0];
 * console.log(g.betas, g.weightDecay); // [0.9, 0.999] 0.01
 * ```
 */
export interface AdamParamGroup extends ParamGroup {
  /** Moment decay rates. */
  betas: readonly [number, number];
  /** Denominator guard. */
  eps: number;
}

/**
 * A parameter group as given to {@link Adam} or {@link AdamW}: tensors plus
 * any options to override for them.
 *
 * @example
 * ```ts
 * import { nn, optim } from "../mod.ts";
 * const lin = new nn.Linear(2, 1);
 * const groups: optim.AdamGroupInput[] = [
 *   { params: [lin.weight] },
 *   { params: [lin.bias!], weightDecay: 0 },
 * ];
 * new optim.AdamW(groups, { lr: 1e-3, weightDecay: 0.1 });
 * ```
 */
export interface AdamGroupInput extends AdamOptions {
  /** The group's tensors (a single tensor is one). */
  params: Iterable<Tensor> | Tensor;
}

type AdamHyper = Omit<AdamParamGroup, "params">;
const KEYS = ["lr", "betas", "eps", "weightDecay"] as const;

function checker(who: string) {
  return (where: string, h: AdamHyper): void => {
    _checkHyper(who, where + "lr", h.lr);
    const b = h.betas as unknown;
    if (!Array.isArray(b) || b.length !== 2) {
      throw new TypeError(`${who}: ${where}betas must be a pair of numbers, got ${b}`);
    }
    _checkHyper(who, where + "betas[0]", b[0], 1);
    _checkHyper(who, where + "betas[1]", b[1], 1);
    _checkHyper(who, where + "eps", h.eps);
    _checkHyper(who, where + "weightDecay", h.weightDecay);
  };
}

interface _State {
  step: number;
  m: Tensor;
  v: Tensor;
}

/** Shared machinery of Adam and AdamW. */
abstract class _AdamBase extends Optimizer<AdamParamGroup> {
  #state = new Map<Tensor, _State>();
  readonly #decoupled: boolean;

  protected override *_stateTensors(): Iterable<Tensor> {
    for (const s of this.#state.values()) yield* [s.m, s.v];
  }

  protected override _clearState(): void {
    this.#state.clear();
  }

  constructor(
    who: string,
    params: Iterable<Tensor> | Iterable<AdamGroupInput>,
    opts: AdamOptions,
    decoupled: boolean,
  ) {
    if (opts === null || typeof opts !== "object") {
      throw new TypeError(`${who}: options must be an object, got ${opts}`);
    }
    const defaults: AdamHyper = {
      lr: opts.lr ?? 1e-3,
      betas: opts.betas ?? [0.9, 0.999],
      eps: opts.eps ?? 1e-8,
      weightDecay: opts.weightDecay ?? (decoupled ? 1e-2 : 0),
    };
    super(who, params, defaults, KEYS, checker(who));
    this.#decoupled = decoupled;
  }

  /** Default moment decay rates (a group may set its own). */
  get betas(): readonly [number, number] {
    return this.defaults.betas!;
  }

  /** Default denominator guard (a group may set its own). */
  get eps(): number {
    return this.defaults.eps!;
  }

  /** Default weight decay (a group may set its own). */
  get weightDecay(): number {
    return this.defaults.weightDecay!;
  }

  /** Updates every parameter that has a gradient; others are skipped. */
  step(): void {
    this._checkGroups();
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          const g = p.grad;
          if (g !== null) this.#update(group, p, g);
        }
      }
    });
  }

  #update(h: AdamParamGroup, p: Tensor, g: Tensor): void {
    let s = this.#state.get(p);
    if (s === undefined) {
      const where = { backend: p.backend };
      s = { step: 0, m: keep(zeros([...p.shape], where)), v: keep(zeros([...p.shape], where)) };
      this.#state.set(p, s);
    }
    s.step++;
    const [beta1, beta2] = h.betas;
    adamUpdate(p, g, s.m, s.v, {
      lr: h.lr,
      beta1,
      beta2,
      eps: h.eps,
      weightDecay: this.#decoupled ? 0 : h.weightDecay,
      decoupledDecay: this.#decoupled ? h.weightDecay : 0,
      bias1: 1 - beta1 ** s.step,
      bias2: 1 - beta2 ** s.step,
    });
  }
}

/**
 * Adam (Kingma & Ba) with bias correction; `weightDecay` adds `wd·p` to the
 * gradient (L2), as `torch.optim.Adam`. Takes tensors, or parameter groups
 * whose values override the options.
 *
 * @example
 * ```ts
 * import { nn, optim, randn } from "../mod.ts";
 * const lin = new nn.Linear(3, 1);
 * const opt = new optim.Adam(lin.parameters(), { lr: 1e-2 });
 * nn.mseLoss(lin.forward(randn([4, 3])), randn([4, 1])).backward();
 * opt.step();
 * opt.zeroGrad();
 * ```
 */
export class Adam extends _AdamBase {
  /**
   * @param params The parameters to update, or parameter groups
   *   `{ params, lr?, betas?, eps?, weightDecay? }`.
   * @param opts `{ lr?, betas?, eps?, weightDecay? }`: the defaults.
   * @throws {TypeError} For a non-number option, a non-tensor parameter or
   *   a group with an unknown key.
   * @throws {RangeError} For an out-of-range option (betas must be in
   *   [0, 1)) or a tensor listed twice.
   */
  constructor(params: Iterable<Tensor> | Iterable<AdamGroupInput>, opts: AdamOptions = {}) {
    super("Adam", params, opts, false);
  }
}

/**
 * AdamW (Loshchilov & Hutter): Adam with decoupled weight decay,
 * `p *= 1 − lr·wd` before the Adam step, as `torch.optim.AdamW`
 * (default `weightDecay` 1e-2). Takes tensors, or parameter groups whose
 * values override the options.
 *
 * @example
 * ```ts
 * import { nn, optim, randn } from "../mod.ts";
 * const lin = new nn.Linear(3, 1);
 * const opt = new optim.AdamW(lin.parameters(), { lr: 1e-2, weightDecay: 0.1 });
 * nn.mseLoss(lin.forward(randn([4, 3])), randn([4, 1])).backward();
 * opt.step();
 * ```
 */
export class AdamW extends _AdamBase {
  /**
   * @param params The parameters to update, or parameter groups
   *   `{ params, lr?, betas?, eps?, weightDecay? }`.
   * @param opts `{ lr?, betas?, eps?, weightDecay? }`: the defaults.
   * @throws {TypeError} For a non-number option, a non-tensor parameter or
   *   a group with an unknown key.
   * @throws {RangeError} For an out-of-range option (betas must be in
   *   [0, 1)) or a tensor listed twice.
   */
  constructor(params: Iterable<Tensor> | Iterable<AdamGroupInput>, opts: AdamOptions = {}) {
    super("AdamW", params, opts, true);
  }
}
