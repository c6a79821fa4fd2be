/**
 * `assertClose`: the test assertion for tensors and numbers.
 *
 * @module
 */
import type { NestedArray } from "./tensor.ts";
import { Tensor } from "./tensor.ts";

/** Tolerances: pass when |a − e| ≤ atol + rtol·|e|. */
export interface CloseOptions {
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
}

/** What `assertClose` compares: tensors, numbers, nested or typed arrays. */
export type CloseValues = Tensor | NestedArray | ArrayLike<number>;

async function flat(x: CloseValues): Promise<{ values: number[]; shape: number[] | null }> {
  if (x instanceof Tensor) return { values: Array.from(await x.data()), shape: [...x.shape] };
  if (typeof x === "number") return { values: [x], shape: null };
  if (Array.isArray(x)) return { values: (x as unknown[]).flat(Infinity) as number[], shape: null };
  return { values: Array.from(x as ArrayLike<number>), shape: null };
}

/**
 * Asserts two tensors (or numbers, nested arrays, typed arrays) are equal
 * within tolerance, element by element; NaN matches NaN.
 *
 * @param actual The value under test.
 * @param expected The reference.
 * @param opts `atol`, `rtol`.
 * @throws {Error} naming the first mismatch, its index and the tolerance.
 * @example
 * ```ts
 * import { assertClose, tensor } from "../mod.ts";
 * await assertClose(tensor([1, 2]).mul(2), [2, 4]);
 * ```
 */
export async function assertClose(
  actual: CloseValues,
  expected: CloseValues,
  opts: CloseOptions = {},
): Promise<void> {
  const atol = opts.atol ?? 1e-5, rtol = opts.rtol ?? 1e-5;
  const a = await flat(actual), e = await flat(expected);
  if (a.shape && e.shape && a.shape.join(",") !== e.shape.join(",")) {
    throw new Error(`assertClose: shapes differ: [${a.shape}] vs [${e.shape}]`);
  }
  if (a.values.length !== e.values.length) {
    throw new Error(
      `assertClose: sizes differ: ${a.values.length} vs ${e.values.length} elements`,
    );
  }
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < a.values.length; i++) {
    const x = a.values[i], y = e.values[i];
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `assertClose: element ${worst}: got ${a.values[worst]}, expected ${
        e.values[worst]
      } (atol ${atol}, rtol ${rtol})`,
    );
  }
}
