/**
 * The demo's LoRA training step for the long-run memory test and the soak
 * task: the demo's model (`demo/model.ts`), its batches (`demo/tasks.ts`),
 * `nn.crossEntropy`, Adam, everything inside `scope()`.
 *
 * @module
 */
import { lora, manualSeed, nn, noGrad, optim, scope } from "../mod.ts";
import { DEFAULT_TARGETS } from "../demo/cli.ts";
import { type ModelConfig, TinyTransformer } from "../demo/model.ts";
import { encode, makeBatch, randomStrings, Rng, SORT_ASC, SORT_DESC } from "../demo/tasks.ts";
import { learningRate } from "../demo/train.ts";

/** The demo's model (train_demo.ts). */
export const MODEL: ModelConfig = {
  vocabSize: 10,
  maxLen: 8,
  dModel: 64,
  nHeads: 4,
  nLayers: 1,
  dMlp: 256,
};
const SEQ_LEN = 8;

/** One LoRA run in progress: call `next()` per step. */
export interface LoraRun {
  model: TinyTransformer;
  opt: optim.Adam;
  /** Trains one step; returns its loss. Every `predictEvery` steps also predicts. */
  next(): Promise<number>;
  /** Frees the model and the optimizer. */
  dispose(): void;
}

/** The demo's training step: forward, backward, Adam, loss read back. */
export async function step(
  model: TinyTransformer,
  opt: optim.Adam,
  rng: Rng,
  task: typeof SORT_ASC,
  batch: number,
): Promise<number> {
  const loss = scope(() => {
    const { inputs, targets } = makeBatch(task, rng, batch, SEQ_LEN);
    const l = nn.crossEntropy(model.forward(inputs), targets);
    l.backward();
    opt.step();
    opt.zeroGrad();
    return l.detach();
  });
  const value = await loss.item();
  loss.dispose();
  return value;
}

/** Held-out predictions, as demo/train.ts `predict` makes them. */
export async function predictOnce(model: TinyTransformer, inputs: string[]): Promise<void> {
  const ids = noGrad(() => scope(() => model.eval().forward(encode(inputs)).argmax(-1)));
  await ids.data();
  ids.dispose();
  model.train();
}

/**
 * Pretrains the demo model briefly on every weight, wraps it as the demo
 * does (rank 2, alpha 4, all six projections) and returns the LoRA phase.
 */
export async function startLoraRun(
  opts: { batch: number; pretrainSteps: number; steps: number; predictEvery?: number },
): Promise<LoraRun> {
  manualSeed(0);
  const model = new TinyTransformer(MODEL);
  const rng = new Rng(0);
  const heldOut = randomStrings(new Rng(7919), 32, SEQ_LEN);
  const pre = new optim.Adam(model.parameters(), { lr: 3e-3 });
  for (let i = 0; i < opts.pretrainSteps; i++) await step(model, pre, rng, SORT_ASC, opts.batch);
  pre.dispose();
  lora.wrap(model, [...DEFAULT_TARGETS], 2, 4, { seed: 0 });
  const opt = new optim.Adam(model.parameters().filter((p) => p.requiresGrad), { lr: 2e-2 });
  let s = 0;
  return {
    model,
    opt,
    async next() {
      opt.lr = learningRate(s % opts.steps, opts.steps, 2e-2);
      s++;
      const loss = await step(model, opt, rng, SORT_DESC, opts.batch);
      if (opts.predictEvery && s % opts.predictEvery === 0) await predictOnce(model, heldOut);
      return loss;
    },
    dispose() {
      opt.dispose();
      for (const p of model.parameters()) p.dispose();
    },
  };
}
