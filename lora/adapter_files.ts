/**
 * `lora.save` / `lora.load`: reads and writes a PEFT adapter directory
 * (`adapter_model.safetensors`, `adapter_config.json`) at a path under
 * Deno, or through a directory handle, a map of files or fetched URLs in a
 * browser (see `io/sources.ts` and `io/sinks.ts`). The layout logic lives
 * in `peft_format.ts`; only this file does I/O.
 *
 * @module
 */

import type { Module } from "../nn/mod.ts";
import { decodeSafetensors, encodeSafetensors } from "../io/safetensors.ts";
import { type DirSource, fileIn, openBytes } from "../io/sources.ts";
import { describeSink, type DirSink, writeFileTo } from "../io/sinks.ts";
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

/**
 * Writes the model's adapters as a PEFT adapter directory: F32 tensors
 * `base_model.model.<name>.lora_A.weight` [r, in] and `….lora_B.weight`
 * [out, r] with metadata `{"format":"pt"}`, and `adapter_config.json`.
 * The directory is created when missing.
 *
 * @param model A wrapped model.
 * @param dir The directory: a path under Deno; a writable directory handle
 *   or a `Map` that collects name → bytes in a browser.
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
export async function save(model: Module, dir: DirSink): Promise<void> {
  const { tensors, config } = await _adapterContents(model);
  const sorted = Object.fromEntries(Object.entries(config).sort(([a], [b]) => a < b ? -1 : 1));
  await writeFileTo(dir, ADAPTER_WEIGHTS, encodeSafetensors(tensors, { format: "pt" }));
  const text = JSON.stringify(sorted, null, 2) + "\n";
  await writeFileTo(dir, ADAPTER_CONFIG, new TextEncoder().encode(text));
}

/**
 * Loads a PEFT adapter directory (written by {@link save} or by PEFT) into
 * the model. A wrapped model must have exactly the file's layers; an
 * unwrapped one is wrapped at the file's layers first. Every key and shape
 * is checked before anything changes.
 *
 * @param model The model.
 * @param dir The directory: a path under Deno; a directory handle, a map
 *   of `File`s (e.g. from `<input type=file>`) or an `http(s):` URL in a
 *   browser.
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
export async function load(model: Module, dir: DirSource): Promise<void> {
  const where = (name: string) =>
    typeof dir === "string" || dir instanceof URL ? describeSink(dir, name) : name;
  const bytesOf = async (name: string): Promise<Uint8Array> => {
    const src = await fileIn(dir, name);
    if (src === null) throw new Error(`lora.load: ${where(name)} not found`);
    const b = await openBytes(src);
    try {
      return await b.read(0, b.size);
    } finally {
      b.close();
    }
  };
  let text: string;
  try {
    text = new TextDecoder().decode(await bytesOf(ADAPTER_CONFIG));
  } catch (e) {
    throw new Error(`lora.load: cannot read ${where(ADAPTER_CONFIG)}: ${(e as Error).message}`);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`lora.load: ${where(ADAPTER_CONFIG)} is not JSON: ${(e as Error).message}`);
  }
  const decoded = decodeSafetensors(await bytesOf(ADAPTER_WEIGHTS));
  _applyAdapter(model, decoded.tensors, config);
}
