/**
 * `lora.save` / `lora.load`: reads and writes PEFT adapter directories
 * (`adapter_model.safetensors`, `adapter_config.json`, one directory per
 * adapter as PEFT's `save_pretrained`) at a path under Deno, or through a
 * directory handle, a map of files or fetched URLs in a browser (see
 * `io/sources.ts` and `io/sinks.ts`). The layout logic lives in
 * `peft_format.ts` and `load_adapter.ts`; only this file does I/O.
 *
 * @module
 */

import type { Module } from "../nn/mod.ts";
import { decodeSafetensors, encodeSafetensors } from "../io/safetensors.ts";
import { type DirSource, fileIn, openBytes } from "../io/sources.ts";
import { describeSink, type DirSink, writeFileTo } from "../io/sinks.ts";
import { _adapterContents } from "./peft_format.ts";
import { _applyAdapter } from "./load_adapter.ts";
import { _checkAdapterName, DEFAULT_ADAPTER } from "./lora_layer.ts";
import { _checkModel } from "./_parts.ts";
import { _knownAdapters } from "./merge.ts";
import { _wrapInfo } from "./_state.ts";

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
 * Options of {@link save}.
 *
 * @example
 * ```ts
 * import { lora } from "../mod.ts";
 * const opts: lora.SaveOptions = { adapters: ["default"] };
 * ```
 */
export interface SaveOptions {
  /** The adapters to write (default: all of them). */
  adapters?: readonly string[];
  /**
   * Write adapters that a `"pissa"` / `"olora"` init made as plain LoRA for
   * the original (unmodified) base, as PEFT's
   * `path_initial_model_for_weight_conversion`: A' = [A; A₀], B' = [B, −B₀],
   * twice the rank, `init_lora_weights: true`. Default false.
   */
  convertToLora?: boolean;
}

/**
 * Options of {@link load}.
 *
 * @example
 * ```ts
 * import { lora } from "../mod.ts";
 * const opts: lora.LoadOptions = { adapterName: "task2" };
 * ```
 */
export interface LoadOptions {
  /** The name the adapter gets in the model (default `"default"`). */
  adapterName?: string;
}

/** Writes one adapter's two files under `prefix` ("" or "<name>/") in `dir`. */
async function _writeOne(
  model: Module,
  name: string,
  dir: DirSink,
  prefix: string,
  convert: boolean,
): Promise<void> {
  const { tensors, config } = await _adapterContents(model, name, convert);
  await writeFileTo(dir, prefix + ADAPTER_WEIGHTS, encodeSafetensors(tensors, { format: "pt" }));
  const text = JSON.stringify(config, null, 2) + "\n";
  await writeFileTo(dir, prefix + ADAPTER_CONFIG, new TextEncoder().encode(text));
}

/**
 * Writes the model's adapters as PEFT's `save_pretrained` does: the
 * `"default"` adapter in `dir`, every other one in `dir/<name>/`, each an
 * adapter directory with F32 tensors (`base_model.model.<name>.lora_A.weight`
 * [r, in], `….lora_B.weight` [out, r], DoRA's `….lora_magnitude_vector`
 * [out], an embedding's `….lora_embedding_A` / `_B`, modules-to-save copies
 * under the module's own names) with metadata `{"format":"pt"}`, and
 * `adapter_config.json`. Directories are created when missing.
 *
 * @param model A wrapped model.
 * @param dir The directory: a path under Deno; a writable directory handle
 *   or a `Map` that collects name → bytes (`<name>/…` for other adapters)
 *   in a browser.
 * @param opts `{ adapters? }`: which adapters (default: all).
 * @returns A promise that resolves once every file is written.
 * @throws {Error} When the model has no LoRA layers, an adapter is unknown (or a file error).
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const seq = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * const dir = await Deno.makeTempDir();
 * await lora.save(seq, dir);
 * ```
 */
export async function save(
  model: Module,
  dir: DirSink,
  opts: SaveOptions = {},
): Promise<void> {
  _checkModel("lora.save", model);
  const names = opts.adapters === undefined
    ? [..._wrapInfo.get(model)?.adapters.keys() ?? []]
    : _knownAdapters("lora.save", model, opts.adapters);
  if (names.length === 0) throw new Error("lora.save: the model has no LoRA layers");
  for (const name of names) {
    const prefix = name === DEFAULT_ADAPTER ? "" : `${name}/`;
    await _writeOne(model, name, dir, prefix, opts.convertToLora === true);
  }
}

/**
 * Loads a PEFT adapter directory (written by {@link save} or by PEFT) into
 * the model as adapter `adapterName`. `dir` is the adapter's own directory,
 * or the directory `save` wrote several adapters into: then a non-default
 * adapter is read from `dir/<adapterName>/`.
 *
 * When the model has an adapter of that name, the file must have exactly
 * its layers and the values are replaced. Otherwise the adapter is added on
 * the layers `adapter_config.json` selects (`target_modules`,
 * `exclude_modules`, `layers_to_transform`, `modules_to_save`, …), wrapping
 * the model first when it is not wrapped (as `PeftModel.from_pretrained`);
 * a model's first adapter is active, a later one is not (see `setAdapter`).
 * Every key, shape and config field is checked before anything changes.
 *
 * @param model The model.
 * @param dir The directory: a path under Deno; a directory handle, a map
 *   of `File`s (e.g. from `<input type=file>`) or an `http(s):` URL in a
 *   browser.
 * @param opts `{ adapterName? }` (default `"default"`).
 * @returns A promise that resolves once the adapter is in place.
 * @throws {Error} For a missing file, or an unknown or missing key (named).
 * @throws {RangeError} For a shape that does not fit (key and both shapes named).
 * @throws {TypeError} For a malformed or unsupported config (the field named).
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
export async function load(
  model: Module,
  dir: DirSource,
  opts: LoadOptions = {},
): Promise<void> {
  _checkModel("lora.load", model);
  const name = opts.adapterName ?? DEFAULT_ADAPTER;
  _checkAdapterName("lora.load", name);
  // A non-default adapter saved beside others sits in dir/<name>/.
  let prefix = "";
  if (name !== DEFAULT_ADAPTER && await fileIn(dir, `${name}/${ADAPTER_CONFIG}`) !== null) {
    prefix = `${name}/`;
  }
  const where = (file: string) =>
    typeof dir === "string" || dir instanceof URL ? describeSink(dir, file) : file;
  const bytesOf = async (file: string): Promise<Uint8Array> => {
    const src = await fileIn(dir, file);
    if (src === null) throw new Error(`lora.load: ${where(file)} not found`);
    const b = await openBytes(src);
    try {
      return await b.read(0, b.size);
    } finally {
      b.close();
    }
  };
  const configFile = prefix + ADAPTER_CONFIG;
  let text: string;
  try {
    text = new TextDecoder().decode(await bytesOf(configFile));
  } catch (e) {
    throw new Error(`lora.load: cannot read ${where(configFile)}: ${(e as Error).message}`);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`lora.load: ${where(configFile)} is not JSON: ${(e as Error).message}`);
  }
  const decoded = decodeSafetensors(await bytesOf(prefix + ADAPTER_WEIGHTS));
  await _applyAdapter(model, decoded.tensors, config, name);
}
