/**
 * The `pre_tokenizer` of `tokenizer.json`: cuts a stretch of normalized text
 * into the pieces the model sees one at a time. Each step cuts every piece of
 * the step before, as the Hugging Face library's `PreTokenizedString` does;
 * empty pieces are dropped.
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

/** Receives one piece. */
export type Emit = (piece: string) => void;

/**
 * A pre-tokenizer step: cuts `text` and passes each non-empty piece to
 * `emit`, in order (streaming, so a long input never becomes one big array
 * of pieces).
 */
export type PreTokenize = (text: string, atStart: boolean, emit: Emit) => void;

/** A built pre-tokenizer. */
export interface PreTokenizer {
  /** Runs it on one stretch of normalized text. */
  run: PreTokenize;
  /**
   * Whether its last step is a ByteLevel whose byte mapping was left to the
   * caller: the pieces come out as raw text, so the model can cache words by
   * their raw text and map only the ones it has not seen.
   */
  byteLevelDeferred: boolean;
}

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
export function buildPreTokenizer(v: unknown): PreTokenizer | null {
  return v == null ? null : build(v, "tokenizer.json pre_tokenizer", true);
}

/** `last`: this step ends the whole pre-tokenizer (a ByteLevel there may defer its mapping). */
function build(v: unknown, where: string, last: boolean): PreTokenizer {
  const o = asObject(v, where);
  const type = typeTag(o, where);
  const plain = (run: PreTokenize): PreTokenizer => ({ run, byteLevelDeferred: false });
  switch (type) {
    case "Sequence":
      return sequence(asArray(o.pretokenizers, `${where}.pretokenizers`), where, last);
    case "ByteLevel":
      return { run: byteLevel(o, where, last), byteLevelDeferred: last };
    case "Split": {
      const re = compilePattern(o.pattern, `${where}.pattern`);
      const behavior = readBehavior(o, where);
      const invert = optBool(o, "invert", where, false);
      return plain((text, _, emit) => splitBy(text, re, behavior, invert, emit));
    }
    case "Metaspace":
      return plain(metaspace(o, where));
    case "Digits": {
      const re = optBool(o, "individual_digits", where, false) ? DIGIT_RE : DIGITS_RE;
      return plain((text, _, emit) => splitBy(text, re, "Isolated", false, emit));
    }
    case "Whitespace":
      return plain((text, _, emit) => splitBy(text, WHITESPACE_RE, "Removed", true, emit));
    case "WhitespaceSplit":
      return plain((text, _, emit) => splitBy(text, NON_SPACE_RE, "Removed", true, emit));
    case "Punctuation": {
      const behavior = readBehavior(o, where, "Isolated");
      return plain((text, _, emit) => splitBy(text, PUNCT_RE, behavior, false, emit));
    }
    default:
      throw unsupported("pre_tokenizer", type, SUPPORTED);
  }
}

/** A Sequence: each step's pieces go through the next; only the first piece keeps `atStart`. */
function sequence(list: unknown[], where: string, last: boolean): PreTokenizer {
  const steps = list.map((p, i) =>
    build(p, `${where}.pretokenizers[${i}]`, last && i === list.length - 1)
  );
  if (steps.length === 0) return { run: (text, _, emit) => emit(text), byteLevelDeferred: false };
  const run = steps.map((s) => s.run).reduceRight((next, step) => (text, atStart, emit) => {
    let first = atStart;
    step(text, atStart, (piece) => {
      next(piece, first, emit);
      first = false;
    });
  });
  return { run, byteLevelDeferred: steps[steps.length - 1].byteLevelDeferred };
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

/**
 * ByteLevel: optional prefix space, GPT-2's split, then the byte alphabet
 * (left to the caller when `defer`).
 */
function byteLevel(o: JsonObject, where: string, defer: boolean): PreTokenize {
  const addPrefixSpace = optBool(o, "add_prefix_space", where, true);
  const useRegex = optBool(o, "use_regex", where, true);
  const map = defer ? (s: string) => s : toByteLevel;
  return (text, _, emit) => {
    if (addPrefixSpace && !text.startsWith(" ")) text = " " + text;
    if (!useRegex) {
      if (text.length) emit(map(text));
      return;
    }
    GPT2_RE.lastIndex = 0;
    let prev = 0;
    for (let m = GPT2_RE.exec(text); m !== null; m = GPT2_RE.exec(text)) {
      // GPT-2's pattern never matches empty; every gap would be kept (Isolated).
      if (m.index > prev) emit(map(text.slice(prev, m.index)));
      emit(map(m[0]));
      prev = m.index + m[0].length;
    }
    if (prev < text.length) emit(map(text.slice(prev)));
  };
}

/** Metaspace: spaces become the replacement, which may be prepended and split on. */
function metaspace(o: JsonObject, where: string): PreTokenize {
  const rep = str(o, "replacement", where);
  const scheme = prependScheme(o, where);
  const split = optBool(o, "split", where, true);
  return (text, atStart, emit) => {
    let p = text.replaceAll(" ", rep);
    const prepend = scheme === "always" || (scheme === "first" && atStart);
    if (prepend && !p.startsWith(rep)) p = rep + p;
    if (!split) {
      if (p.length) emit(p);
      return;
    }
    // Split before every replacement (MergedWithNext).
    let start = 0;
    for (let j = p.indexOf(rep, 1); j > 0; j = p.indexOf(rep, j + rep.length)) {
      emit(p.slice(start, j));
      start = j;
    }
    if (start < p.length) emit(p.slice(start));
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

/**
 * Splits `text` by the matches of `re` (flags flipped when `invert`),
 * keeping pieces per `behavior`, and emits the non-empty ones.
 */
export function splitBy(
  text: string,
  re: RegExp,
  behavior: Behavior,
  invert: boolean,
  emit: Emit,
): void {
  if (behavior === "Isolated") {
    // Every match and every gap is a piece: stream them (Llama 3's and Qwen2's main split).
    re.lastIndex = 0;
    let prev = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m[0].length === 0) {
        re.lastIndex = m.index + (text.codePointAt(m.index)! > 0xffff ? 2 : 1);
        continue;
      }
      if (m.index > prev) emit(text.slice(prev, m.index));
      emit(m[0]);
      prev = m.index + m[0].length;
    }
    if (prev < text.length) emit(text.slice(prev));
    return;
  }
  const segs = findMatches(text, re);
  const flip = invert ? 1 : 0;
  const spans: number[] = []; // kept pieces as [start, end] pairs
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
  for (let k = 0; k < spans.length; k += 2) {
    const i = reverse ? spans.length - 2 - k : k;
    if (spans[i + 1] > spans[i]) emit(text.slice(spans[i], spans[i + 1]));
  }
}
