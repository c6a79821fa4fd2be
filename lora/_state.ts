/**
 * Per-model bookkeeping of `lora.wrap`, kept off the model so that module
 * discovery never sees it.
 *
 * @module
 */

import type { Module } from "../nn/mod.ts";
import type { Tensor } from "../tensor/mod.ts";
import type { LoraTargets } from "./targets.ts";
import type { LoraInit } from "./lora_linear.ts";

/** What a wrapped model remembers. */
export interface _WrapInfo {
  /** The `targets` of the wrap calls, for `adapter_config.json`. */
  targets: LoraTargets[];
  /** Each parameter's `requiresGrad` before the first wrap. */
  flags: Map<Tensor, boolean>;
  /** The init of the last wrap. */
  init: LoraInit;
}

/** Wrapped model → its bookkeeping. */
export const _wrapInfo: WeakMap<Module, _WrapInfo> = new WeakMap();
