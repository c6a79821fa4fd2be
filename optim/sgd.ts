/**
 * Stochastic gradient descent with optional momentum, as PyTorch 1.13.
 *
 * @module
 */

import { keep, noGrad, scope, type Tensor } from "../tensor/mod.ts";
import { _checkHyper, Optimizer } from "./optimizer.ts";

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
 * `p −= lr · d` where `d = g + wd·p`, and with momentum
 * `buf = momentum·buf + (1 − dampening)·d` (`buf = d` on the first step),
 * `d = buf` (or `d + momentum·buf` with Nesterov), exactly as `torch.optim.SGD`.
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
export class SGD extends Optimizer {
  /** Learning rate (may be changed between steps). */
  lr: number;
  /** Momentum factor. */
  readonly momentum: number;
  /** Momentum dampening. */
  readonly dampening: number;
  /** L2 penalty. */
  readonly weightDecay: number;
  /** Nesterov momentum. */
  readonly nesterov: boolean;
  #buffers = new Map<Tensor, Tensor>();

  protected override _stateTensors(): Iterable<Tensor> {
    return this.#buffers.values();
  }

  protected override _clearState(): void {
    this.#buffers.clear();
  }

  /**
   * @param params The parameters to update.
   * @param opts `{ lr, momentum?, dampening?, weightDecay?, nesterov? }`.
   * @throws {TypeError} For a non-number option or a non-tensor parameter.
   * @throws {RangeError} For a negative or non-finite option, or Nesterov
   *   without momentum or with dampening.
   */
  constructor(params: Iterable<Tensor>, opts: SGDOptions) {
    super("SGD", params);
    _checkHyper("SGD", "lr", opts?.lr);
    _checkHyper("SGD", "momentum", opts.momentum ?? 0);
    _checkHyper("SGD", "dampening", opts.dampening ?? 0);
    _checkHyper("SGD", "weightDecay", opts.weightDecay ?? 0);
    this.lr = opts.lr;
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
    this.nesterov = opts.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new RangeError(
        `SGD: Nesterov needs momentum > 0 and dampening 0 (got momentum ${this.momentum}, dampening ${this.dampening})`,
      );
    }
  }

  /** Updates every parameter that has a gradient; others are skipped. */
  step(): void {
    noGrad(() => {
      for (const p of this.params) {
        const g = p.grad;
        if (g === null) continue;
        scope(() => this.#update(p, g));
      }
    });
  }

  #update(p: Tensor, g: Tensor): void {
    let d = this.weightDecay !== 0 ? g.add(p.mul(this.weightDecay)) : g;
    if (this.momentum !== 0) {
      const buf = this.#buffers.get(p);
      if (buf === undefined) {
        const fresh = keep(d.clone());
        this.#buffers.set(p, fresh);
        d = this.nesterov ? d.add(fresh.mul(this.momentum)) : fresh;
      } else {
        buf.assign(buf.mul(this.momentum).add(d.mul(1 - this.dampening)));
        d = this.nesterov ? d.add(buf.mul(this.momentum)) : buf;
      }
    }
    p.assign(p.sub(d.mul(this.lr)));
  }
}
