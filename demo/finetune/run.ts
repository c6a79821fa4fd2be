/**
 * One finetune run: load the checkpoint and tokenizer, read and split the
 * data, evaluate and sample before, LoRA-train with warm-up and cosine
 * decay (gradient accumulation, periodic eval and saves), evaluate and
 * sample after, save the adapter in PEFT's layout.
 *
 * @module
 */
import { lora, manualSeed, models, noGrad, optim, scope, setBackend } from "../../mod.ts";
import type { FinetuneOptions } from "./cli.ts";
import { batchOf, type Example, examplesFrom, split } from "./data.ts";

/** The figures of a run (the `--json` line). */
export interface FinetuneResult {
  backend: string;
  model: string;
  steps: number;
  trainExamples: number;
  evalExamples: number;
  trainableParams: number;
  totalParams: number;
  evalLossBefore: number;
  evalLossAfter: number;
  perplexityBefore: number;
  perplexityAfter: number;
  trainLossFirst: number;
  trainLossLast: number;
  tokensPerSecond: number;
  seconds: number;
  sampleBefore: string;
  sampleAfter: string;
  adapterDir: string;
}

type Say = (line: string) => void;

async function evalLoss(model: models.CausalLM, xs: Example[], batch: number, pad: number) {
  let sum = 0, count = 0;
  for (let i = 0; i < xs.length; i += batch) {
    const part = xs.slice(i, i + batch);
    const b = batchOf(part, pad);
    const loss = noGrad(() =>
      scope(() => {
        const logits = model.forward(b.ids, { attentionMask: b.attentionMask });
        return models.causalLmLoss(logits, b.ids, {
          attentionMask: b.attentionMask,
          lossMask: b.lossMask,
        });
      })
    );
    const n = part.reduce((p, x) => p + x.learn.slice(1).reduce((a, v) => a + v, 0), 0);
    sum += (await loss.item()) * n;
    count += n;
    for (const t of [loss, b.ids, b.attentionMask, b.lossMask]) t.dispose();
  }
  return sum / Math.max(count, 1);
}

async function sample(model: models.CausalLM, tok: models.Tokenizer, prompt: number[]) {
  const [out] = await models.generate(model, [prompt], {
    maxNewTokens: 16,
    eosTokenId: tok.eosTokenId ?? undefined,
  });
  return tok.decode(out, { skipSpecialTokens: true });
}

function learningRate(step: number, total: number, peak: number): number {
  const warm = Math.max(1, Math.round(total * 0.1));
  if (step < warm) return (peak * (step + 1)) / warm;
  return (peak * 0.5) * (1 + Math.cos((Math.PI * (step - warm)) / Math.max(1, total - warm)));
}

/** Runs the fine-tune; `say` prints progress (silent with --json). */
export async function finetune(o: FinetuneOptions, say: Say): Promise<FinetuneResult> {
  const t0 = performance.now();
  await setBackend(o.backend);
  manualSeed(o.seed);
  const model = await models.fromPretrained(o.model);
  const tok = await models.Tokenizer.fromPretrained(o.model);
  if (!o.data) throw new Error("--data is required with --model");
  const text = await Deno.readTextFile(o.data);
  const all = examplesFrom(o.data, text, tok, o.seq);
  if (all.length < 2) throw new Error(`${o.data}: too little data (${all.length} examples)`);
  const { train, eval: held } = split(all, 0.1, o.seed + 1);
  const pad = tok.eosTokenId ?? 0;
  say(
    `model ${o.model} (${model.config.model_type}), data ${o.data}: ${train.length} training / ${held.length} held-out examples`,
  );
  const promptOf = (x: Example) => x.ids.slice(0, Math.max(1, x.learn.indexOf(1)));
  const probe = promptOf(held[0]);
  const before = await evalLoss(model, held, o.batch, pad);
  const sampleBefore = await sample(model, tok, probe);
  say(`before: eval loss ${before.toFixed(4)}, perplexity ${Math.exp(before).toFixed(2)}`);
  say(`  sample: ${JSON.stringify(tok.decode(probe))} → ${JSON.stringify(sampleBefore)}`);

  lora.wrap(model, o.targets, o.rank, o.alpha, { seed: o.seed });
  const count = lora.parameterCount(model);
  say(
    `LoRA r=${o.rank} alpha=${o.alpha} on ${o.targets.join(",")}: ${
      count.trainable.toLocaleString("en-US")
    } trainable of ${count.total.toLocaleString("en-US")}`,
  );
  model.train();
  const opt = new optim.AdamW(model.parameters().filter((p) => p.requiresGrad), {
    lr: o.lr,
    weightDecay: 0,
  });
  let cursor = 0, tokens = 0, first = NaN, last = NaN;
  const trainStart = performance.now();
  for (let step = 0; step < o.steps; step++) {
    opt.lr = learningRate(step, o.steps, o.lr);
    let stepLoss = 0;
    for (let m = 0; m < o.gradAccum; m++) {
      const part = Array.from({ length: o.batch }, () => train[cursor++ % train.length]);
      const b = batchOf(part, pad);
      tokens += b.tokens;
      const loss = scope(() => {
        const logits = model.forward(b.ids, { attentionMask: b.attentionMask });
        const l = models.causalLmLoss(logits, b.ids, {
          attentionMask: b.attentionMask,
          lossMask: b.lossMask,
        }).div(o.gradAccum);
        l.backward();
        return l.detach();
      });
      stepLoss += await loss.item();
      for (const t of [loss, b.ids, b.attentionMask, b.lossMask]) t.dispose();
    }
    opt.step();
    opt.zeroGrad();
    if (step === 0) first = stepLoss;
    last = stepLoss;
    const secs = (performance.now() - trainStart) / 1000;
    const bar = "█".repeat(Math.round((20 * (step + 1)) / o.steps)).padEnd(20, "·");
    say(
      `\r  ${bar} step ${step + 1}/${o.steps} loss ${stepLoss.toFixed(4)} ${
        (tokens / secs).toFixed(0)
      } tok/s`,
    );
    if (o.evalEvery > 0 && (step + 1) % o.evalEvery === 0 && step + 1 < o.steps) {
      model.eval();
      say(
        `\n  step ${step + 1}: eval loss ${(await evalLoss(model, held, o.batch, pad)).toFixed(4)}`,
      );
      model.train();
    }
    if (o.saveEvery > 0 && (step + 1) % o.saveEvery === 0) await lora.save(model, o.out);
  }
  say("\n");
  const trainSecs = (performance.now() - trainStart) / 1000;
  opt.dispose();
  model.eval();
  const after = await evalLoss(model, held, o.batch, pad);
  const sampleAfter = await sample(model, tok, probe);
  say(`after: eval loss ${after.toFixed(4)}, perplexity ${Math.exp(after).toFixed(2)}`);
  say(`  sample: ${JSON.stringify(tok.decode(probe))} → ${JSON.stringify(sampleAfter)}`);
  await lora.save(model, o.out);
  say(`adapter saved to ${o.out} (PEFT: adapter_model.safetensors, adapter_config.json)`);
  return {
    backend: o.backend,
    model: o.model,
    steps: o.steps,
    trainExamples: train.length,
    evalExamples: held.length,
    trainableParams: count.trainable,
    totalParams: count.total,
    evalLossBefore: before,
    evalLossAfter: after,
    perplexityBefore: Math.exp(before),
    perplexityAfter: Math.exp(after),
    trainLossFirst: first,
    trainLossLast: last,
    tokensPerSecond: tokens / trainSecs,
    seconds: (performance.now() - t0) / 1000,
    sampleBefore,
    sampleAfter,
    adapterDir: o.out,
  };
}
