/**
 * `deno task bench:w4`: WORKLOADS.md's W4, a LoRA fine-tuning step of a
 * SmolLM2-135M-shaped Llama (hidden 576, 30 layers, 9 heads, 3 KV heads,
 * intermediate 1536, vocab 49152, tied embeddings; random weights), batch
 * 4 × 128 tokens, rank 8 / alpha 16 on all seven projections, AdamW on the
 * adapters. Reports tokens/s, peak memory and the step's achieved GFLOP/s
 * as a fraction of this library's own W1 rate at N = 1024 measured in the
 * same run; then generation with the KV cache at prefix 32 and 512.
 *
 * Flags: `--steps 5` (timed steps), `--backend cpu|webgpu`, `--layers 30`,
 * `--json` (one JSON line at the end), `--no-generate`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  lora,
  manualSeed,
  memory,
  models,
  optim,
  randn,
  scope,
  setBackend,
  tensor,
} from "../mod.ts";
import { median } from "./_workloads.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    steps: { type: "string", default: "5" },
    backend: { type: "string", default: "cpu" },
    layers: { type: "string", default: "30" },
    json: { type: "boolean", default: false },
    "no-generate": { type: "boolean", default: false },
  },
});
await setBackend(values.backend!);
const L = Number(values.layers);
const CONFIG = {
  model_type: "llama",
  vocab_size: 49152,
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: L,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  tie_word_embeddings: true,
};
const [B, T] = [4, 128];
const TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

/** FLOPs of one step: forward and the input-gradient backward of every GEMM and attention. */
function stepFlops(): number {
  const h = 576, kv = 192, i = 1536, V = 49152, tokens = B * T;
  const perLayer = h * h * 2 + h * kv * 2 + 3 * h * i;
  const gemm = 2 * tokens * (L * perLayer + h * V);
  const attention = L * 2 * 2 * B * 9 * T * T * 64; // q·kᵀ and p·v
  const lora = 2 * tokens * L * 8 * (h * 2 + h + kv * 2 + h + h + 2 * i + i + h) * 2;
  // Backward: the input gradients of every GEMM and attention again (the
  // frozen weights need none of theirs), the adapters' gradients twice more.
  return 2 * (gemm + attention) + 2 * lora;
}

function log(s: string) {
  if (!values.json) console.log(s);
}

async function w1Rate(): Promise<number> {
  const n = 1024;
  const a = randn([n, n]), b = randn([n, n]);
  const times: number[] = [];
  for (let k = 0; k < 7; k++) {
    const t0 = performance.now();
    const c = a.matmul(b);
    await c.data();
    c.dispose();
    if (k >= 2) times.push(performance.now() - t0);
  }
  a.dispose();
  b.dispose();
  return (2 * n ** 3) / (median(times) / 1000) / 1e9;
}

manualSeed(0);
const w1 = await w1Rate();
log(`W1 N=1024 on ${values.backend}: ${w1.toFixed(1)} GFLOP/s`);
const t0 = performance.now();
const model = new models.LlamaForCausalLM(CONFIG);
lora.wrap(model, TARGETS, 8, 16);
model.train();
log(
  `built and wrapped ${L} layers in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
    `${JSON.stringify(lora.parameterCount(model))}`,
);
const opt = new optim.AdamW(model.parameters().filter((p) => p.requiresGrad), { lr: 1e-4 });
const ids = tensor(
  Array.from(
    { length: B },
    () => Array.from({ length: T }, () => Math.floor(Math.random() * 49152)),
  ),
  { dtype: "int32" },
);
let peak = 0;
const times: number[] = [];
const steps = Number(values.steps);
for (let s = 0; s < steps + 2; s++) {
  const start = performance.now();
  const loss = scope(() => {
    const l = models.causalLmLoss(model.forward(ids), ids);
    l.backward();
    opt.step();
    opt.zeroGrad();
    peak = Math.max(peak, memory().bytes);
    return l.detach();
  });
  const v = await loss.item();
  loss.dispose();
  const ms = performance.now() - start;
  if (s >= 2) times.push(ms);
  log(`  step ${s}${s < 2 ? " (warm-up)" : ""}: ${ms.toFixed(0)} ms, loss ${v.toFixed(4)}`);
}
const med = median(times);
const gflops = stepFlops() / (med / 1000) / 1e9;
const rss = (globalThis as { Deno?: { memoryUsage(): { rss: number } } }).Deno?.memoryUsage().rss ??
  0;
const result: Record<string, unknown> = {
  backend: values.backend,
  layers: L,
  msPerStep: med,
  tokensPerSecond: (B * T) / (med / 1000),
  stepGflop: stepFlops() / 1e9,
  achievedGflops: gflops,
  w1Gflops: w1,
  fractionOfW1: gflops / w1,
  peakTensorBytes: peak,
  rssBytes: rss,
};
log(
  `W4: ${med.toFixed(0)} ms/step (median of ${steps}), ${
    (B * T / (med / 1000)).toFixed(0)
  } tokens/s, ` +
    `${gflops.toFixed(1)} GFLOP/s = ${(gflops / w1).toFixed(2)} of W1; peak tensors ${
      (peak / 2 ** 20).toFixed(0)
    } MiB, RSS ${(rss / 2 ** 20).toFixed(0)} MiB`,
);
opt.dispose();
ids.dispose();

if (!values["no-generate"]) {
  model.eval();
  for (const prefix of [32, 512]) {
    const prompt = [Array.from({ length: prefix }, (_, i) => (i * 7919) % 49152)];
    const stamps: number[] = [];
    await models.generate(model, prompt, {
      maxNewTokens: 9,
      onToken: () => stamps.push(performance.now()),
    });
    const per = stamps.slice(2).map((t, i) => t - stamps[i + 1]);
    result[`msPerToken${prefix}`] = median(per);
    log(
      `generation at prefix ${prefix}: ${
        median(per).toFixed(1)
      } ms/token (median of ${per.length})`,
    );
  }
}
if (values.json) console.log(JSON.stringify(result));
