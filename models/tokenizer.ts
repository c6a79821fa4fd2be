/**
 * Hugging Face `tokenizer.json` BPE tokenizers, computed here: byte-level
 * ones (GPT-2, Llama 3, Qwen2, SmolLM) and SentencePiece-style ones with byte
 * fallback (Llama 2, TinyLlama, Mistral). The defaults are transformers':
 * added tokens written in the text are recognised, `encode` adds what the
 * file's post-processor adds, `decode` keeps special tokens and cleans up
 * spaces only when `tokenizer_config.json` asks for it.
 *
 * The pipeline, as in the Hugging Face library: split the text on added
 * tokens (those not `normalized` first, on the raw text) → normalizer on each
 * stretch between them → split on the `normalized` added tokens → pre-tokenizer
 * → BPE on each piece → post-processor. Decoding maps ids to token strings and
 * runs the decoder.
 *
 * Components: model BPE (vocab + merges as `"a b"` or `[a, b]`, `byte_fallback`,
 * `fuse_unk`, `unk_token`, `ignore_merges`, `continuing_subword_prefix`,
 * `end_of_word_suffix`); normalizers Sequence, Prepend, Append, Replace,
 * NFC/NFD/NFKC/NFKD, Lowercase, Strip; pre-tokenizers Sequence, ByteLevel,
 * Split (all five behaviors, `invert`), Metaspace, Digits, Whitespace,
 * WhitespaceSplit, Punctuation; decoders Sequence, ByteLevel, Metaspace,
 * Replace, ByteFallback, Fuse, Strip, BPEDecoder; post-processors
 * TemplateProcessing (single sequences), ByteLevel, Sequence, BertProcessing,
 * RobertaProcessing. Anything else (WordPiece, Unigram, BPE dropout, BERT's
 * normalizer, …) is a TypeError naming it.
 *
 * This module reads files only inside {@link Tokenizer.fromPretrained}, at call
 * time, so it also loads in a browser.
 *
 * @module
 */

import { asObject, describe, type JsonObject, typeTag, unsupported } from "./_json.ts";
import { Bpe } from "./_bpe.ts";
import { type AddedToken, AddedTokenMatcher, readAddedTokens } from "./_added_tokens.ts";
import { buildNormalizer, type Normalize } from "./_normalize.ts";
import { buildPreTokenizer, type PreTokenizer } from "./_pretokenize.ts";
import { toByteLevel } from "./_byte_level.ts";
import { buildDecoder, cleanUpTokenization, type Decode } from "./_decode.ts";
import { buildPostProcessor, type PostProcess } from "./_post_process.ts";
import { readPretrainedFiles } from "./_files.ts";
import type { DirSource } from "../io/mod.ts";

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Add the post-processor's special tokens (Llama's `<s>`). Default true. */
  addSpecialTokens?: boolean;
}

/** Options of {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Leave out special added tokens. Default false. */
  skipSpecialTokens?: boolean;
}

/**
 * A BPE tokenizer read from a Hugging Face `tokenizer.json`.
 *
 * @example
 * ```ts
 * import { Tokenizer } from "./tokenizer.ts";
 *
 * const tok = Tokenizer.fromJSON({
 *   model: { type: "BPE", vocab: { h: 0, i: 1, hi: 2, "<s>": 3 }, merges: ["h i"] },
 *   added_tokens: [{ id: 3, content: "<s>", special: true }],
 * });
 * console.assert(JSON.stringify(tok.encode("hi<s>h")) === "[2,3,0]");
 * console.assert(tok.decode([2, 3], { skipSpecialTokens: true }) === "hi");
 * ```
 */
export class Tokenizer {
  /** The beginning-of-sequence token's id (`bos_token` of `tokenizer_config.json`), if any. */
  readonly bosTokenId: number | undefined;
  /** The end-of-sequence token's id (`eos_token`), if any. */
  readonly eosTokenId: number | undefined;
  /** The padding token's id (`pad_token`), if any. */
  readonly padTokenId: number | undefined;
  /** One more than the largest id of the vocabulary and the added tokens. */
  readonly vocabSize: number;
  #model: Bpe;
  #normalize: Normalize | null;
  #preTokenizer: PreTokenizer | null;
  #transform: ((piece: string) => string) | null;
  #decode: Decode | null;
  #postProcess: PostProcess | null;
  #rawMatcher: AddedTokenMatcher;
  #normalizedMatcher: AddedTokenMatcher | null = null;
  #added = new Map<number, AddedToken>();
  #addedIds = new Map<string, number>();
  #specialIds = new Set<number>();
  #cleanUpSpaces: boolean;

  /**
   * Builds a tokenizer from the parsed `tokenizer.json` and, optionally,
   * `tokenizer_config.json` (see {@link Tokenizer.fromJSON}).
   *
   * @throws {TypeError} When a component is malformed or not supported.
   * @throws {RangeError} When a merge or the unknown token is not in the vocabulary.
   */
  constructor(tokenizerJson: unknown, tokenizerConfig?: unknown) {
    const json = asObject(tokenizerJson, "tokenizer.json");
    const config = tokenizerConfig == null
      ? {}
      : asObject(tokenizerConfig, "tokenizer_config.json");
    this.#model = buildModel(json.model);
    this.#normalize = buildNormalizer(json.normalizer);
    this.#preTokenizer = buildPreTokenizer(json.pre_tokenizer);
    this.#transform = this.#preTokenizer?.byteLevelDeferred ? toByteLevel : null;
    this.#decode = buildDecoder(json.decoder);
    this.#postProcess = buildPostProcessor(json.post_processor);
    const added = readAddedTokens(json.added_tokens);
    let bound = this.#model.idToToken.length;
    for (const t of added) {
      this.#added.set(t.id, t);
      this.#addedIds.set(t.content, t.id);
      bound = Math.max(bound, t.id + 1);
      if (t.special) this.#specialIds.add(t.id);
    }
    this.vocabSize = bound;
    this.#rawMatcher = this.#buildMatchers(added);
    this.bosTokenId = this.#configTokenId(config, "bos_token");
    this.eosTokenId = this.#configTokenId(config, "eos_token");
    this.padTokenId = this.#configTokenId(config, "pad_token");
    this.#cleanUpSpaces = config.clean_up_tokenization_spaces === true;
  }

  /**
   * Builds a tokenizer from the parsed contents of `tokenizer.json` and,
   * optionally, `tokenizer_config.json` (which gives `bos_token`,
   * `eos_token`, `pad_token` and `clean_up_tokenization_spaces`).
   *
   * @param tokenizerJson The parsed `tokenizer.json`; its model must be BPE.
   * @param tokenizerConfig The parsed `tokenizer_config.json`, if any.
   * @returns The tokenizer.
   * @throws {TypeError} When a component is malformed or not supported (named).
   * @throws {RangeError} When a merge or the unknown token is not in the vocabulary.
   */
  static fromJSON(tokenizerJson: unknown, tokenizerConfig?: unknown): Tokenizer {
    return new Tokenizer(tokenizerJson, tokenizerConfig);
  }

  /**
   * Reads a checkpoint directory: `tokenizer.json` and, when present,
   * `tokenizer_config.json` and `special_tokens_map.json`. As in transformers,
   * a config saved with `added_tokens_decoder` (the current format) wins over
   * the map; for an older config the map's entries win. A local path or
   * `file:` URL is read with Deno, an `http(s):` URL with `fetch`; in a
   * browser pass a directory handle or a map of file names to `File`s.
   *
   * @param dir The directory: a path or URL, a directory handle, or a map
   *   of files.
   * @returns The tokenizer.
   * @throws {Error} When `tokenizer.json` is missing (naming it).
   * @throws {TypeError} When a component is malformed or not supported.
   */
  static async fromPretrained(dir: DirSource): Promise<Tokenizer> {
    const files = await readPretrainedFiles(dir);
    const config = files.config == null ? {} : asObject(files.config, "tokenizer_config.json");
    const map = files.specialTokensMap == null
      ? {}
      : asObject(files.specialTokensMap, "special_tokens_map.json");
    const merged = "added_tokens_decoder" in config ? { ...map, ...config } : { ...config, ...map };
    return new Tokenizer(files.tokenizer, merged);
  }

  /**
   * Encodes text to token ids.
   *
   * @param text The text.
   * @param opts `addSpecialTokens` (default true): add the post-processor's tokens.
   * @returns The ids.
   * @throws {TypeError} When `text` is not a string or an option has the wrong type.
   */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== "string") {
      throw new TypeError(`Tokenizer.encode(): text must be a string, got ${describe(text)}`);
    }
    const addSpecial = readFlag(opts, "addSpecialTokens", "encode", true);
    const ids: number[] = [];
    const model = this.#model, transform = this.#transform;
    const emit = (piece: string) => model.tokenize(piece, ids, transform);
    let atStart = true;
    for (const section of this.#rawMatcher.split(text)) {
      if (section.id !== null) ids.push(section.id);
      else {
        const normalized = this.#normalize ? this.#normalize(section.text) : section.text;
        const parts = this.#normalizedMatcher?.split(normalized) ??
          [{ text: normalized, id: null }];
        for (const part of parts) {
          if (part.id !== null) ids.push(part.id);
          else this.#encodeStretch(part.text, atStart, emit);
          atStart = false;
        }
      }
      atStart = false;
    }
    return addSpecial && this.#postProcess ? this.#postProcess(ids) : ids;
  }

  /** Pre-tokenizes one stretch of normalized text; `emit` takes each piece to the model. */
  #encodeStretch(text: string, atStart: boolean, emit: (piece: string) => void): void {
    if (text.length === 0) return;
    if (this.#preTokenizer === null) emit(text);
    else this.#preTokenizer.run(text, atStart, emit);
  }

  /**
   * Decodes token ids to text.
   *
   * @param ids The ids (integers in `[0, vocabSize)` that name a token).
   * @param opts `skipSpecialTokens` (default false): leave special tokens out.
   * @returns The text.
   * @throws {TypeError} When `ids` is not an array of integers.
   * @throws {RangeError} When an id names no token.
   */
  decode(ids: readonly number[] | Int32Array, opts: DecodeOptions = {}): string {
    if (!Array.isArray(ids) && !(ids instanceof Int32Array)) {
      throw new TypeError(
        `Tokenizer.decode(): ids must be an array of integers, got ${describe(ids)}`,
      );
    }
    const skip = readFlag(opts, "skipSpecialTokens", "decode", false);
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const token = this.#tokenOf(id, i);
      if (!(skip && this.#specialIds.has(id))) tokens.push(token);
    }
    const text = this.#decode ? this.#decode(tokens).join("") : tokens.join(" ");
    return this.#cleanUpSpaces ? cleanUpTokenization(text) : text;
  }

  #tokenOf(id: unknown, i: number): string {
    if (typeof id !== "number" || !Number.isInteger(id)) {
      throw new TypeError(
        `Tokenizer.decode(): ids[${i}] must be an integer, got ${describe(id)}`,
      );
    }
    const token = this.idToToken(id);
    if (token === undefined) {
      throw new RangeError(
        `Tokenizer.decode(): ids[${i}] = ${id} names no token (vocabSize ${this.vocabSize})`,
      );
    }
    return token;
  }

  /**
   * The id of a token string (an added token or a vocabulary entry).
   *
   * @param token The token's text as the vocabulary spells it (`Ġthe`, `▁the`).
   * @returns Its id, or `undefined`.
   */
  tokenToId(token: string): number | undefined {
    return this.#addedIds.get(token) ?? this.#model.vocab.get(token);
  }

  /**
   * The token string of an id.
   *
   * @param id The id.
   * @returns Its token, or `undefined` when the id names none.
   */
  idToToken(id: number): string | undefined {
    return this.#added.get(id)?.content ?? this.#model.idToToken[id];
  }

  /**
   * The matcher on the raw text (tokens not `normalized`, or all of them when
   * there is no normalizer); the normalized tokens' matcher, on their
   * normalized content, goes to `#normalizedMatcher`.
   */
  #buildMatchers(added: AddedToken[]): AddedTokenMatcher {
    const normalize = this.#normalize;
    const raw = added.filter((t) => normalize === null || !t.normalized);
    const norm = normalize === null ? [] : added.filter((t) => t.normalized);
    if (norm.length) {
      this.#normalizedMatcher = new AddedTokenMatcher(
        norm.map((token) => ({ token, pattern: normalize!(token.content) })),
      );
    }
    for (const t of added) {
      const vocabId = this.#model.vocab.get(t.content);
      if (t.special && vocabId !== undefined) this.#specialIds.add(vocabId);
    }
    return new AddedTokenMatcher(raw.map((token) => ({ token, pattern: token.content })));
  }

  /** The id of a `tokenizer_config.json` token entry (a string or `{content}`). */
  #configTokenId(config: JsonObject, key: string): number | undefined {
    let v = config[key];
    if (v == null) return undefined;
    if (typeof v === "object") v = (v as JsonObject).content;
    if (typeof v !== "string") {
      throw new TypeError(
        `tokenizer_config.json ${key} must be a string or {content}, got ${describe(config[key])}`,
      );
    }
    return this.tokenToId(v);
  }
}

function buildModel(v: unknown): Bpe {
  const where = "tokenizer.json model";
  const o = asObject(v, where);
  const type = o.type === undefined && "merges" in o ? "BPE" : typeTag(o, where);
  if (type !== "BPE") throw unsupported("model", type, ["BPE"]);
  return new Bpe(o);
}

function readFlag(opts: unknown, key: string, method: string, dflt: boolean): boolean {
  if (opts === undefined) return dflt;
  const o = asObject(opts, `Tokenizer.${method}(): options`);
  const v = o[key];
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") {
    throw new TypeError(`Tokenizer.${method}(): ${key} must be a boolean, got ${describe(v)}`);
  }
  return v;
}
