/**
 * Small hand-made `tokenizer.json` objects whose ids can be derived by hand:
 * a SentencePiece-style one (Llama 2's components) and a Llama-3-style one.
 *
 * @module
 */

/** GPT-2's byte → character table, written out independently of the library. */
export function byteChars(): string[] {
  const keep = (b: number) =>
    (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let extra = 256;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(keep(b) ? b : extra++));
  return out;
}

/**
 * SentencePiece-style pieces after the specials and byte tokens: piece `i`
 * has id 259 + i.
 */
const SP_PIECES = [
  "▁", // 259
  "h", // 260
  "e", // 261
  "l", // 262
  "o", // 263
  "w", // 264
  "r", // 265
  "d", // 266
  "▁h", // 267
  "el", // 268
  "lo", // 269
  "▁hel", // 270
  "▁hello", // 271
  "▁w", // 272
  "or", // 273
  "▁wor", // 274
  "ld", // 275
  "▁world", // 276
  "▁▁", // 277
];

/** Ranks 0…10. */
const SP_MERGES = [
  "▁ h",
  "e l",
  "l o",
  "▁h el",
  "▁hel lo",
  "▁ w",
  "o r",
  "▁w or",
  "l d",
  "▁wor ld",
  "▁ ▁",
];

/** An `added_tokens` entry of a tokenizer.json: a special token. */
function special(id: number, content: string) {
  return {
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  };
}

/** Options of {@link sentencePieceJson}. */
export interface SpOptions {
  /** `byte_fallback` (default true). */
  byteFallback?: boolean;
  /** `fuse_unk` (default true). */
  fuseUnk?: boolean;
  /** Use a Metaspace pre-tokenizer and decoder instead of the normalizer (older files). */
  metaspace?: Record<string, unknown>;
}

/**
 * Llama 2's layout: 0 `<unk>`, 1 `<s>`, 2 `</s>`, 3…258 `<0x00>`…`<0xFF>`,
 * then {@link SP_PIECES}; normalizer Prepend("▁") + Replace(" ", "▁"), the
 * Llama 2 decoder chain and a post-processor adding `<s>`.
 */
export function sentencePieceJson(opts: SpOptions = {}): Record<string, unknown> {
  const vocab: Record<string, number> = { "<unk>": 0, "<s>": 1, "</s>": 2 };
  for (let b = 0; b < 256; b++) {
    vocab[`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`] = 3 + b;
  }
  SP_PIECES.forEach((p, i) => (vocab[p] = 259 + i));
  const ms = opts.metaspace;
  return {
    version: "1.0",
    added_tokens: [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
    normalizer: ms ? null : {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: "▁" },
        { type: "Replace", pattern: { String: " " }, content: "▁" },
      ],
    },
    pre_tokenizer: ms ? { type: "Metaspace", replacement: "▁", ...ms } : null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: ms ? { type: "Metaspace", replacement: "▁", ...ms } : {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "▁" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<unk>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: opts.fuseUnk ?? true,
      byte_fallback: opts.byteFallback ?? true,
      vocab,
      merges: SP_MERGES,
    },
  };
}

/** Llama 3's pre-tokenization pattern. */
export const LLAMA3_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * Llama 3's layout on a toy vocabulary: ids 0…255 are the bytes (id = byte
 * value), then `he` 256, `ll` 257, `hell` 258, `hello` 259, `Ġw` 260, `or`
 * 261, `Ġwor` 262, `Ġworld` 263 (no merge reaches it), `12` 264, `123` 265,
 * and the added `<|begin_of_text|>` 266, `<|end_of_text|>` 267. Merges as
 * `[a, b]` pairs (the newer format).
 */
export function llama3Json(ignoreMerges = true): Record<string, unknown> {
  const chars = byteChars();
  const vocab: Record<string, number> = {};
  chars.forEach((c, b) => (vocab[c] = b));
  ["he", "ll", "hell", "hello", "Ġw", "or", "Ġwor", "Ġworld", "12", "123"]
    .forEach((t, i) => (vocab[t] = 256 + i));
  const merges = [
    ["h", "e"],
    ["l", "l"],
    ["he", "ll"],
    ["hell", "o"],
    ["Ġ", "w"],
    ["o", "r"],
    ["Ġw", "or"],
    ["1", "2"],
    ["12", "3"],
  ];
  return {
    added_tokens: [special(266, "<|begin_of_text|>"), special(267, "<|end_of_text|>")],
    normalizer: null,
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: LLAMA3_PATTERN }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: "Sequence",
      processors: [
        { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
        {
          type: "TemplateProcessing",
          single: [
            { SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } },
            { Sequence: { id: "A", type_id: 0 } },
          ],
          pair: [],
          special_tokens: {
            "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [266], tokens: [] },
          },
        },
      ],
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: ignoreMerges,
      vocab,
      merges,
    },
  };
}
