/**
 * Patterns of `tokenizer.json` (`{String: …}` or `{Regex: …}`) as JavaScript
 * regular expressions, and the search that splits a string by them.
 *
 * The Hugging Face library compiles `Regex` patterns with Oniguruma. Its
 * syntax mostly coincides with JavaScript's `u` mode; the differences the
 * shipped patterns use are rewritten here:
 * - `(?i: … )` (scoped case folding, in Llama 3's and Qwen2's patterns)
 *   becomes explicit `[sS]` classes, because inline modifiers are too new for
 *   some browsers;
 * - `\s` / `\S` become `\p{White_Space}` / `\P{White_Space}`: Oniguruma's
 *   `\s` is the Unicode White_Space property, while JavaScript's also holds
 *   U+FEFF and lacks U+0085.
 * Anything JavaScript cannot compile is a TypeError naming the pattern.
 *
 * @module
 */

import { asObject, asString, describe } from "./_json.ts";

/** GPT-2's pre-tokenization pattern (ByteLevel with `use_regex`). */
export const GPT2_PATTERN =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** Escapes a literal for use inside a RegExp (either mode). */
export function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
}

/** Whether `c` is an ASCII letter. */
function isAsciiLetter(c: string): boolean {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z");
}

/**
 * Rewrites an Oniguruma pattern into JavaScript `u`-mode syntax (see the
 * module comment).
 */
export function onigToJs(src: string): string {
  let out = "";
  let inClass = false;
  const foldDepth: number[] = []; // paren depths at which a (?i: group opened
  let depth = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === "\\") {
      const n = src[i + 1] ?? "";
      if (n === "s") out += "\\p{White_Space}";
      else if (n === "S") out += "\\P{White_Space}";
      else if ((n === "p" || n === "P") && src[i + 2] === "{" && src.indexOf("}", i) > 0) {
        const close = src.indexOf("}", i);
        out += src.slice(i, close + 1); // \p{…}: the property name is not folded
        i = close;
        continue;
      } else out += c + n;
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      out += c;
      continue;
    }
    if (c === "[") {
      inClass = true;
      out += c;
      if (src[i + 1] === "]") out += src[++i]; // "[]…]" is not special in JS, keep it literal
      continue;
    }
    if (c === "(") {
      depth++;
      if (src.startsWith("(?i:", i)) {
        foldDepth.push(depth);
        out += "(?:";
        i += 3;
        continue;
      }
      out += c;
      continue;
    }
    if (c === ")") {
      if (foldDepth.length && foldDepth[foldDepth.length - 1] === depth) foldDepth.pop();
      depth--;
      out += c;
      continue;
    }
    if (foldDepth.length && isAsciiLetter(c)) {
      out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
      continue;
    }
    out += c;
  }
  return out;
}

/** Compiles an Oniguruma pattern to a global JavaScript RegExp, or a TypeError. */
export function compileOnig(src: string, where: string): RegExp {
  let flags = "gu";
  let body = src;
  if (body.startsWith("(?i)")) {
    flags += "i";
    body = body.slice(4);
  }
  try {
    return new RegExp(onigToJs(body), flags);
  } catch (e) {
    throw new TypeError(
      `${where}: unsupported regex ${describe(src)} (${(e as Error).message})`,
    );
  }
}

/** A `{String}` / `{Regex}` pattern object as a global RegExp. */
export function compilePattern(v: unknown, where: string): RegExp {
  const o = asObject(v, where);
  if (typeof o.String === "string") return new RegExp(escapeRegex(o.String), "gu");
  if ("Regex" in o) return compileOnig(asString(o.Regex, `${where}.Regex`), where);
  throw new TypeError(`${where} must be {"String": …} or {"Regex": …}, got ${describe(v)}`);
}

/**
 * The segments of `text` cut by the matches of `re` (global): a flat list of
 * `[start, end, isMatch]` triples covering the whole string, gaps included.
 * Empty matches are skipped (they never produce a piece).
 */
export function findMatches(text: string, re: RegExp): number[] {
  const out: number[] = [];
  let prev = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const start = m.index, end = start + m[0].length;
    if (end === start) {
      // Step over one code point so the search moves on.
      re.lastIndex = end + (text.codePointAt(end)! > 0xffff ? 2 : 1);
      continue;
    }
    if (start > prev) out.push(prev, start, 0);
    out.push(start, end, 1);
    prev = end;
  }
  if (prev < text.length) out.push(prev, text.length, 0);
  return out;
}
