/**
 * The BPE model of `tokenizer.json`: a word (one pre-tokenized piece) starts
 * as its characters' ids and the adjacent pair with the lowest merge rank is
 * merged, leftmost first among equal ranks, until no pair has a rank. That is
 * the order of the Hugging Face library's heap and of GPT-2's original loop.
 *
 * Pairs are looked up by their two ids in a hash table of ranks, ranks index
 * a table of merged ids, and words are cached by their text.
 * Characters missing from the vocabulary become `<0xNN>` byte tokens
 * (`byte_fallback`), else the unknown token (consecutive ones fused with
 * `fuse_unk`), else they are dropped, as in the Hugging Face library.
 *
 * @module
 */

import { asArray, asIndex, asObject, describe, type JsonObject, optBool, optStr } from "./_json.ts";

/** Words longer than this are not cached (they rarely repeat). */
const MAX_CACHED_LENGTH = 256;
/** The cache is cleared when it holds this many words. */
const CACHE_CAPACITY = 1 << 17;

/** A BPE model built from the `model` object of `tokenizer.json`. */
export class Bpe {
  /** Token → id. */
  readonly vocab: Map<string, number>;
  /** Id → token (holes are undefined). */
  readonly idToToken: string[];
  #ranks: PairTable;
  #mergedId: Int32Array;
  #unkId: number | null = null;
  #fuseUnk: boolean;
  #byteFallback: Int32Array | null = null;
  #ignoreMerges: boolean;
  #prefix: string | null;
  #suffix: string | null;
  #cache = new Map<string, number[]>();
  // Scratch arrays for mergeWord, grown on demand.
  #ids = new Int32Array(64);
  #prev = new Int32Array(64);
  #next = new Int32Array(64);

  constructor(json: JsonObject) {
    const where = "tokenizer.json model";
    if (json.dropout != null && json.dropout !== 0) {
      throw new TypeError(
        `Tokenizer: BPE dropout ${describe(json.dropout)} is not supported (only null)`,
      );
    }
    this.vocab = new Map();
    this.idToToken = [];
    const vocab = asObject(json.vocab, `${where}.vocab`);
    for (const [token, id] of Object.entries(vocab)) {
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
        asIndex(id, `${where}.vocab[${JSON.stringify(token)}]`); // throws, naming the entry
      }
      this.vocab.set(token, id as number);
      this.idToToken[id as number] = token;
    }
    // GPT-2's and Qwen2's files say "" for none.
    this.#prefix = optStr(json, "continuing_subword_prefix", where) || null;
    this.#suffix = optStr(json, "end_of_word_suffix", where) || null;
    this.#fuseUnk = optBool(json, "fuse_unk", where, false);
    this.#ignoreMerges = optBool(json, "ignore_merges", where, false);
    const unk = optStr(json, "unk_token", where);
    if (unk !== null) {
      const id = this.vocab.get(unk);
      if (id === undefined) {
        throw new RangeError(`${where}.unk_token ${JSON.stringify(unk)} is not in the vocab`);
      }
      this.#unkId = id;
    }
    if (optBool(json, "byte_fallback", where, false)) this.#byteFallback = this.#byteTokens();
    const merges = asArray(json.merges ?? [], `${where}.merges`);
    this.#ranks = new PairTable(merges.length);
    this.#mergedId = this.#readMerges(merges);
  }

  /** `<0x00>` … `<0xFF>` ids (-1 where the vocab lacks one). */
  #byteTokens(): Int32Array {
    const ids = new Int32Array(256);
    for (let b = 0; b < 256; b++) {
      const name = `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
      ids[b] = this.vocab.get(name) ?? -1;
    }
    return ids;
  }

  #readMerges(merges: unknown[]): Int32Array {
    const merged = new Int32Array(merges.length);
    const prefixLen = this.#prefix?.length ?? 0;
    for (let rank = 0; rank < merges.length; rank++) {
      const [a, b] = mergePair(merges[rank], rank);
      const joined = a + (prefixLen && b.startsWith(this.#prefix!) ? b.slice(prefixLen) : b);
      const ia = this.vocab.get(a), ib = this.vocab.get(b), ij = this.vocab.get(joined);
      if (ia === undefined || ib === undefined || ij === undefined) {
        const missing = ia === undefined ? a : ib === undefined ? b : joined;
        throw new RangeError(
          `tokenizer.json model.merges[${rank}] ${JSON.stringify([a, b])}: token ${
            JSON.stringify(missing)
          } is not in the vocab`,
        );
      }
      this.#ranks.set(ia, ib, rank);
      merged[rank] = ij;
    }
    return merged;
  }

  /**
   * Appends the ids of one pre-tokenized piece to `out`. With `transform`
   * (the byte-level mapping a pre-tokenizer deferred), the piece is raw text:
   * the cache is keyed by it and only unseen pieces are mapped. The result is
   * the same either way, the mapping being a function of the piece.
   */
  tokenize(piece: string, out: number[], transform: ((s: string) => string) | null): void {
    if (piece.length === 0) return;
    let ids = this.#cache.get(piece);
    if (ids === undefined) {
      ids = this.#tokenizeWord(transform === null ? piece : transform(piece));
      if (piece.length <= MAX_CACHED_LENGTH) {
        if (this.#cache.size >= CACHE_CAPACITY) this.#cache.clear();
        this.#cache.set(piece, ids);
      }
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]);
  }

  /** `ignore_merges`: a word that is a whole vocab entry is taken as it is. */
  #tokenizeWord(word: string): number[] {
    if (this.#ignoreMerges) {
      const id = this.vocab.get(word);
      if (id !== undefined) return [id];
    }
    return this.#mergeWord(word);
  }

  /** The initial symbols of `word` (see the module comment), into the scratch array. */
  #symbols(word: string): number {
    if (this.#ids.length < word.length * 4) this.#grow(word.length * 4);
    const ids = this.#ids;
    let n = 0;
    let pendingUnk = false;
    for (let i = 0; i < word.length;) {
      const cp = word.codePointAt(i)!;
      const len = cp > 0xffff ? 2 : 1;
      let ch = word.slice(i, i + len);
      if (i > 0 && this.#prefix !== null) ch = this.#prefix + ch;
      i += len;
      if (i === word.length && this.#suffix !== null) ch += this.#suffix;
      const id = this.vocab.get(ch);
      if (id !== undefined) {
        ids[n++] = id;
        pendingUnk = false;
        continue;
      }
      if (this.#byteFallback !== null) {
        const bytes = utf8(word.slice(i - len, i));
        if (bytes.every((b) => this.#byteFallback![b] >= 0)) {
          for (const b of bytes) ids[n++] = this.#byteFallback[b];
          pendingUnk = false;
          continue;
        }
      }
      if (this.#unkId === null) continue;
      if (!(pendingUnk && this.#fuseUnk)) ids[n++] = this.#unkId;
      pendingUnk = true;
    }
    return n;
  }

  #grow(size: number): void {
    this.#ids = new Int32Array(size);
    this.#prev = new Int32Array(size);
    this.#next = new Int32Array(size);
  }

  /** BPE on one word: see the module comment. Returns the final ids. */
  #mergeWord(word: string): number[] {
    const n = this.#symbols(word);
    const ids = this.#ids, prev = this.#prev, next = this.#next;
    const ranks = this.#ranks;
    // Heap entries: rank · 2²⁶ + position (rank first, then leftmost).
    const heap = new MinHeap();
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
      if (i + 1 < n) {
        const r = ranks.get(ids[i], ids[i + 1]);
        if (r >= 0) heap.push(r * POS_SPAN + i);
      }
    }
    while (heap.size > 0) {
      const top = heap.pop();
      const pos = top % POS_SPAN, rank = (top - pos) / POS_SPAN;
      const right = next[pos];
      // Skip stale entries: a merged-away symbol, or a pair that changed.
      if (ids[pos] < 0 || right < 0 || ranks.get(ids[pos], ids[right]) !== rank) continue;
      ids[pos] = this.#mergedId[rank];
      ids[right] = -1;
      next[pos] = next[right];
      if (next[pos] >= 0) prev[next[pos]] = pos;
      const p = prev[pos];
      if (p >= 0) {
        const r = ranks.get(ids[p], ids[pos]);
        if (r >= 0) heap.push(r * POS_SPAN + p);
      }
      const q = next[pos];
      if (q >= 0) {
        const r = ranks.get(ids[pos], ids[q]);
        if (r >= 0) heap.push(r * POS_SPAN + pos);
      }
    }
    const result: number[] = [];
    for (let i = 0; i >= 0 && i < n; i = next[i]) result.push(ids[i]);
    return result;
  }
}

/** One merge, given as `"a b"` or `["a", "b"]`. */
function mergePair(m: unknown, rank: number): [string, string] {
  if (typeof m === "string") {
    const space = m.indexOf(" ");
    if (space > 0 && m.indexOf(" ", space + 1) < 0) return [m.slice(0, space), m.slice(space + 1)];
  } else if (
    Array.isArray(m) && m.length === 2 && typeof m[0] === "string" && typeof m[1] === "string"
  ) return m as [string, string];
  throw new TypeError(
    `tokenizer.json model.merges[${rank}] must be "a b" or ["a", "b"], got ${describe(m)}`,
  );
}

/** Positions per rank in a heap key (words are shorter than 2²⁶ symbols). */
const POS_SPAN = 2 ** 26;

const ENCODER = new TextEncoder();

function utf8(s: string): Uint8Array {
  return ENCODER.encode(s);
}

/**
 * Merge ranks by pair of ids: an open-addressing hash table over typed
 * arrays (a Map keyed by `a · bound + b` is several times slower to fill and
 * to query, its keys being doubles).
 */
class PairTable {
  #left: Int32Array;
  #right: Int32Array;
  #rank: Int32Array;
  #mask: number;

  constructor(count: number) {
    let cap = 16;
    while (cap < count * 2) cap *= 2;
    this.#left = new Int32Array(cap).fill(-1);
    this.#right = new Int32Array(cap);
    this.#rank = new Int32Array(cap);
    this.#mask = cap - 1;
  }

  #slot(a: number, b: number): number {
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    let i = h & this.#mask;
    while (this.#left[i] !== -1 && (this.#left[i] !== a || this.#right[i] !== b)) {
      i = (i + 1) & this.#mask;
    }
    return i;
  }

  /** Sets the rank of (a, b); a later merge of the same pair wins, as in the Hugging Face library. */
  set(a: number, b: number, rank: number): void {
    const i = this.#slot(a, b);
    this.#left[i] = a;
    this.#right[i] = b;
    this.#rank[i] = rank;
  }

  /** The rank of (a, b), or -1. */
  get(a: number, b: number): number {
    const i = this.#slot(a, b);
    return this.#left[i] === -1 ? -1 : this.#rank[i];
  }
}

/** A binary min-heap of numbers. */
class MinHeap {
  #a: number[] = [];

  get size(): number {
    return this.#a.length;
  }

  push(x: number): void {
    const a = this.#a;
    let i = a.length;
    a.push(x);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= x) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = x;
  }

  pop(): number {
    const a = this.#a;
    const top = a[0];
    const last = a.pop()!;
    const n = a.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && a[c + 1] < a[c]) c++;
      if (a[c] >= last) break;
      a[i] = a[c];
      i = c;
    }
    a[i] = last;
    return top;
  }
}
