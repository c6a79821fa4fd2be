/**
 * Parameter-free layers: `Sequential`, the activations, `Identity` and
 * `Dropout`.
 *
 * @module
 */

import { rand, scope, type Tensor } from "../tensor/mod.ts";
import { Module } from "./module.ts";
import { _checkFloat, _checkProb } from "./checks.ts";

/**
 * Runs its children one after another. Children are named `"0"`, `"1"`, …
 * as in PyTorch, so parameters read `"0.weight"`.
 *
 * @example
 * ```ts
 * import { nn, randn } from "../mod.ts";
 * const mlp = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 2));
 * console.log(mlp.forward(randn([3, 4])).shape); // [3, 2]
 * ```
 */
export class Sequential extends Module {
  /** The children by position. */
  [index: number]: Module;

  /**
   * @param modules The layers, applied in order.
   * @throws {TypeError} When an argument is not a Module.
   */
  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) {
        throw new TypeError(`Sequential: argument ${i} is not a Module (got ${m})`);
      }
      this[i] = m;
    });
  }

  /** How many children there are. */
  get length(): number {
    return this.namedChildren().size;
  }

  /** The children in order. */
  *[Symbol.iterator](): Iterator<Module> {
    yield* this.namedChildren().values();
  }

  /**
   * @param x The input of the first layer.
   * @returns The output of the last layer (`x` itself when empty).
   */
  override forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this) y = m.forward(y);
    return y;
  }
}

/**
 * Returns its input unchanged.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "../mod.ts";
 * const x = tensor([1, 2]);
 * console.log(new nn.Identity().forward(x) === x); // true
 * ```
 */
export class Identity extends Module {
  /** @param x Any tensor. @returns `x`. */
  override forward(x: Tensor): Tensor {
    return x;
  }
}

/**
 * `max(x, 0)` elementwise.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "../mod.ts";
 * console.log(new nn.ReLU().forward(tensor([-1, 2])).dataSync()); // [0, 2]
 * ```
 */
export class ReLU extends Module {
  /** @param x Input. @returns `relu(x)`. */
  override forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/**
 * The Gaussian error linear unit: the exact `x·Φ(x)` (PyTorch's default),
 * or with `{ approximate: "tanh" }` the tanh form
 * `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` (GPT-2's `gelu_new`).
 *
 * @example
 * ```ts
 * import { nn, tensor } from "../mod.ts";
 * new nn.GELU().forward(tensor([0, 1]));
 * new nn.GELU({ approximate: "tanh" }).forward(tensor([0, 1]));
 * ```
 */
export class GELU extends Module {
  /** "none" (exact, erf) or "tanh". */
  readonly approximate: "none" | "tanh";

  /**
   * @param opts `{ approximate?: "none" | "tanh" }`.
   * @throws {TypeError} For another `approximate`.
   */
  constructor(opts: { approximate?: "none" | "tanh" } = {}) {
    super();
    const a = opts.approximate ?? "none";
    if (a !== "none" && a !== "tanh") {
      throw new TypeError(`GELU: approximate must be "none" or "tanh", got ${JSON.stringify(a)}`);
    }
    this.approximate = a;
  }

  /** @param x Input. @returns GELU(x). */
  override forward(x: Tensor): Tensor {
    return this.approximate === "tanh" ? geluTanh(x) : x.gelu();
  }
}

/**
 * The tanh approximation of GELU, `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`
 * (transformers' `gelu_new`), composed from primitives.
 *
 * @param x Input, float32.
 * @returns Same shape.
 * @example
 * ```ts
 * import { nn, tensor } from "../mod.ts";
 * nn.geluTanh(tensor([-1, 0, 1]));
 * ```
 */
export function geluTanh(x: Tensor): Tensor {
  _checkFloat("geluTanh", x);
  return scope(() => {
    const inner = x.mul(x).mul(x).mul(0.044715).add(x).mul(Math.sqrt(2 / Math.PI));
    return inner.tanh().add(1).mul(x).mul(0.5);
  });
}

/**
 * The sigmoid linear unit (swish), `x·σ(x)`, as Llama's MLP uses it.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "../mod.ts";
 * new nn.SiLU().forward(tensor([-1, 0, 1]));
 * ```
 */
export class SiLU extends Module {
  /** @param x Input. @returns `x·σ(x)`. */
  override forward(x: Tensor): Tensor {
    return silu(x);
  }
}

/**
 * `x·σ(x)` elementwise (PyTorch's `F.silu`).
 *
 * @param x Input, float32.
 * @returns Same shape.
 * @example
 * ```ts
 * import { nn, tensor } from "../mod.ts";
 * nn.silu(tensor([0, 2]));
 * ```
 */
export function silu(x: Tensor): Tensor {
  _checkFloat("silu", x);
  return scope(() => x.mul(x.sigmoid()));
}

/**
 * `tanh(x)` elementwise.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "../mod.ts";
 * console.log(new nn.Tanh().forward(tensor([0])).dataSync()); // [0]
 * ```
 */
export class Tanh extends Module {
  /** @param x Input. @returns `tanh(x)`. */
  override forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

/**
 * `1 / (1 + e^−x)` elementwise.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "../mod.ts";
 * console.log(new nn.Sigmoid().forward(tensor([0])).dataSync()); // [0.5]
 * ```
 */
export class Sigmoid extends Module {
  /** @param x Input. @returns `sigmoid(x)`. */
  override forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

/**
 * In training mode zeroes each element with probability `p` and scales the
 * rest by `1 / (1 − p)`; in evaluation mode returns its input. The mask is
 * drawn from the library RNG, so `manualSeed` makes it reproducible.
 *
 * @example
 * ```ts
 * import { manualSeed, nn, ones } from "../mod.ts";
 * manualSeed(0);
 * const d = new nn.Dropout(0.5);
 * console.log(d.forward(ones([6])).dataSync()); // each 0 or 2
 * console.log(d.eval().forward(ones([2])).dataSync()); // [1, 1]
 * ```
 */
export class Dropout extends Module {
  /** The drop probability. */
  readonly p: number;

  /**
   * @param p Drop probability in [0, 1] (default 0.5).
   * @throws {TypeError} When `p` is not a number.
   * @throws {RangeError} When `p` is outside [0, 1].
   */
  constructor(p = 0.5) {
    super();
    _checkProb("Dropout", p);
    this.p = p;
  }

  /**
   * @param x Input.
   * @returns `x` masked and rescaled in training mode, `x` itself otherwise.
   */
  override forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    if (this.p === 1) return x.mul(0);
    const u = rand([...x.shape], { backend: x.backend });
    const keepMask = u.gt(this.p);
    u.dispose();
    const scaled = keepMask.mul(1 / (1 - this.p));
    keepMask.dispose();
    return x.mul(scaled);
  }
}
