/**
 * Reading a checkpoint directory's tokenizer files, at call time only: a
 * local path or `file:` URL with Deno, an `http(s):` URL with `fetch` (so a
 * browser can load a tokenizer served over HTTP).
 *
 * @module
 */

import { describe } from "./_json.ts";

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
export async function readPretrainedFiles(dir: string | URL): Promise<PretrainedFiles> {
  if (typeof dir !== "string" && !(dir instanceof URL)) {
    throw new TypeError(
      `Tokenizer.fromPretrained(): dir must be a path or a URL, got ${describe(dir)}`,
    );
  }
  const [tokenizer, config, specialTokensMap] = await Promise.all([
    readJson(dir, "tokenizer.json", false),
    readJson(dir, "tokenizer_config.json", true),
    readJson(dir, "special_tokens_map.json", true),
  ]);
  return { tokenizer, config, specialTokensMap };
}

function isHttp(dir: string | URL): boolean {
  const s = String(dir);
  return s.startsWith("http://") || s.startsWith("https://");
}

/** `name` inside `dir`, as a URL or a path. */
function join(dir: string | URL, name: string): string | URL {
  if (dir instanceof URL || isHttp(dir) || String(dir).startsWith("file:")) {
    const base = String(dir).endsWith("/") ? String(dir) : String(dir) + "/";
    return new URL(name, base);
  }
  return dir.replace(/[\\/]+$/, "") + "/" + name;
}

async function readText(path: string | URL, optional: boolean): Promise<string | null> {
  if (path instanceof URL && (path.protocol === "http:" || path.protocol === "https:")) {
    const res = await fetch(path);
    if (res.ok) return await res.text();
    await res.body?.cancel();
    if (optional && res.status === 404) return null;
    throw new TypeError(`Tokenizer.fromPretrained(): GET ${path} returned ${res.status}`);
  }
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno === undefined) {
    throw new TypeError(
      `Tokenizer.fromPretrained(): reading ${path} needs Deno; in a browser pass an http(s) URL`,
    );
  }
  try {
    return await deno.readTextFile(path);
  } catch (e) {
    if (optional && e instanceof deno.errors.NotFound) return null;
    throw e;
  }
}

async function readJson(dir: string | URL, name: string, optional: boolean): Promise<unknown> {
  const path = join(dir, name);
  const text = await readText(path, optional);
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`${path}: ${(e as Error).message}`);
  }
}
