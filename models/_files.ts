/**
 * Reading a checkpoint directory's tokenizer files at call time, through
 * the library's file sources (`io/sources.ts`): a path under Deno, an
 * `http(s):` URL, a directory handle or a map of files in a browser.
 *
 * @module
 */

import { type DirSource, fileIn, readText } from "../io/mod.ts";

/** The parsed files (`null` for an optional one that is absent). */
export interface PretrainedFiles {
  /** `tokenizer.json`. */
  tokenizer: unknown;
  /** `tokenizer_config.json`, or null. */
  config: unknown;
  /** `special_tokens_map.json`, or null. */
  specialTokensMap: unknown;
}

/** Reads `tokenizer.json` (required) and the two optional files from `dir`. */
export async function readPretrainedFiles(dir: DirSource): Promise<PretrainedFiles> {
  const [tokenizer, config, specialTokensMap] = await Promise.all([
    readJson(dir, "tokenizer.json", false),
    readJson(dir, "tokenizer_config.json", true),
    readJson(dir, "special_tokens_map.json", true),
  ]);
  return { tokenizer, config, specialTokensMap };
}

async function readJson(dir: DirSource, name: string, optional: boolean): Promise<unknown> {
  const file = await fileIn(dir, name);
  if (!file) {
    if (optional) return null;
    throw new Error(`Tokenizer.fromPretrained(): ${name} not found in ${String(dir)}`);
  }
  const text = await readText(file);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`${name}: ${(e as Error).message}`);
  }
}
