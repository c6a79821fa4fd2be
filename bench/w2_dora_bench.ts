/**
 * W2 (shared/WORKLOADS.md: one LoRA fine-tuning step of the 1024→4096→1024
 * MLP) with plain LoRA and with DoRA (`useDora`), in the same process, so
 * the ratio DoRA / LoRA is measured under the same conditions. PEFT's DoRA
 * forms B·A and W + s·B·A for the weight norm each step; this library
 * computes the norm from one thin GEMM W·Aᵀ and W's row norms.
 *
 * Run: `deno run -A bench/w2_dora_bench.ts [--rounds 3] [--threads 2] [--backend cpu] [--json]`.
 * Each round prepares both, runs 3 warm-up steps of each, then 20 timed
 * steps alternating LoRA and DoRA (median each); the figure is the median
 * over rounds of the per-round ratio.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { lora, nn, optim, scope, setBackend, type Tensor, tensor } from "../mod.ts";
import { setNumThreads } from "../backends/cpu/wasm/mod.ts";
import { median } from "./_workloads.ts";
import { W2_SHAPE, W2_TIMED, W2_WARMUP, type W2Data, w2Data } from "./peers/_harness.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "3" },
    threads: { type: "string", default: "2" },
    backend: { type: "string", default: "cpu" },
    json: { type: "boolean", default: false },
  },
});
await setBackend(String(values.backend));
if (values.backend === "cpu") setNumThreads(Number(values.threads));

/** One prepared W2 training state; `step` resolves to the loss read back. */
function prepare(d: W2Data, useDora: boolean): { step(): Promise<number>; dispose(): void } {
  const { d: D, h: H, rank: R, alpha } = W2_SHAPE;
  class Mlp extends nn.Module {
    fc1 = new nn.Linear(D, H);
    fc2 = new nn.Linear(H, D);
    forward(x: Tensor): Tensor {
      return this.fc2.forward(this.fc1.forward(x).relu());
    }
  }
  const net = new Mlp();
  net.fc1.weight.assign(tensor(d.W1, { shape: [H, D] }));
  net.fc1.bias!.assign(tensor(d.b1, { shape: [H] }));
  net.fc2.weight.assign(tensor(d.W2, { shape: [D, H] }));
  net.fc2.bias!.assign(tensor(d.b2, { shape: [D] }));
  lora.wrap(net, ["fc1", "fc2"], R, alpha, { useDora });
  const l1 = net.fc1 as unknown as lora.LoraLinear, l2 = net.fc2 as unknown as lora.LoraLinear;
  l1.loraA.assign(tensor(d.A1, { shape: [R, D] }));
  l2.loraA.assign(tensor(d.A2, { shape: [R, H] }));
  const trainable = net.parameters().filter((p) => p.requiresGrad);
  const opt = new optim.Adam(trainable, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8 });
  const x = tensor(d.x, { shape: [d.batch, D] }), y = tensor(d.y, { shape: [d.batch, D] });
  return {
    async step() {
      const loss = scope(() => {
        opt.zeroGrad();
        const l = nn.mseLoss(net.forward(x), y);
        l.backward();
        opt.step();
        return l;
      });
      const v = (await loss.data())[0];
      loss.dispose();
      return v;
    },
    dispose() {
      x.dispose();
      y.dispose();
      for (const p of net.parameters()) p.dispose();
    },
  };
}

/**
 * One round: both models prepared, 3 warm-up steps each, then 20 timed
 * steps alternating LoRA and DoRA (so machine load hits both alike).
 */
async function round(d: W2Data): Promise<{ lora: number; dora: number; first: [number, number] }> {
  const p = [prepare(d, false), prepare(d, true)];
  const first: [number, number] = [NaN, NaN];
  for (let i = 0; i < W2_WARMUP; i++) {
    for (let k = 0; k < 2; k++) {
      const l = await p[k].step();
      if (i === 0) first[k] = l;
    }
  }
  const times: number[][] = [[], []];
  for (let i = 0; i < W2_TIMED; i++) {
    for (let k = 0; k < 2; k++) {
      const t0 = performance.now();
      await p[k].step();
      times[k].push(performance.now() - t0);
    }
  }
  for (const q of p) q.dispose();
  return { lora: median(times[0]), dora: median(times[1]), first };
}

const data = w2Data();
const rows: { lora: number; dora: number; ratio: number }[] = [];
let firsts: [number, number] = [NaN, NaN];
for (let r = 0; r < Number(values.rounds); r++) {
  const { lora: a, dora: b, first } = await round(data);
  firsts = first;
  rows.push({ lora: a, dora: b, ratio: b / a });
  if (!values.json) {
    console.log(
      `round ${r + 1}: LoRA ${a.toFixed(1)} ms/step, DoRA ${b.toFixed(1)} ms/step, ratio ${
        (b / a).toFixed(3)
      }`,
    );
  }
}
const summary = {
  backend: values.backend,
  threads: Number(values.threads),
  loraMs: median(rows.map((r) => r.lora)),
  doraMs: median(rows.map((r) => r.dora)),
  ratio: median(rows.map((r) => r.ratio)),
  // A fresh DoRA adapter computes what the base does: both first losses are W2's 0.350971.
  firstLoss: { lora: firsts[0], dora: firsts[1] },
};
if (values.json) console.log(JSON.stringify(summary));
else {
  console.log(
    `median: LoRA ${summary.loraMs.toFixed(1)} ms/step, DoRA ${
      summary.doraMs.toFixed(1)
    } ms/step, ` +
      `DoRA/LoRA ${summary.ratio.toFixed(3)} (first losses ${
        firsts.map((v) => v.toFixed(6)).join(", ")
      })`,
  );
}
