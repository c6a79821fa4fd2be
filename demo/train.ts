/**
 * Training and evaluation loops of the demo. Every step and every
 * evaluation batch runs inside `scope()`, so the temporaries of the forward
 * and backward passes are freed as soon as the step is done.
 *
 * @module
 */

import { nn, noGrad, optim, scope, type Tensor } from "../mod.ts";
import { decode, encode, makeBatch, type Rng, type Task } from "./tasks.ts";
import { Progress } from "./report.ts";

/** Settings of one training phase. */
export interface TrainOptions {
  /** The parameters to update (those with `requiresGrad`). */
  params: Tensor[];
  /** The task to learn. */
  task: Task;
  /** Number of Adam steps. */
  steps: number;
  /** Peak learning rate. */
  lr: number;
  /** Strings per batch. */
  batchSize: number;
  /** Length of each string. */
  seqLen: number;
  /** Data generator. */
  rng: Rng;
  /** Label of the progress line. */
  label: string;
  /** Print a progress bar (default true; a page passes false). */
  progress?: boolean;
  /** Called after each step with its number (1-based) and loss; awaited. */
  onStep?: (step: number, loss: number) => unknown;
}

/** What a training phase measured. */
export interface TrainResult {
  /** Loss of every step. */
  losses: number[];
  /** Wall time of the phase. */
  seconds: number;
  /** Steps per second. */
  stepsPerSecond: number;
}

/**
 * The learning rate at `step`: a short linear warm-up, then a cosine decay
 * to a tenth of the peak.
 *
 * @param step 0-based step.
 * @param steps Steps in the phase.
 * @param peak Peak rate.
 * @returns The rate.
 */
export function learningRate(step: number, steps: number, peak: number): number {
  const warm = Math.min(1, (step + 1) / Math.min(20, Math.max(1, steps / 10)));
  return peak * warm * (0.1 + 0.45 * (1 + Math.cos((Math.PI * step) / steps)));
}

/**
 * Trains `model` on random batches of a task with Adam, drawing a progress
 * line.
 *
 * @param model The model (its forward maps ids [b, len] to logits [b, len, vocab]).
 * @param o The phase's settings.
 * @returns The loss curve and the speed.
 */
export async function train(model: nn.Module, o: TrainOptions): Promise<TrainResult> {
  const opt = new optim.Adam(o.params, { lr: o.lr });
  const bar = o.progress === false ? null : new Progress(o.label, o.steps);
  const start = performance.now();
  const losses: number[] = [];
  model.train();
  for (let step = 0; step < o.steps; step++) {
    opt.lr = learningRate(step, o.steps, o.lr);
    const loss = scope(() => {
      const { inputs, targets } = makeBatch(o.task, o.rng, o.batchSize, o.seqLen);
      const l = nn.crossEntropy(model.forward(inputs), targets);
      l.backward();
      opt.step();
      opt.zeroGrad();
      return l.detach();
    });
    losses.push(await loss.item());
    loss.dispose();
    bar?.update(step + 1, losses[step]);
    await o.onStep?.(step + 1, losses[step]);
  }
  bar?.done();
  const seconds = (performance.now() - start) / 1000;
  return { losses, seconds, stepsPerSecond: o.steps / seconds };
}

/**
 * Logits of the model for `inputs`, in batches, without recording a graph.
 *
 * @param model The model.
 * @param inputs Equal-length digit strings.
 * @param batchSize Strings per forward pass.
 * @returns Row-major logits [inputs.length, len, vocab].
 */
export async function logits(
  model: nn.Module,
  inputs: readonly string[],
  batchSize = 256,
): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for (let i = 0; i < inputs.length; i += batchSize) {
    const out = noGrad(() =>
      scope(() => model.eval().forward(encode(inputs.slice(i, i + batchSize))))
    );
    parts.push((await out.data()) as Float32Array);
    out.dispose();
  }
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) all.set(p, (at += p.length) - p.length);
  return all;
}

/**
 * The model's answers: the most likely character at every position.
 *
 * @param model The model.
 * @param inputs Equal-length digit strings.
 * @param batchSize Strings per forward pass.
 * @returns One output string per input.
 */
export async function predict(
  model: nn.Module,
  inputs: readonly string[],
  batchSize = 256,
): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < inputs.length; i += batchSize) {
    const ids = noGrad(() =>
      scope(() => model.eval().forward(encode(inputs.slice(i, i + batchSize))).argmax(-1))
    );
    out.push(...decode(await ids.data(), inputs[0].length));
    ids.dispose();
  }
  return out;
}

/**
 * Exact-match accuracy: the share of inputs whose whole output string is
 * right.
 *
 * @param model The model.
 * @param task The task that defines the right answers.
 * @param inputs Held-out strings.
 * @returns A number in [0, 1].
 */
export async function accuracy(
  model: nn.Module,
  task: Task,
  inputs: readonly string[],
): Promise<number> {
  const answers = await predict(model, inputs);
  return answers.filter((a, i) => a === task.apply(inputs[i])).length / inputs.length;
}

/**
 * Largest element-wise |a − b|.
 *
 * @param a First array.
 * @param b Second array, same length.
 * @returns The maximum absolute difference.
 */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
