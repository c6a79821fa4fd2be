/**
 * The demo's `--adapters 2` part: a second adapter for a third task on the
 * same frozen base, both adapters served from one batch with `lora.routed`,
 * and a weighted combination of the two.
 *
 * @module
 */

import { lora, type nn } from "../mod.ts";
import type { Rng, Task } from "./tasks.ts";
import { accuracy, logits, maxAbsDiff, predict, train, type TrainResult } from "./train.ts";
import { pct } from "./summary.ts";

/** The second adapter's name. */
export const SECOND = "task_c";

/** What the second-adapter phase measured. */
export interface SecondAdapterResult {
  /** Task C accuracy with the second adapter active. */
  accuracy: number;
  /** Task C accuracy of the base (adapters off). */
  accuracyBefore: number;
  /** Its training curve and speed. */
  run: TrainResult;
  /** Whether every routed row equals its adapter's own output (|Δ logit| ≤ 1e-4). */
  routedBatchMatches: boolean;
  /** The largest |routed − own| logit. */
  routedMaxDiff: number;
  /** Report lines. */
  lines: string[];
}

/** Settings the phase shares with the first adapter's. */
export interface SecondAdapterOptions {
  targets: string[];
  rank: number;
  alpha: number;
  seed: number;
  steps: number;
  lr: number;
  batchSize: number;
  seqLen: number;
  rng: Rng;
  /** Terminal progress bars. */
  progress?: boolean;
  /** After each step. */
  onStep?: (step: number, loss: number) => unknown;
}

/** Logits of `inputs` with `name` active (`"__base__"`: adapters off). */
async function own(model: nn.Module, name: string, inputs: string[]): Promise<Float32Array> {
  if (name === lora.BASE_ROUTE) {
    using _off = lora.disabled(model);
    return await logits(model, inputs);
  }
  lora.setAdapter(model, name);
  return await logits(model, inputs);
}

/**
 * Trains adapter {@link SECOND} on `taskC`, checks a mixed batch routed row
 * by row against each adapter's own output, and mixes the two adapters with
 * `addWeightedAdapter`. Leaves `"default"` active.
 *
 * @param model The wrapped model (its `"default"` adapter trained on task B).
 * @param tasks Task A (the base's), B (the first adapter's) and C.
 * @param test Held-out inputs.
 * @param o The phase's settings.
 * @returns The figures and report lines.
 */
export async function secondAdapter(
  model: nn.Module,
  tasks: { a: Task; b: Task; c: Task },
  test: string[],
  o: SecondAdapterOptions,
): Promise<SecondAdapterResult> {
  let accuracyBefore;
  {
    using _off = lora.disabled(model);
    accuracyBefore = await accuracy(model, tasks.c, test);
  }
  lora.addAdapter(model, SECOND, {
    targets: o.targets,
    rank: o.rank,
    alpha: o.alpha,
    seed: o.seed + 1,
  });
  lora.setAdapter(model, SECOND); // only its A and B train now
  const run = await train(model, {
    params: model.parameters().filter((p) => p.requiresGrad),
    task: tasks.c,
    steps: o.steps,
    lr: o.lr,
    batchSize: o.batchSize,
    seqLen: o.seqLen,
    rng: o.rng,
    label: "LoRA #2 ",
    progress: o.progress,
    onStep: o.onStep,
  });
  const acc = await accuracy(model, tasks.c, test);

  // One batch, three adapters: row i uses names[i]; the base runs once.
  const names = [lora.DEFAULT_ADAPTER, SECOND, lora.BASE_ROUTE];
  const batch = test.slice(0, 96);
  const rowNames = batch.map((_, i) => names[i % names.length]);
  let routed: Float32Array;
  let answers: string[];
  {
    using _r = lora.routed(model.eval(), rowNames);
    routed = await logits(model, batch, batch.length);
    answers = await predict(model, batch, batch.length);
  }
  const perRow = routed.length / batch.length;
  let worst = 0;
  for (const name of names) {
    const mine = await own(model, name, batch);
    rowNames.forEach((n, i) => {
      if (n !== name) return;
      const at = i * perRow;
      worst = Math.max(
        worst,
        maxAbsDiff(routed.subarray(at, at + perRow), mine.subarray(at, at + perRow)),
      );
    });
  }
  const taskOf: Record<string, Task> = {
    [names[0]]: tasks.b,
    [names[1]]: tasks.c,
    [names[2]]: tasks.a,
  };
  const right = batch.filter((s, i) => answers[i] === taskOf[rowNames[i]].apply(s)).length;

  // A weighted mix of the two adapters (PEFT's add_weighted_adapter, "cat").
  lora.addWeightedAdapter(model, [lora.DEFAULT_ADAPTER, SECOND], [0.5, 0.5], "mix", {
    combination: "cat",
  });
  lora.setAdapter(model, "mix");
  const mixB = await accuracy(model, tasks.b, test), mixC = await accuracy(model, tasks.c, test);
  lora.setAdapter(model, lora.DEFAULT_ADAPTER);

  const lines = [
    `Second adapter "${SECOND}" on the same frozen base, task C (${tasks.c.name}): ` +
    `${pct(accuracyBefore)} → ${pct(acc)}`,
    `One batch of ${batch.length} rows routed per row (${
      names.join(" / ")
    } in turn, base run once):`,
    `  ${right}/${batch.length} rows answered their own task; max |routed − own adapter| logit ` +
    `${worst.toExponential(2)}`,
  ];
  for (let i = 0; i < 3; i++) {
    const s = batch[i], t = taskOf[rowNames[i]];
    lines.push(
      `  ${s} → ${answers[i]} ${answers[i] === t.apply(s) ? "✓" : "✗"}  (${
        rowNames[i]
      }: ${t.name})`,
    );
  }
  lines.push(
    `Mixed adapter 0.5·B + 0.5·C ("cat"): task B ${pct(mixB)}, task C ${pct(mixC)}`,
  );
  return {
    accuracy: acc,
    accuracyBefore,
    run,
    routedBatchMatches: worst <= 1e-4,
    routedMaxDiff: worst,
    lines,
  };
}
