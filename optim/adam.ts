/**
 * Adam and AdamW, numerically as PyTorch 1.13 (`amsgrad=False`).
 *
 * @module
 */

import { adamUpdate, keep, noGrad, type Tensor, zeros } from "../tensor/mod.ts";
import { _checkHyper, Optimizer } from "./optimizer.ts";

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
  betas?: [number, number];
  /** Denominator guard (default 1e-8). */
  eps?: number;
  /** Weight decay: L2 for Adam (default 0), decoupled for AdamW (default 1e-2). */
  weightDecay?: number;
}

interface _State {
  step: number;
  m: Tensor;
  v: Tensor;
}

/** Shared machinery of Adam and AdamW. */
abstract class _AdamBase extends Optimizer {
  /** Learning rate (may be changed between steps). */
  lr: number;
  /** Moment decay rates. */
  readonly betas: readonly [number, number];
  /** Denominator guard. */
  readonly eps: number;
  /** Weight decay. */
  readonly weightDecay: number;
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
    params: Iterable<Tensor>,
    opts: AdamOptions,
    decoupled: boolean,
  ) {
    super(who, params);
    const lr = opts?.lr ?? 1e-3;
    const [b1, b2] = opts.betas ?? [0.9, 0.999];
    const eps = opts.eps ?? 1e-8;
    const wd = opts.weightDecay ?? (decoupled ? 1e-2 : 0);
    _checkHyper(who, "lr", lr);
    _checkHyper(who, "betas[0]", b1, 1);
    _checkHyper(who, "betas[1]", b2, 1);
    _checkHyper(who, "eps", eps);
    _checkHyper(who, "weightDecay", wd);
    this.lr = lr;
    this.betas = [b1, b2];
    this.eps = eps;
    this.weightDecay = wd;
    this.#decoupled = decoupled;
  }

  /** Updates every parameter that has a gradient; others are skipped. */
  step(): void {
    noGrad(() => {
      for (const p of this.params) {
        const g = p.grad;
        if (g === null) continue;
        let s = this.#state.get(p);
        if (s === undefined) {
          const where = { backend: p.backend };
          s = { step: 0, m: keep(zeros([...p.shape], where)), v: keep(zeros([...p.shape], where)) };
          this.#state.set(p, s);
        }
        s.step++;
        const [beta1, beta2] = this.betas;
        adamUpdate(p, g, s.m, s.v, {
          lr: this.lr,
          beta1,
          beta2,
          eps: this.eps,
          weightDecay: this.#decoupled ? 0 : this.weightDecay,
          decoupledDecay: this.#decoupled ? this.weightDecay : 0,
          bias1: 1 - beta1 ** s.step,
          bias2: 1 - beta2 ** s.step,
        });
      }
    });
  }
}

/**
 * Adam (Kingma & Ba) with bias correction; `weightDecay` adds `wd·p` to the
 * gradient (L2), as `torch.optim.Adam`.
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
   * @param params The parameters to update.
   * @param opts `{ lr?, betas?, eps?, weightDecay? }`.
   * @throws {TypeError} For a non-number option or a non-tensor parameter.
   * @throws {RangeError} For an out-of-range option (betas must be in [0, 1)).
   */
  constructor(params: Iterable<Tensor>, opts: AdamOptions = {}) {
    super("Adam", params, opts, false);
  }
}

/**
 * AdamW (Loshchilov & Hutter): Adam with decoupled weight decay,
 * `p *= 1 − lr·wd` before the Adam step, as `torch.optim.AdamW`
 * (default `weightDecay` 1e-2).
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
   * @param params The parameters to update.
   * @param opts `{ lr?, betas?, eps?, weightDecay? }`.
   * @throws {TypeError} For a non-number option or a non-tensor parameter.
   * @throws {RangeError} For an out-of-range option (betas must be in [0, 1)).
   */
  constructor(params: Iterable<Tensor>, opts: AdamOptions = {}) {
    super("AdamW", params, opts, true);
  }
}
