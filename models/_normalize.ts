/**
 * The `normalizer` of `tokenizer.json` as a string → string function. It runs
 * on each stretch of text between added tokens, as in the Hugging Face
 * library (so SentencePiece's `Prepend("▁")` starts every stretch).
 *
 * @module
 */

import { asArray, asObject, type JsonObject, optBool, str, typeTag, unsupported } from "./_json.ts";
import { compilePattern } from "./_regex.ts";

/** A normalizer: maps one stretch of text. */
export type Normalize = (text: string) => string;

const SUPPORTED = [
  "Sequence",
  "Prepend",
  "Append",
  "Replace",
  "NFC",
  "NFD",
  "NFKC",
  "NFKD",
  "Lowercase",
  "Strip",
] as const;

/** Builds the normalizer, or `null` for a null one. */
export function buildNormalizer(v: unknown, where = "tokenizer.json normalizer"): Normalize | null {
  if (v == null) return null;
  const o = asObject(v, where);
  const type = typeTag(o, where);
  switch (type) {
    case "Sequence": {
      const steps = asArray(o.normalizers, `${where}.normalizers`)
        .map((n, i) => buildNormalizer(n, `${where}.normalizers[${i}]`))
        .filter((n): n is Normalize => n !== null);
      return (text) => steps.reduce((t, step) => step(t), text);
    }
    case "Prepend": {
      const p = str(o, "prepend", where);
      return (text) => (text.length ? p + text : text);
    }
    case "Append": {
      const p = str(o, "append", where);
      return (text) => (text.length ? text + p : text);
    }
    case "Replace":
      return replacer(o, where);
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD":
      return (text) => text.normalize(type);
    case "Lowercase":
      return (text) => text.toLowerCase();
    case "Strip": {
      const left = optBool(o, "strip_left", where, true);
      const right = optBool(o, "strip_right", where, true);
      return (text) => stripWhitespace(text, left, right);
    }
    default:
      throw unsupported("normalizer", type, SUPPORTED);
  }
}

/** A Replace normalizer or decoder step: every match of `pattern` becomes `content`. */
export function replacer(o: JsonObject, where: string): Normalize {
  const re = compilePattern(o.pattern, `${where}.pattern`);
  const content = str(o, "content", where);
  return (text) => text.replace(re, () => content);
}

const LEADING_WS = /^\p{White_Space}+/u;
const TRAILING_WS = /\p{White_Space}+$/u;

function stripWhitespace(text: string, left: boolean, right: boolean): string {
  if (left) text = text.replace(LEADING_WS, "");
  if (right) text = text.replace(TRAILING_WS, "");
  return text;
}
