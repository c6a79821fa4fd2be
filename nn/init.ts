/**
 * Parameter factories: random tensors drawn from the library RNG (so
 * `manualSeed` makes them reproducible on every backend), marked as
 * trainable and kept alive past any enclosing `scope()`.
 *
 * @module
 */

import { keep, rand, randn, scope, type Tensor } from "../tensor/mod.ts";

/**
 * Where to create a parameter.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * const opts: nn.ParameterOptions = { backend: "cpu" };
 * nn.uniformParameter([2, 2], -1, 1, opts);
 * ```
 */
export interface ParameterOptions {
  /** Backend name; the default backend when omitted. */
  backend?: string;
}

function _checkShape(shape: readonly number[], what: string): void {
  if (!Array.isArray(shape) || shape.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new RangeError(`${what}: invalid shape [${shape}]`);
  }
}

/**
 * Marks a tensor as a parameter: `requiresGrad = true` and kept past the
 * enclosing `scope()`.
 *
 * @param t A leaf tensor.
 * @returns `t` itself.
 * @example
 * ```ts
 * import { nn, zeros } from "../mod.ts";
 * const w = nn.parameter(zeros([2, 2]));
 * console.log(w.requiresGrad); // true
 * ```
 */
export function parameter(t: Tensor): Tensor {
  t.requiresGrad = true;
  return keep(t);
}

/**
 * A parameter drawn from U(low, high).
 *
 * @param shape The shape.
 * @param low Lower bound.
 * @param high Upper bound.
 * @param opts Where to create it.
 * @returns A fresh trainable tensor.
 * @throws {RangeError} For an invalid shape.
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * const w = nn.uniformParameter([4, 3], -0.5, 0.5);
 * console.log(w.shape); // [4, 3]
 * ```
 */
export function uniformParameter(
  shape: readonly number[],
  low: number,
  high: number,
  opts: ParameterOptions = {},
): Tensor {
  _checkShape(shape, "uniformParameter");
  const t = scope(() => rand([...shape], opts).mul(high - low).add(low));
  return parameter(t);
}

/**
 * A parameter drawn from N(mean, std²).
 *
 * @param shape The shape.
 * @param mean The mean.
 * @param std The standard deviation.
 * @param opts Where to create it.
 * @returns A fresh trainable tensor.
 * @throws {RangeError} For an invalid shape.
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * const e = nn.normalParameter([10, 4], 0, 1);
 * console.log(e.shape); // [10, 4]
 * ```
 */
export function normalParameter(
  shape: readonly number[],
  mean: number,
  std: number,
  opts: ParameterOptions = {},
): Tensor {
  _checkShape(shape, "normalParameter");
  const t = scope(() => {
    const z = randn([...shape], opts);
    return mean === 0 && std === 1 ? z : z.mul(std).add(mean);
  });
  return parameter(t);
}
