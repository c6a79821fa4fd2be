/**
 * The `"svd"` combination of `addWeightedAdapter`: the truncated SVD of the
 * weighted sum of the adapters' updates (PEFT's
 * `_svd_generalized_task_arithmetic_weighted_adapter`).
 *
 * It needs `linalg.svd`, which this build does not have yet: asking for it
 * is refused before anything changes.
 *
 * @module
 */

import type { Tensor } from "../tensor/mod.ts";
import type { LoraAdapter } from "./adapter.ts";
import type { LoraLayer } from "./lora_layer.ts";

/** The `"svd"` combination: a check made before anything changes, and the factors. */
export const _svdCombine = {
  /**
   * Throws when the combination cannot run here.
   *
   * @throws {TypeError} Always, until `linalg` lands.
   */
  check(who: string): void {
    throw new TypeError(`${who}: combination "svd" needs linalg.svd, not available yet`);
  },
  /** The new adapter's A and B on one layer. */
  factors(
    _layer: LoraLayer,
    _present: [LoraAdapter, number][],
    _rank: number,
    _clamp: number | undefined,
  ): [Tensor, Tensor] {
    throw new TypeError(`combination "svd" needs linalg.svd, not available yet`);
  },
};
