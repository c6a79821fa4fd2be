/**
 * `deno task bench:w4`: WORKLOADS.md's W4, a LoRA fine-tuning step of a
 * SmolLM2-135M-shaped Llama (hidden 576, 30 layers, 9 heads, 3 KV heads,
 * intermediate 1536, vocab 49152, tied embeddings; random weights), batch
 * 4 × 128 tokens, rank 8 / alpha 16 on all seven projections, AdamW on the
 * adapters. Reports tokens/s, peak memory and the step's achieved GFLOP/s
 * as a fraction of this library's own W1 rate at N = 1024, measured right
 * before each timed step (so both see the same machine load); then
 * generation with the KV cache at prefix 32 and 512. With `--torch`, the
 * PyTorch peer (bench/peers/w4_torch.py, same shapes) runs after each
 * round of steps, in the same run.
 *
 * Flags: `--steps 5` (timed steps per round), `--rounds 1`, `--backend
 * cpu|webgpu`, `--layers 30`, `--torch` (needs /usr/bin/python3 with
 * torch), `--json` (one JSON line at the end), `--no-generate`. On
 * `--backend webgpu` the compute dispatches and queue submits of each
 * timed step (GpuContext counters) are reported too.
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
  type Tensor,
  tensor,
} from "../mod.ts";
import { median, W4_TARGETS, w4Config } from "./_workloads.ts";
import { backendInstance } from "../backends/registry.ts";
import type { WebGpuBackend } from "../backends/webgpu/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    steps: { type: "string", default: "5" },
    rounds: { type: "string", default: "1" },
    torch: { type: "boolean", default: false },
    backend: { type: "string", default: "cpu" },
    layers: { type: "string", default: "30" },
    json: { type: "boolean", default: false },
    "no-generate": { type: "boolean", default: false },
  },
});
await setBackend(values.backend!);
/** The WebGPU scheduler's counters, when the bench runs there. */
const gpuCounters = values.backend === "webgpu"
  ? () => (backendInstance("webgpu") as WebGpuBackend).ctx.counters
  : null;
const stepDispatches: number[] = [], stepSubmits: number[] = [];
const L = Number(values.layers);
const CONFIG = w4Config(L);
const [B, T] = [4, 128];
const TARGETS = W4_TARGETS;

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

/** One W1 product at N = 1024 (after a warm-up), in GFLOP/s. */
async function w1Once(a: Tensor, b: Tensor): Promise<number> {
  const t0 = performance.now();
  const c = a.matmul(b);
  await c.data();
  c.dispose();
  return (2 * 1024 ** 3) / ((performance.now() - t0) / 1000) / 1e9;
}

/** The PyTorch peer's step (one process per round), or null when it fails. */
async function torchRound(steps: number, layers: number): Promise<Record<string, number> | null> {
  const env = { ...Deno.env.toObject() };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [
      new URL("./peers/w4_torch.py", import.meta.url).pathname,
      "--steps",
      String(steps),
      "--layers",
      String(layers),
    ],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    console.error(new TextDecoder().decode(out.stderr).slice(-2000));
    return null;
  }
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

manualSeed(0);
const w1a = randn([1024, 1024]), w1b = randn([1024, 1024]);
for (let k = 0; k < 3; k++) await w1Once(w1a, w1b);
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
const times: number[] = [], rates: number[] = [], torchMs: number[] = [];
let torchInfo: Record<string, unknown> | null = null;
const steps = Number(values.steps), rounds = Number(values.rounds);
const oneStep = async (label: string) => {
  const c0 = gpuCounters?.();
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
  const c1 = gpuCounters?.();
  let counts = "";
  if (c0 && c1) {
    stepDispatches.push(c1.dispatches - c0.dispatches);
    stepSubmits.push(c1.submits - c0.submits);
    counts = `, ${stepDispatches.at(-1)} dispatches, ${stepSubmits.at(-1)} submits`;
  }
  log(`  ${label}: ${ms.toFixed(0)} ms, loss ${v.toFixed(4)}${counts}`);
  return ms;
};
for (let s = 0; s < 2; s++) await oneStep(`step ${s} (warm-up)`);
for (let r = 0; r < rounds; r++) {
  for (let s = 0; s < steps; s++) {
    rates.push(await w1Once(w1a, w1b));
    times.push(
      await oneStep(`round ${r + 1} step ${s + 1} (W1 ${rates.at(-1)!.toFixed(1)} GFLOP/s)`),
    );
  }
  if (values.torch) {
    const t = await torchRound(steps, L);
    if (t) {
      torchMs.push(t.msPerStep);
      torchInfo = t;
      log(`  round ${r + 1} PyTorch: ${t.msPerStep.toFixed(0)} ms/step (median of ${steps})`);
    }
  }
}
const w1 = median(rates);
const med = median(times);
const gflops = stepFlops() / (med / 1000) / 1e9;
const rss = (globalThis as { Deno?: { memoryUsage(): { rss: number } } }).Deno?.memoryUsage().rss ??
  0;
const result: Record<string, unknown> = {
  backend: values.backend,
  rounds,
  layers: L,
  msPerStep: med,
  tokensPerSecond: (B * T) / (med / 1000),
  stepGflop: stepFlops() / 1e9,
  achievedGflops: gflops,
  w1Gflops: w1,
  fractionOfW1: gflops / w1,
  peakTensorBytes: peak,
  ...(stepDispatches.length > 0
    ? { dispatchesPerStep: stepDispatches.at(-1), submitsPerStep: stepSubmits.at(-1) }
    : {}),
  rssBytes: rss,
  ...(torchMs.length > 0
    ? {
      torchMsPerStep: median(torchMs),
      torchTokensPerSecond: (B * T) / (median(torchMs) / 1000),
      torchPeakRssBytes: torchInfo?.peakRssBytes,
      torch: torchInfo?.impl,
      torchSpeedRatio: median(torchMs) / med,
    }
    : {}),
};
log(
  `W4: ${med.toFixed(0)} ms/step (median of ${times.length}), ${
    (B * T / (med / 1000)).toFixed(0)
  } tokens/s, ` +
    `${gflops.toFixed(1)} GFLOP/s = ${(gflops / w1).toFixed(2)} of W1; peak tensors ${
      (peak / 2 ** 20).toFixed(0)
    } MiB, RSS ${(rss / 2 ** 20).toFixed(0)} MiB` +
    (stepDispatches.length > 0
      ? `; ${stepDispatches.at(-1)} dispatches and ${stepSubmits.at(-1)} submits per step`
      : ""),
);
if (torchMs.length > 0) {
  log(
    `PyTorch (${torchInfo?.impl}, ${torchInfo?.threads} threads): ${
      median(torchMs).toFixed(0)
    } ms/step, ` +
      `${((B * T) / (median(torchMs) / 1000)).toFixed(0)} tokens/s, peak RSS ${
        ((torchInfo?.peakRssBytes as number) / 2 ** 20).toFixed(0)
      } MiB; this library is ${(median(torchMs) / med).toFixed(2)}× its speed`,
  );
}
opt.dispose();
ids.dispose();
w1a.dispose();
w1b.dispose();

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
