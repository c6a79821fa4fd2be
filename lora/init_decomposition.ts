/**
 * PEFT's decomposition initialisations, `"pissa"`, `"pissa_niter_N"` and
 * `"olora"`: A and B from the SVD / QR of the base weight, subtracted from it.
 *
 * They need `linalg.svd` and `linalg.qr`, which this build does not have
 * yet: asking for them is refused before anything changes.
 *
 * @module
 */

import type { LoraLinear } from "./lora_linear.ts";

/** The decomposition inits: a check made before anything changes, and the init itself. */
export const _decompose = {
  /**
   * Throws when the init cannot run here.
   *
   * @throws {TypeError} Always, until `linalg` lands.
   */
  check(who: string, init: string): void {
    throw new TypeError(`${who}: init "${init}" needs linalg.svd / linalg.qr, not available yet`);
  },
  /** Initialises adapter `name` of `layer` from its base weight. */
  apply(_layer: LoraLinear, _name: string, init: string): void {
    throw new TypeError(`init "${init}" needs linalg.svd / linalg.qr, not available yet`);
  },
};
