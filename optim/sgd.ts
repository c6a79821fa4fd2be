/**
 * Stochastic gradient descent with optional momentum, as PyTorch 1.13.
 *
 * @module
 */

import { keep, noGrad, scope, type Tensor } from "../tensor/mod.ts";
import { _checkHyper, Optimizer, type ParamGroup } from "./optimizer.ts";

/**
 * Options of {@link SGD}.
 *
 * @example
 * ```ts
 * import { nn, optim } from "../mod.ts";
 * const opts: optim.SGDOptions = { lr: 0.1, momentum: 0.9 };
 * new optim.SGD(new nn.Linear(2, 2).parameters(), opts);
 * ```
 */
export interface SGDOptions {
  /** Learning rate. */
  lr: number;
  /** Momentum factor (default 0: plain SGD). */
  momentum?: number;
  /** Dampening of the momentum (default 0). */
  dampening?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
  /** Nesterov momentum (default false). */
  nesterov?: boolean;
}

/**
 * A resolved parameter group of {@link SGD}: its tensors and every value.
 *
 * @example
 * ```ts
 * import { nn, optim } from "../mod.ts";
 * const opt = new optim.SGD(new nn.Linear(2, 1).parameters(), { lr: 0.1, momentum: 0.9 });
 * const g: optim.SGDParamGroup = opt.paramGroups[0];
 * console.log(g.momentum); // 0.9
 * ```
 */
export interface SGDParamGroup extends ParamGroup {
  /** Momentum factor. */
  momentum: number;
  /** Momentum dampening. */
  dampening: number;
  /** Nesterov momentum. */
  nesterov: boolean;
}

/**
 * A parameter group as given to {@link SGD}: tensors plus any options to
 * override for them.
 *
 * @example
 * ```ts
 * import { nn, optim } from "../mod.ts";
 * const lin = new nn.Linear(2, 1);
 * const groups: optim.SGDGroupInput[] = [
 *   { params: [lin.weight], weightDecay: 1e-4 },
 *   { params: [lin.bias!], lr: 0.01 },
 * ];
 * new optim.SGD(groups, { lr: 0.1 });
 * ```
 */
export interface SGDGroupInput extends Partial<SGDOptions> {
  /** The group's tensors (a single tensor is one). */
  params: Iterable<Tensor> | Tensor;
}

type SGDHyper = Omit<SGDParamGroup, "params">;
const KEYS = ["lr", "momentum", "dampening", "weightDecay", "nesterov"] as const;

function check(where: string, h: SGDHyper): void {
  for (const k of ["lr", "momentum", "dampening", "weightDecay"] as const) {
    _checkHyper("SGD", where + k, h[k]);
  }
  if (typeof h.nesterov !== "boolean") {
    throw new TypeError(`SGD: ${where}nesterov must be a boolean, got ${typeof h.nesterov}`);
  }
  if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
    throw new RangeError(
      `SGD: ${where}Nesterov needs momentum > 0 and dampening 0 (got momentum ${h.momentum}, dampening ${h.dampening})`,
    );
  }
}

/**
 * `p −= lr · d` where `d = g + wd·p`, and with momentum
 * `buf = momentum·buf + (1 − dampening)·d` (`buf = d` on the first step),
 * `d = buf` (or `d + momentum·buf` with Nesterov), exactly as `torch.optim.SGD`.
 *
 * Takes tensors, or parameter groups whose values override the options
 * (each group must end up with an `lr`, from itself or the options).
 *
 * @example
 * ```ts
 * import { nn, optim, randn } from "../mod.ts";
 * const lin = new nn.Linear(3, 1);
 * const opt = new optim.SGD(lin.parameters(), { lr: 0.1, momentum: 0.9 });
 * nn.mseLoss(lin.forward(randn([4, 3])), randn([4, 1])).backward();
 * opt.step();
 * opt.zeroGrad();
 * ```
 */
export class SGD extends Optimizer<SGDParamGroup> {
  #buffers = new Map<Tensor, Tensor>();

  protected override _stateTensors(): Iterable<Tensor> {
    return this.#buffers.values();
  }

  protected override _clearState(): void {
    this.#buffers.clear();
  }

  /**
   * @param params The parameters to update, or parameter groups
   *   `{ params, lr?, momentum?, dampening?, weightDecay?, nesterov? }`.
   * @param opts `{ lr, momentum?, dampening?, weightDecay?, nesterov? }`;
   *   `lr` may be left out when every group sets its own.
   * @throws {TypeError} For a non-number option, a non-tensor parameter, a
   *   group with an unknown key, or a missing `lr`.
   * @throws {RangeError} For a negative or non-finite option, Nesterov
   *   without momentum or with dampening, or a tensor listed twice.
   */
  constructor(params: Iterable<Tensor>, opts: SGDOptions);
  /**
   * @param params Parameter groups
   *   `{ params, lr?, momentum?, dampening?, weightDecay?, nesterov? }`.
   * @param opts Defaults for what a group does not set; `lr` may be left
   *   out when every group sets its own.
   */
  constructor(params: Iterable<SGDGroupInput>, opts?: Partial<SGDOptions>);
  constructor(
    params: Iterable<Tensor> | Iterable<SGDGroupInput>,
    opts: Partial<SGDOptions> = {},
  ) {
    if (opts === null || typeof opts !== "object") {
      throw new TypeError(`SGD: options must be an object, got ${opts}`);
    }
    const defaults: Partial<SGDHyper> = {
      momentum: opts.momentum ?? 0,
      dampening: opts.dampening ?? 0,
      weightDecay: opts.weightDecay ?? 0,
      nesterov: opts.nesterov ?? false,
    };
    if (opts.lr !== undefined) defaults.lr = opts.lr;
    super("SGD", params, defaults, KEYS, check);
  }

  /** Default momentum factor (a group may set its own). */
  get momentum(): number {
    return this.defaults.momentum!;
  }

  /** Default momentum dampening (a group may set its own). */
  get dampening(): number {
    return this.defaults.dampening!;
  }

  /** Default L2 penalty (a group may set its own). */
  get weightDecay(): number {
    return this.defaults.weightDecay!;
  }

  /** Default Nesterov flag (a group may set its own). */
  get nesterov(): boolean {
    return this.defaults.nesterov!;
  }

  /** Updates every parameter that has a gradient; others are skipped. */
  step(): void {
    this._checkGroups();
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          const g = p.grad;
          if (g === null) continue;
          scope(() => this.#update(group, p, g));
        }
      }
    });
  }

  #update(h: SGDParamGroup, p: Tensor, g: Tensor): void {
    let d = h.weightDecay !== 0 ? g.add(p.mul(h.weightDecay)) : g;
    if (h.momentum !== 0) {
      const buf = this.#buffers.get(p);
      if (buf === undefined) {
        const fresh = keep(d.clone());
        this.#buffers.set(p, fresh);
        d = h.nesterov ? d.add(fresh.mul(h.momentum)) : fresh;
      } else {
        buf.assign(buf.mul(h.momentum).add(d.mul(1 - h.dampening)));
        d = h.nesterov ? d.add(buf.mul(h.momentum)) : buf;
      }
    }
    p.assign(p.sub(d.mul(h.lr)));
  }
}
