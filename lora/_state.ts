/**
 * Per-model bookkeeping of `lora.wrap`, kept off the model so that module
 * discovery never sees it: each adapter's config (what `adapter_config.json`
 * says), the active adapters, and the parameters' trainability before the
 * first wrap.
 *
 * @module
 */

import type { Module } from "../nn/mod.ts";
import type { Tensor } from "../tensor/mod.ts";
import type { LoraTargets } from "./targets.ts";
import type { LoraInit } from "./adapter.ts";

/** One adapter's config, as given to `wrap` / `addAdapter` or read from a file. */
export interface _AdapterRecord {
  /** The targets of each wrap call for this adapter (for `target_modules`). */
  targets: LoraTargets[];
  /** `r` (the first wrap's rank). */
  rank: number;
  /** `lora_alpha` (the first wrap's alpha). */
  alpha: number;
  /** `rank_pattern` as given. */
  rankPattern: Record<string, number>;
  /** `alpha_pattern` as given. */
  alphaPattern: Record<string, number>;
  /** `lora_dropout`. */
  dropout: number;
  /** `use_rslora`. */
  rsLora: boolean;
  /** `use_dora`. */
  useDora: boolean;
  /** `init_lora_weights`. */
  init: LoraInit;
  /** `modules_to_save`. */
  modulesToSave: string[] | null;
  /** `exclude_modules` (a RegExp is written as its source). */
  excludeModules: string[] | RegExp | null;
  /** `layers_to_transform`. */
  layersToTransform: number | number[] | null;
  /** `layers_pattern`. */
  layersPattern: string | string[] | null;
  /** Other fields of a loaded `adapter_config.json`, written back as they were. */
  extra: Record<string, unknown>;
}

/** What a wrapped model remembers. */
export interface _WrapInfo {
  /** Each adapter's config, by name, in the order they were added. */
  adapters: Map<string, _AdapterRecord>;
  /** The active adapters, in order. */
  active: string[];
  /** Each parameter's `requiresGrad` before the first wrap. */
  flags: Map<Tensor, boolean>;
}

/** Wrapped model → its bookkeeping. */
export const _wrapInfo: WeakMap<Module, _WrapInfo> = new WeakMap();
