/**
 * The `decoder` of `tokenizer.json`: turns the list of token strings back
 * into text. As in the Hugging Face library, each step maps a list of strings
 * to a list of strings (so `Strip` and `Metaspace` act per token until `Fuse`
 * joins them), and the results are finally joined.
 *
 * @module
 */

import {
  asArray,
  asIndex,
  asObject,
  type JsonObject,
  optStr,
  str,
  typeTag,
  unsupported,
} from "./_json.ts";
import { replacer } from "./_normalize.ts";
import { prependScheme } from "./_pretokenize.ts";
import { pushTokenBytes } from "./_byte_level.ts";

/** A decoder step. */
export type Decode = (tokens: string[]) => string[];

const SUPPORTED = [
  "Sequence",
  "ByteLevel",
  "Metaspace",
  "Replace",
  "ByteFallback",
  "Fuse",
  "Strip",
  "BPEDecoder",
] as const;

const UTF8 = new TextDecoder("utf-8");
const UTF8_STRICT = new TextDecoder("utf-8", { fatal: true });

/** Builds the decoder, or `null` for a null one (tokens are then joined by spaces). */
export function buildDecoder(v: unknown, where = "tokenizer.json decoder"): Decode | null {
  if (v == null) return null;
  const o = asObject(v, where);
  const type = typeTag(o, where);
  switch (type) {
    case "Sequence": {
      const steps = asArray(o.decoders, `${where}.decoders`)
        .map((d, i) => buildDecoder(d, `${where}.decoders[${i}]`)!);
      return (tokens) => steps.reduce((ts, step) => step(ts), tokens);
    }
    case "ByteLevel":
      return byteLevel;
    case "Metaspace": {
      const rep = str(o, "replacement", where);
      const dropFirst = prependScheme(o, where) !== "never";
      // Token 0 loses every replacement when a prefix was added; others get spaces.
      return (tokens) => tokens.map((t, i) => t.replaceAll(rep, i === 0 && dropFirst ? "" : " "));
    }
    case "Replace": {
      const replace = replacer(o, where);
      return (tokens) => tokens.map(replace);
    }
    case "ByteFallback":
      return byteFallback;
    case "Fuse":
      return (tokens) => [tokens.join("")];
    case "Strip":
      return strip(o, where);
    case "BPEDecoder": {
      const suffix = optStr(o, "suffix", where) ?? "</w>";
      return (tokens) =>
        tokens.map((t, i) => t.replaceAll(suffix, i === tokens.length - 1 ? "" : " "));
    }
    default:
      throw unsupported("decoder", type, SUPPORTED);
  }
}

/** ByteLevel: all tokens' bytes, decoded as one UTF-8 string (invalid bytes → U+FFFD). */
function byteLevel(tokens: string[]): string[] {
  const bytes: number[] = [];
  for (const t of tokens) pushTokenBytes(t, bytes);
  return [UTF8.decode(new Uint8Array(bytes))];
}

const BYTE_TOKEN = /^<0x[0-9A-Fa-f]{2}>$/;

/** ByteFallback: runs of `<0xNN>` tokens become their UTF-8 text, or one U+FFFD per byte. */
function byteFallback(tokens: string[]): string[] {
  const out: string[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length === 0) return;
    try {
      out.push(UTF8_STRICT.decode(new Uint8Array(run)));
    } catch {
      for (let i = 0; i < run.length; i++) out.push("\ufffd");
    }
    run = [];
  };
  for (const t of tokens) {
    if (t.length === 6 && BYTE_TOKEN.test(t)) {
      run.push(parseInt(t.slice(3, 5), 16));
      continue;
    }
    flush();
    out.push(t);
  }
  flush();
  return out;
}

/** Strip: up to `start` leading and `stop` trailing `content` characters off each token. */
function strip(o: JsonObject, where: string): Decode {
  const content = str(o, "content", where);
  const start = asIndex(o.start ?? 0, `${where}.start`);
  const stop = asIndex(o.stop ?? 0, `${where}.stop`);
  return (tokens) =>
    tokens.map((t) => {
      const chars = [...t];
      let a = 0, b = chars.length;
      while (a < start && a < b && chars[a] === content) a++;
      while (chars.length - b < stop && b > a && chars[b - 1] === content) b--;
      return chars.slice(a, b).join("");
    });
}

/**
 * transformers' `clean_up_tokenization`: drops the space before punctuation
 * and English contractions. Applied only when `tokenizer_config.json` sets
 * `clean_up_tokenization_spaces: true`.
 */
export function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
