/**
 * `deno run -A bench/op_profile.ts [--layers 4] [--steps 2] [--top 30]`:
 * where a W4 step (bench/w4_bench.ts's model: SmolLM2-135M-shaped Llama,
 * LoRA r=8 on all seven projections, batch 4 × 128) spends its time on the
 * CPU backend, by backend call (op, and shape and strides of its first
 * tensor when it has over 10k elements). The backend is synchronous, so a
 * call's wall time is its cost; worker threads are inside it.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { lora, manualSeed, models, optim, scope, tensor } from "../mod.ts";
import { initBackend } from "../backends/mod.ts";
import { W4_TARGETS, w4Config } from "./_workloads.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    layers: { type: "string", default: "4" },
    steps: { type: "string", default: "2" },
    top: { type: "string", default: "30" },
  },
});
// deno-lint-ignore no-explicit-any
const be: any = await initBackend("cpu");
const stats = new Map<string, [number, number]>();

// deno-lint-ignore no-explicit-any
function wrap(obj: any, name: string, label: string): void {
  const f = obj[name];
  if (typeof f !== "function") return;
  // deno-lint-ignore no-explicit-any
  obj[name] = function (this: unknown, ...a: any[]) {
    const t0 = performance.now();
    try {
      return f.apply(this, a);
    } finally {
      const v = a.find((x) => x && x.shape);
      const size = v ? v.shape.reduce((p: number, q: number) => p * q, 1) : 0;
      const key = label + (typeof a[0] === "string" ? `:${a[0]}` : "") +
        (size > 1e4 ? ` [${v.shape}] s[${v.strides}]` : "");
      const s = stats.get(key) ?? [0, 0];
      s[0] += performance.now() - t0;
      s[1]++;
      stats.set(key, s);
    }
  };
}
for (const k of Object.getOwnPropertyNames(Object.getPrototypeOf(be))) {
  if (k !== "constructor") wrap(be, k, k);
}
for (const k of Object.keys(be.fused ?? {})) wrap(be.fused, k, `fused.${k}`);

const L = Number(values.layers), steps = Number(values.steps);
manualSeed(0);
const model = new models.LlamaForCausalLM(w4Config(L));
lora.wrap(model, W4_TARGETS, 8, 16);
model.train();
const opt = new optim.AdamW(model.parameters().filter((p) => p.requiresGrad), { lr: 1e-4 });
const ids = tensor(
  Array.from(
    { length: 4 },
    (_, b) => Array.from({ length: 128 }, (_, t) => (b * 7919 + t * 104729) % 49152),
  ),
  { dtype: "int32" },
);
let total = 0;
for (let s = 0; s < steps + 1; s++) {
  if (s === 1) stats.clear();
  const t0 = performance.now();
  const loss = scope(() => {
    const l = models.causalLmLoss(model.forward(ids), ids);
    l.backward();
    opt.step();
    opt.zeroGrad();
    return l.detach();
  });
  loss.dataSync();
  loss.dispose();
  if (s >= 1) total += performance.now() - t0;
}
const rows = [...stats].sort((a, b) => b[1][0] - a[1][0]);
const inCalls = [...stats.values()].reduce((a, b) => a + b[0], 0);
console.log(
  `${L} layers: ${(total / steps).toFixed(0)} ms/step, ${
    (inCalls / steps).toFixed(0)
  } ms in backend calls`,
);
for (const [k, [t, n]] of rows.slice(0, Number(values.top))) {
  console.log(`${(t / steps).toFixed(1).padStart(8)} ms  ${String(n / steps).padStart(4)}×  ${k}`);
}
