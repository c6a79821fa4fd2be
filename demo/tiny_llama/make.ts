/**
 * Makes the tiny Llama checkpoint `deno task finetune` runs on when no
 * `--model` is given, and its data, from nothing but this script and the
 * library (run: `deno run -A demo/tiny_llama/make.ts`; the output is
 * committed):
 *
 * - `pretrain.txt`: sentences from a small grammar about a village (many
 *   repeat an earlier name or food, so the model learns to attend back).
 * - `finetune.jsonl`: question/answer pairs (prompt and completion) about
 *   who likes which food, the facts a fine-tune teaches.
 * - `tokenizer.json`, `tokenizer_config.json`: a byte-level BPE (GPT-2's
 *   pre-tokenizer and byte map) trained here on both texts, 512 tokens.
 * - `config.json`, `model.safetensors`: a Llama (4 layers, hidden 128, 4
 *   heads, 2 KV heads) pretrained here on `pretrain.txt`, stored as F16.
 *
 * Deterministic: a fixed seed for the text, the initialisation and batches.
 *
 * @module
 */
import { manualSeed, models, nn, optim, scope, tensor } from "../../mod.ts";
import { encodeSafetensorsF16 } from "./_f16.ts";
import { bpeEncode, trainByteBpe } from "./_bpe_train.ts";

const OUT = new URL("./", import.meta.url);

// ---- text ------------------------------------------------------------------

let seed = 12345;
function rand(n: number): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed >>> 8) % n;
}
const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)];

const NAMES = ["Alice", "Bob", "Carol", "Dan", "Eve", "Frank", "Grace", "Heidi", "Ivan", "Judy"];
const FOODS = [
  "apples",
  "bread",
  "cheese",
  "dates",
  "eggs",
  "figs",
  "grapes",
  "honey",
  "soup",
  "tea",
];
const PLACES = ["the market", "the river", "the hill", "the mill", "the school", "the garden"];
const VERBS = ["walks to", "runs to", "looks at", "sings near", "waits at", "reads by"];
const TIMES = ["in the morning", "at noon", "in the evening", "at night", "on Sunday"];
const ADJ = ["quiet", "busy", "old", "green", "small", "bright"];

/** A sentence; half of them repeat an earlier name or food, so the model learns to look back. */
function sentence(): string {
  const n = pick(NAMES), m = pick(NAMES), f = pick(FOODS), p = pick(PLACES);
  switch (rand(7)) {
    case 4:
      return `${n} buys ${f}. ${n} eats the ${f} at ${p.slice(4)}.`;
    case 5:
      return `Who is at ${p}? ${n} is at ${p}. ${m} is not.`;
    case 6:
      return `${n} gives ${f} to ${m}. ${m} thanks ${n} for the ${f}.`;
  }
  switch (rand(4)) {
    case 0:
      return `${pick(NAMES)} ${pick(VERBS)} ${pick(PLACES)} ${pick(TIMES)}.`;
    case 1:
      return `${pick(PLACES)[0].toUpperCase()}${pick(PLACES).slice(1)} is ${pick(ADJ)} ${
        pick(TIMES)
      }.`;
    case 2:
      return `${pick(NAMES)} and ${pick(NAMES)} eat ${pick(FOODS)} at ${pick(PLACES).slice(4)}.`;
    default:
      return `${pick(NAMES)} buys ${pick(FOODS)} and ${pick(FOODS)} at the market.`;
  }
}

const pretrain = Array.from({ length: 5000 }, sentence).join(" ");
// The facts the fine-tune teaches: each name likes one food.
const likes = NAMES.map((n, i) => [n, FOODS[(i * 3 + 1) % FOODS.length]]);
const qa: { prompt: string; completion: string }[] = [];
for (let r = 0; r < 12; r++) {
  for (const [n, f] of likes) {
    const ask = pick([
      `What does ${n} like?`,
      `Which food does ${n} like?`,
      `Tell me what ${n} likes.`,
    ]);
    qa.push({ prompt: `Q: ${ask}\nA:`, completion: ` ${f}.` });
  }
}

// ---- tokenizer ---------------------------------------------------------------

const EOS = "<|endoftext|>";
const corpus = pretrain + "\n" + qa.map((x) => x.prompt + x.completion).join("\n");
const { vocab, merges } = trainByteBpe(corpus, 512 - 1);
vocab[EOS] = 511;
const tokenizerJson = {
  version: "1.0",
  truncation: null,
  padding: null,
  added_tokens: [{
    id: 511,
    content: EOS,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }],
  normalizer: null,
  pre_tokenizer: {
    type: "ByteLevel",
    add_prefix_space: false,
    trim_offsets: true,
    use_regex: true,
  },
  post_processor: {
    type: "ByteLevel",
    add_prefix_space: true,
    trim_offsets: false,
    use_regex: true,
  },
  decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: {
    type: "BPE",
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    ignore_merges: false,
    vocab,
    merges,
  },
};
const tokenizerConfig = {
  bos_token: EOS,
  eos_token: EOS,
  unk_token: EOS,
  model_max_length: 256,
  clean_up_tokenization_spaces: false,
  tokenizer_class: "GPT2Tokenizer",
};

// ---- model -------------------------------------------------------------------

const config = {
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  vocab_size: 512,
  hidden_size: 128,
  intermediate_size: 344,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 32,
  max_position_embeddings: 256,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  rope_scaling: null,
  tie_word_embeddings: true,
  hidden_act: "silu",
  attention_bias: false,
  bos_token_id: 511,
  eos_token_id: 511,
  torch_dtype: "float16",
};

manualSeed(7);
const model = new models.LlamaForCausalLM(config);
model.train();
const ids = bpeEncode(pretrain, vocab, merges);
const [B, T, STEPS] = [16, 64, Number(Deno.args[0] ?? 1000)];
const opt = new optim.AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0.01 });
const t0 = performance.now();
for (let step = 0; step < STEPS; step++) {
  opt.lr = 3e-3 * Math.min(1, (step + 1) / 30) * (0.5 + 0.5 * Math.cos((Math.PI * step) / STEPS));
  const batch = Array.from({ length: B }, () => {
    const at = rand(ids.length - T);
    return ids.slice(at, at + T);
  });
  const loss = scope(() => {
    const x = tensor(batch, { dtype: "int32" });
    const l = models.causalLmLoss(model.forward(x), x);
    l.backward();
    opt.step();
    opt.zeroGrad();
    return l.detach();
  });
  if (step % 50 === 0 || step === STEPS - 1) {
    const secs = ((performance.now() - t0) / 1000).toFixed(0);
    console.log(`pretrain step ${step}: loss ${(await loss.item()).toFixed(3)} (${secs} s)`);
  }
  loss.dispose();
}
opt.dispose();

const weights: Record<string, { shape: number[]; data: Float32Array }> = {};
for (const [k, p] of model.namedParameters()) {
  weights[k] = { shape: [...p.shape], data: (await p.data()) as Float32Array };
}
await Deno.writeFile(new URL("model.safetensors", OUT), encodeSafetensorsF16(weights));
const json = (x: unknown) => JSON.stringify(x, null, 2) + "\n";
await Deno.writeTextFile(new URL("config.json", OUT), json(config));
await Deno.writeTextFile(new URL("tokenizer.json", OUT), JSON.stringify(tokenizerJson) + "\n");
await Deno.writeTextFile(new URL("tokenizer_config.json", OUT), json(tokenizerConfig));
await Deno.writeTextFile(new URL("pretrain.txt", OUT), pretrain + "\n");
await Deno.writeTextFile(
  new URL("finetune.jsonl", OUT),
  qa.map((x) => JSON.stringify(x)).join("\n") + "\n",
);
console.log(`wrote ${OUT.pathname}: ${ids.length} pretraining tokens, ${qa.length} Q/A pairs`);
void nn;
