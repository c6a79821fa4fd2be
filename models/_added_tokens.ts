/**
 * `added_tokens` of `tokenizer.json`: tokens matched in the text before
 * anything else, leftmost first and longest among those starting at the same
 * place (the Hugging Face library's Aho-Corasick search). `single_word`
 * rejects a match glued to a word character, `lstrip` / `rstrip` take the
 * whitespace beside the match into it; a rejected match is skipped over.
 *
 * @module
 */

import { asArray, asIndex, asObject, optBool, str } from "./_json.ts";
import { escapeRegex } from "./_regex.ts";

/** One entry of `added_tokens`. */
export interface AddedToken {
  /** Its id. */
  id: number;
  /** Its text. */
  content: string;
  /** Whether it is special (skipped by `decode(…, { skipSpecialTokens: true })`). */
  special: boolean;
  /** Matched only as a whole word. */
  singleWord: boolean;
  /** Takes the whitespace on its left. */
  lstrip: boolean;
  /** Takes the whitespace on its right. */
  rstrip: boolean;
  /** Matched against the normalized text (its content normalized too). */
  normalized: boolean;
}

/** Reads `added_tokens`. */
export function readAddedTokens(v: unknown): AddedToken[] {
  const where = "tokenizer.json added_tokens";
  return asArray(v ?? [], where).map((t, i) => {
    const w = `${where}[${i}]`;
    const o = asObject(t, w);
    const special = optBool(o, "special", w, false);
    return {
      id: asIndex(o.id, `${w}.id`),
      content: str(o, "content", w),
      special,
      singleWord: optBool(o, "single_word", w, false),
      lstrip: optBool(o, "lstrip", w, false),
      rstrip: optBool(o, "rstrip", w, false),
      normalized: optBool(o, "normalized", w, !special),
    };
  });
}

/** A piece of text: either plain text or an added token's id. */
export type Section = { text: string; id: number | null };

// Rust's Unicode \w and \s, tested on the characters beside a match.
const WORD_CHAR = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u;
const SPACE_CHAR = /^\p{White_Space}$/u;

/** Whether the code point ending just before `i` is a word character. */
function wordBefore(text: string, i: number): boolean {
  if (i === 0) return false;
  const lo = text.charCodeAt(i - 1);
  const n = lo >= 0xdc00 && lo <= 0xdfff && i >= 2 ? 2 : 1;
  return WORD_CHAR.test(text.slice(i - n, i));
}

/** Whether the code point starting at `i` is a word character. */
function wordAfter(text: string, i: number): boolean {
  if (i >= text.length) return false;
  return WORD_CHAR.test(String.fromCodePoint(text.codePointAt(i)!));
}

/** Whitespace is all in the BMP, so code units can be tested one at a time. */
function isSpace(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c === 32 || (c >= 9 && c <= 13) || (c > 127 && SPACE_CHAR.test(text[i]));
}

/** Finds a set of added tokens in text. */
export class AddedTokenMatcher {
  #byFirst = new Map<string, AddedToken[]>();
  #firstChars: RegExp | null;

  /** `tokens` with the content each is matched by. */
  constructor(tokens: { token: AddedToken; pattern: string }[]) {
    for (const { token, pattern } of tokens) {
      if (pattern.length === 0) continue;
      const list = this.#byFirst.get(pattern[0]) ?? [];
      list.push({ ...token, content: pattern });
      this.#byFirst.set(pattern[0], list);
    }
    for (const list of this.#byFirst.values()) {
      list.sort((a, b) => b.content.length - a.content.length);
    }
    const firsts = [...this.#byFirst.keys()];
    this.#firstChars = firsts.length ? new RegExp(firsts.map(escapeRegex).join("|"), "g") : null;
  }

  /** Cuts `text` into plain sections and added tokens (empty sections dropped). */
  split(text: string): Section[] {
    const re = this.#firstChars;
    if (re === null) return text.length ? [{ text, id: null }] : [];
    const out: Section[] = [];
    let done = 0; // text before this is emitted
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const at = m.index;
      const token = this.#byFirst.get(m[0])!.find((t) => text.startsWith(t.content, at));
      if (token === undefined) continue; // re.lastIndex already moved past `at`
      let start = at, end = at + token.content.length;
      re.lastIndex = end;
      if (token.singleWord && (wordBefore(text, start) || wordAfter(text, end))) continue;
      if (token.lstrip) { while (start > done && isSpace(text, start - 1)) start--; }
      if (token.rstrip) {
        while (end < text.length && isSpace(text, end)) end++;
        re.lastIndex = end;
      }
      if (start > done) out.push({ text: text.slice(done, start), id: null });
      out.push({ text: text.slice(start, end), id: token.id });
      done = end;
    }
    if (done < text.length) out.push({ text: text.slice(done), id: null });
    return out;
  }
}
