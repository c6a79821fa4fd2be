/**
 * A byte-level BPE trainer and encoder for the tiny checkpoint's tokenizer:
 * GPT-2's pre-tokenizer regex and byte-to-character map, merges learned by
 * pair frequency (ties broken by the pair's text, so the result is
 * deterministic). Written for `make.ts` only; the library's tokenizer reads
 * the `tokenizer.json` it produces.
 *
 * @module
 */

/** GPT-2's pre-tokenizer pattern. */
const PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's map from bytes to printable characters (and its byte order). */
export function byteToChar(): { chars: string[]; order: number[] } {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const chars = new Array<string>(256);
  bs.forEach((b, i) => (chars[b] = String.fromCodePoint(cs[i])));
  return { chars, order: bs };
}

const { chars: CHARS, order: ORDER } = byteToChar();
const enc = new TextEncoder();

function pieces(text: string): string[] {
  return (text.match(PATTERN) ?? []).map((p) => [...enc.encode(p)].map((b) => CHARS[b]).join(""));
}

/** Trains merges until the vocabulary has `size` entries. */
export function trainByteBpe(
  text: string,
  size: number,
): { vocab: Record<string, number>; merges: string[] } {
  const vocab: Record<string, number> = {};
  ORDER.forEach((b, i) => (vocab[CHARS[b]] = i));
  const counts = new Map<string, number>();
  for (const p of pieces(text)) counts.set(p, (counts.get(p) ?? 0) + 1);
  const words = [...counts].map(([w, c]) => ({ syms: [...w], c }));
  const merges: string[] = [];
  while (Object.keys(vocab).length < size) {
    const pairs = new Map<string, number>();
    for (const { syms, c } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const k = syms[i] + " " + syms[i + 1];
        pairs.set(k, (pairs.get(k) ?? 0) + c);
      }
    }
    let best = "", bestC = 0;
    for (const [k, c] of pairs) if (c > bestC || (c === bestC && k < best)) [best, bestC] = [k, c];
    if (bestC === 0) break;
    const [a, b] = best.split(" ");
    merges.push(best);
    vocab[a + b] = Object.keys(vocab).length;
    for (const w of words) {
      const out: string[] = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(w.syms[i]);
      }
      w.syms = out;
    }
  }
  return { vocab, merges };
}

/** Encodes text with the learned merges (lowest-ranked pair first). */
export function bpeEncode(text: string, vocab: Record<string, number>, merges: string[]): number[] {
  const rank = new Map(merges.map((m, i) => [m, i]));
  const cache = new Map<string, number[]>();
  const out: number[] = [];
  for (const p of pieces(text)) {
    let ids = cache.get(p);
    if (!ids) {
      let syms = [...p];
      for (;;) {
        let at = -1, r = Infinity;
        for (let i = 0; i + 1 < syms.length; i++) {
          const k = rank.get(syms[i] + " " + syms[i + 1]);
          if (k !== undefined && k < r) [at, r] = [i, k];
        }
        if (at < 0) break;
        syms = [...syms.slice(0, at), syms[at] + syms[at + 1], ...syms.slice(at + 2)];
      }
      ids = syms.map((s) => vocab[s]);
      cache.set(p, ids);
    }
    out.push(...ids);
  }
  return out;
}
