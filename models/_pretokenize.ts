/**
 * The `pre_tokenizer` of `tokenizer.json`: cuts a stretch of normalized text
 * into the pieces the model sees one at a time. Each step maps the current
 * pieces to new ones, as the Hugging Face library's `PreTokenizedString`
 * does; empty pieces are dropped.
 *
 * `atStart` tells whether the first piece begins the whole input (Metaspace's
 * `prepend_scheme: "first"` prepends `▁` only there).
 *
 * @module
 */

import {
  asArray,
  asObject,
  describe,
  type JsonObject,
  optBool,
  optStr,
  str,
  typeTag,
  unsupported,
} from "./_json.ts";
import { compileOnig, compilePattern, findMatches, GPT2_PATTERN } from "./_regex.ts";
import { toByteLevel } from "./_byte_level.ts";

/** A pre-tokenizer step. */
export type PreTokenize = (pieces: string[], atStart: boolean) => string[];

/** How a Split keeps the pieces its pattern matches. */
type Behavior = "Removed" | "Isolated" | "MergedWithPrevious" | "MergedWithNext" | "Contiguous";
const BEHAVIORS: readonly Behavior[] = [
  "Removed",
  "Isolated",
  "MergedWithPrevious",
  "MergedWithNext",
  "Contiguous",
];

const SUPPORTED = [
  "Sequence",
  "ByteLevel",
  "Split",
  "Metaspace",
  "Digits",
  "Whitespace",
  "WhitespaceSplit",
  "Punctuation",
] as const;

const GPT2_RE = compileOnig(GPT2_PATTERN, "ByteLevel");
// Rust's Unicode \w, for the Whitespace pre-tokenizer.
const W = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}";
const WHITESPACE_RE = new RegExp(`[${W}]+|[^${W}\\p{White_Space}]+`, "gu");
const NON_SPACE_RE = /\P{White_Space}+/gu;
const DIGIT_RE = /\p{N}/gu;
const DIGITS_RE = /\p{N}+/gu;
// The Hugging Face library's is_punctuation: ASCII punctuation or Unicode P*.
const PUNCT_RE = /[\p{P}!-/:-@[-`{-~]/gu;

/** Builds the pre-tokenizer, or `null` for a null one. */
export function buildPreTokenizer(
  v: unknown,
  where = "tokenizer.json pre_tokenizer",
): PreTokenize | null {
  if (v == null) return null;
  const o = asObject(v, where);
  const type = typeTag(o, where);
  switch (type) {
    case "Sequence": {
      const steps = asArray(o.pretokenizers, `${where}.pretokenizers`)
        .map((p, i) => buildPreTokenizer(p, `${where}.pretokenizers[${i}]`)!);
      return (pieces, atStart) => steps.reduce((ps, step) => step(ps, atStart), pieces);
    }
    case "ByteLevel":
      return byteLevel(o, where);
    case "Split": {
      const re = compilePattern(o.pattern, `${where}.pattern`);
      const behavior = readBehavior(o, where);
      const invert = optBool(o, "invert", where, false);
      return (pieces) => flatMap(pieces, (p) => splitBy(p, re, behavior, invert));
    }
    case "Metaspace":
      return metaspace(o, where);
    case "Digits": {
      const re = optBool(o, "individual_digits", where, false) ? DIGIT_RE : DIGITS_RE;
      return (pieces) => flatMap(pieces, (p) => splitBy(p, re, "Isolated", false));
    }
    case "Whitespace":
      return (pieces) => flatMap(pieces, (p) => splitBy(p, WHITESPACE_RE, "Removed", true));
    case "WhitespaceSplit":
      return (pieces) => flatMap(pieces, (p) => splitBy(p, NON_SPACE_RE, "Removed", true));
    case "Punctuation": {
      const behavior = readBehavior(o, where, "Isolated");
      return (pieces) => flatMap(pieces, (p) => splitBy(p, PUNCT_RE, behavior, false));
    }
    default:
      throw unsupported("pre_tokenizer", type, SUPPORTED);
  }
}

function readBehavior(o: JsonObject, where: string, dflt?: Behavior): Behavior {
  const b = o.behavior ?? dflt;
  if (!BEHAVIORS.includes(b as Behavior)) {
    throw new TypeError(
      `${where}.behavior must be one of ${BEHAVIORS.join(", ")}, got ${describe(b)}`,
    );
  }
  return b as Behavior;
}

function flatMap(pieces: string[], f: (p: string) => string[]): string[] {
  if (pieces.length === 1) return f(pieces[0]);
  const out: string[] = [];
  for (const p of pieces) for (const q of f(p)) out.push(q);
  return out;
}

/** ByteLevel: optional prefix space, GPT-2's split, then the byte alphabet. */
function byteLevel(o: JsonObject, where: string): PreTokenize {
  const addPrefixSpace = optBool(o, "add_prefix_space", where, true);
  const useRegex = optBool(o, "use_regex", where, true);
  return (pieces) => {
    const out: string[] = [];
    for (let p of pieces) {
      if (addPrefixSpace && !p.startsWith(" ")) p = " " + p;
      if (!useRegex) {
        if (p.length) out.push(toByteLevel(p));
        continue;
      }
      GPT2_RE.lastIndex = 0;
      let prev = 0;
      for (let m = GPT2_RE.exec(p); m !== null; m = GPT2_RE.exec(p)) {
        // GPT-2's pattern never matches empty; every gap would be kept (Isolated).
        if (m.index > prev) out.push(toByteLevel(p.slice(prev, m.index)));
        out.push(toByteLevel(m[0]));
        prev = m.index + m[0].length;
      }
      if (prev < p.length) out.push(toByteLevel(p.slice(prev)));
    }
    return out;
  };
}

/** Metaspace: spaces become the replacement, which may be prepended and split on. */
function metaspace(o: JsonObject, where: string): PreTokenize {
  const rep = str(o, "replacement", where);
  const scheme = prependScheme(o, where);
  const split = optBool(o, "split", where, true);
  return (pieces, atStart) => {
    const out: string[] = [];
    pieces.forEach((p, i) => {
      p = p.replaceAll(" ", rep);
      const prepend = scheme === "always" || (scheme === "first" && atStart && i === 0);
      if (prepend && !p.startsWith(rep)) p = rep + p;
      if (!split) {
        if (p.length) out.push(p);
        return;
      }
      // Split before every replacement (MergedWithNext).
      let start = 0;
      for (let j = p.indexOf(rep, 1); j > 0; j = p.indexOf(rep, j + rep.length)) {
        out.push(p.slice(start, j));
        start = j;
      }
      if (start < p.length) out.push(p.slice(start));
    });
    return out;
  };
}

/** Metaspace's prepend scheme, from `prepend_scheme` or the older `add_prefix_space`. */
export function prependScheme(o: JsonObject, where: string): "always" | "first" | "never" {
  const s = optStr(o, "prepend_scheme", where);
  if (s === null) return optBool(o, "add_prefix_space", where, true) ? "always" : "never";
  if (s !== "always" && s !== "first" && s !== "never") {
    throw new TypeError(
      `${where}.prepend_scheme must be "always", "first" or "never", got ${describe(s)}`,
    );
  }
  return s;
}

/** Splits `text` by the matches of `re` (flags flipped when `invert`), keeping per `behavior`. */
export function splitBy(text: string, re: RegExp, behavior: Behavior, invert: boolean): string[] {
  const segs = findMatches(text, re);
  const flip = invert ? 1 : 0;
  // Each kept piece as [start, end] pairs in `spans`.
  const spans: number[] = [];
  let prevMatch = false;
  const count = segs.length / 3;
  const reverse = behavior === "MergedWithNext";
  for (let k = 0; k < count; k++) {
    const s = 3 * (reverse ? count - 1 - k : k);
    const start = segs[s], end = segs[s + 1], isMatch = (segs[s + 2] ^ flip) === 1;
    const n = spans.length;
    let extend = false;
    if (behavior === "Removed" && isMatch) continue;
    if (behavior === "Contiguous") extend = n > 0 && isMatch === prevMatch;
    else if (behavior === "MergedWithPrevious" || reverse) extend = n > 0 && isMatch && !prevMatch;
    if (extend && reverse) spans[n - 2] = start;
    else if (extend) spans[n - 1] = end;
    else spans.push(start, end);
    prevMatch = isMatch;
  }
  const out: string[] = [];
  for (let k = 0; k < spans.length; k += 2) {
    const i = reverse ? spans.length - 2 - k : k;
    if (spans[i + 1] > spans[i]) out.push(text.slice(spans[i], spans[i + 1]));
  }
  return out;
}
