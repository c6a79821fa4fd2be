/**
 * GPT-2's byte-level alphabet: every byte 0–255 stands for one printable
 * Unicode character, so any UTF-8 text becomes a string over 256 symbols that
 * a BPE vocabulary covers completely. Printable Latin-1 bytes (`!`–`~`,
 * `¡`–`¬`, `®`–`ÿ`) map to themselves; the other 68 bytes map, in order, to
 * U+0100, U+0101, … (so a space, byte 0x20, becomes `Ġ` U+0120).
 *
 * @module
 */

/** `BYTE_TO_CHAR[b]`: the character that stands for byte `b`. */
export const BYTE_TO_CHAR: readonly string[] = buildTable();

/** The inverse table: char code (< 0x144) → byte, or -1. */
const CHAR_TO_BYTE: Int16Array = (() => {
  const t = new Int16Array(0x144).fill(-1);
  BYTE_TO_CHAR.forEach((ch, b) => (t[ch.charCodeAt(0)] = b));
  return t;
})();

function buildTable(): string[] {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = new Array(256);
  let next = 0x100;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCharCode(printable(b) ? b : next++);
  }
  return table;
}

/**
 * The byte-level form of `text`: its UTF-8 bytes, each as its character. A
 * lone surrogate is encoded as U+FFFD, as `TextEncoder` does.
 */
export function toByteLevel(text: string): string {
  let out = "";
  const n = text.length;
  for (let i = 0; i < n; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out += BYTE_TO_CHAR[c];
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else c = 0xfffd;
    }
    if (c < 0x800) {
      out += BYTE_TO_CHAR[0xc0 | (c >> 6)] + BYTE_TO_CHAR[0x80 | (c & 63)];
    } else if (c < 0x10000) {
      out += BYTE_TO_CHAR[0xe0 | (c >> 12)] + BYTE_TO_CHAR[0x80 | ((c >> 6) & 63)] +
        BYTE_TO_CHAR[0x80 | (c & 63)];
    } else {
      out += BYTE_TO_CHAR[0xf0 | (c >> 18)] + BYTE_TO_CHAR[0x80 | ((c >> 12) & 63)] +
        BYTE_TO_CHAR[0x80 | ((c >> 6) & 63)] + BYTE_TO_CHAR[0x80 | (c & 63)];
    }
  }
  return out;
}

const ENCODER = new TextEncoder();

/**
 * Appends the bytes a byte-level token stands for to `out`. A token with a
 * character outside the alphabet (an added token such as `"  "`) contributes
 * its own UTF-8 bytes instead, as the Hugging Face decoder does.
 */
export function pushTokenBytes(token: string, out: number[]): void {
  const start = out.length;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    const b = c < 0x144 ? CHAR_TO_BYTE[c] : -1;
    if (b < 0) {
      out.length = start;
      for (const x of ENCODER.encode(token)) out.push(x);
      return;
    }
    out.push(b);
  }
}
