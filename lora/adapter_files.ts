/**
 * The Deno adapter of `lora.save` / `lora.load`: reads and writes a PEFT
 * adapter directory (`adapter_model.safetensors`, `adapter_config.json`).
 * The layout logic lives in `peft_format.ts`; only this file touches disk.
 *
 * @module
 */

import type { Module } from "../nn/mod.ts";
import { readSafetensorsFile, writeSafetensorsFile } from "../io/files.ts";
import { _adapterContents, _applyAdapter } from "./peft_format.ts";

/**
 * The weights file's name inside an adapter directory.
 *
 * @example
 * ```ts
 * import { lora } from "../mod.ts";
 * console.log(lora.ADAPTER_WEIGHTS); // "adapter_model.safetensors"
 * ```
 */
export const ADAPTER_WEIGHTS = "adapter_model.safetensors";
/**
 * The config file's name inside an adapter directory.
 *
 * @example
 * ```ts
 * import { lora } from "../mod.ts";
 * console.log(lora.ADAPTER_CONFIG); // "adapter_config.json"
 * ```
 */
export const ADAPTER_CONFIG = "adapter_config.json";

function _join(dir: string | URL, file: string): string | URL {
  if (dir instanceof URL) return new URL(file, dir.href.endsWith("/") ? dir : `${dir.href}/`);
  return dir.endsWith("/") ? `${dir}${file}` : `${dir}/${file}`;
}

/**
 * Writes the model's adapters as a PEFT adapter directory: F32 tensors
 * `base_model.model.<name>.lora_A.weight` [r, in] and `….lora_B.weight`
 * [out, r] with metadata `{"format":"pt"}`, and `adapter_config.json`.
 * The directory is created when missing.
 *
 * @param model A wrapped model.
 * @param dir The directory.
 * @returns A promise that resolves once both files are written.
 * @throws {Error} When the model has no LoRA layers (or a file error).
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const seq = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * const dir = await Deno.makeTempDir();
 * await lora.save(seq, dir);
 * ```
 */
export async function save(model: Module, dir: string | URL): Promise<void> {
  const { tensors, config } = await _adapterContents(model);
  await Deno.mkdir(dir, { recursive: true });
  await writeSafetensorsFile(_join(dir, ADAPTER_WEIGHTS), tensors, { format: "pt" });
  const sorted = Object.fromEntries(Object.entries(config).sort(([a], [b]) => a < b ? -1 : 1));
  await Deno.writeTextFile(_join(dir, ADAPTER_CONFIG), JSON.stringify(sorted, null, 2) + "\n");
}

/**
 * Loads a PEFT adapter directory (written by {@link save} or by PEFT) into
 * the model. A wrapped model must have exactly the file's layers; an
 * unwrapped one is wrapped at the file's layers first. Every key and shape
 * is checked before anything changes.
 *
 * @param model The model.
 * @param dir The directory.
 * @returns A promise that resolves once the adapter is in place.
 * @throws {Error} For a missing file, or an unknown or missing key (named).
 * @throws {RangeError} For a shape that does not fit (key and both shapes named).
 * @throws {TypeError} For a malformed or unsupported config.
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const seq = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * const dir = await Deno.makeTempDir();
 * await lora.save(seq, dir);
 * const fresh = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * await lora.load(fresh, dir);
 * ```
 */
export async function load(model: Module, dir: string | URL): Promise<void> {
  const configPath = _join(dir, ADAPTER_CONFIG);
  const weightsPath = _join(dir, ADAPTER_WEIGHTS);
  let text: string;
  try {
    text = await Deno.readTextFile(configPath);
  } catch (e) {
    throw new Error(`lora.load: cannot read ${configPath}: ${(e as Error).message}`);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`lora.load: ${configPath} is not JSON: ${(e as Error).message}`);
  }
  let decoded;
  try {
    decoded = await readSafetensorsFile(weightsPath);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`lora.load: ${weightsPath} not found`);
    throw e;
  }
  _applyAdapter(model, decoded.tensors, config);
}
