/**
 * The demo's run, shared by `train_demo.ts` (Deno) and the page in `web/`:
 * pretrain a tiny transformer on task A, wrap it with LoRA, train only the
 * adapters on task B, check the adapter-off and merge promises. Where text
 * goes, how steps are reported and where the adapter is saved are hooks,
 * so both hosts run exactly this code (and get the same numbers for the
 * same seed and backend).
 *
 * @module
 */

import { lora, manualSeed, nn, setBackend } from "../mod.ts";
import type { DemoOptions } from "./cli.ts";
import { type ModelConfig, TinyTransformer } from "./model.ts";
import { randomStrings, Rng, SORT_ASC, SORT_DESC, SORT_ROTATE, VOCAB_SIZE } from "./tasks.ts";
import { secondAdapter, type SecondAdapterResult } from "./adapters.ts";
import { accuracy, logits, maxAbsDiff, predict, train } from "./train.ts";
import { count, loraArithmetic, pct } from "./summary.ts";

/** Length of every input and output string. */
export const SEQ_LEN = 8;
/** The model: one block, small enough for a fast CPU run. */
export const MODEL: ModelConfig = {
  vocabSize: VOCAB_SIZE,
  maxLen: SEQ_LEN,
  dModel: 64,
  nHeads: 4,
  nLayers: 1,
  dMlp: 256,
};
const BATCH_SIZE = 32;
const PRETRAIN_LR = 3e-3;
/** Adapters start at zero and are few: a higher rate suits them. */
const FINETUNE_LR = 2e-2;

/** The figures of a run (`train_demo.ts --json` prints this object). */
export interface RunResult {
  backend: string;
  baseTaskAccuracy: number;
  newTaskAccuracyBefore: number;
  newTaskAccuracyAfter: number;
  baseTaskAccuracyAdapterOff: number;
  trainableParams: number;
  totalParams: number;
  mergeMaxAbsDiff: number;
  stepsPerSecond: number;
  seconds: number;
  adapterDir: string;
  /** Task C accuracy of the second adapter (`--adapters 2` only). */
  secondTaskAccuracy?: number;
  /** Whether each routed row equals its adapter's own output (`--adapters 2` only). */
  routedBatchMatches?: boolean;
}

/** Where a run reports to; every hook is optional. */
export interface DemoHooks {
  /** A line of the report (default `console.log`). */
  log?(line: string): void;
  /** After each step; awaited (a page yields here to draw). */
  onStep?(phase: "pretrain" | "lora", step: number, loss: number): unknown;
  /** Terminal progress bars (Deno) instead of nothing. */
  progress?: boolean;
  /**
   * Saves the trained adapter; returns where it went (default: nowhere,
   * `adapterDir` is then "").
   */
  save?(model: nn.Module): Promise<string>;
}

/** Everything a run produced, for the host to show. */
export interface DemoRun {
  /** The figures. */
  result: RunResult;
  /** The loss of every pretraining and every LoRA step. */
  losses: { pretrain: number[]; lora: number[] };
  /** Sample inputs with the base model's and the adapted model's answers on task B. */
  samples: { inputs: string[]; before: string[]; after: string[] };
  /** The LoRA parameter arithmetic (report lines). */
  arithmetic: string[];
  /** The trained, wrapped model (adapters unmerged). */
  model: TinyTransformer;
  /** Pretraining speed (the result's `stepsPerSecond` is LoRA's). */
  pretrainStepsPerSecond: number;
  /** The second adapter's phase (`adapters: 2` only). */
  second?: SecondAdapterResult;
}

/** Last name parts of the model's Linear layers (`q_proj`, `lm_head`, …). */
export function linearNames(model: nn.Module): string[] {
  const names = [...model.namedModules()].filter(([, m]) => m instanceof nn.Linear);
  return [...new Set(names.map(([n]) => n.split(".").pop()!))];
}

/** Targets that match no Linear layer (PEFT's rule: equal, or ends with "." + target). */
export function unmatchedTargets(model: nn.Module, targets: readonly string[]): string[] {
  const names = [...model.namedModules()].filter(([, m]) => m instanceof nn.Linear)
    .map(([n]) => n);
  return targets.filter((t) => !names.some((n) => n === t || n.endsWith(`.${t}`)));
}

/** Builds the demo's model (after seeding), for hosts that check targets first. */
export function demoModel(seed: number): TinyTransformer {
  manualSeed(seed);
  return new TinyTransformer(MODEL);
}

/**
 * Runs the demo on `opts.backend` (set here) with `opts`' steps, rank,
 * alpha, targets and seed.
 *
 * @throws {RangeError} When a target matches no Linear layer (naming it).
 */
export async function runDemo(
  opts: Omit<DemoOptions, "out" | "json" | "help" | "adapters"> & { adapters?: 1 | 2 },
  hooks: DemoHooks = {},
): Promise<DemoRun> {
  const started = performance.now();
  const log = hooks.log ?? ((s: string) => console.log(s));
  await setBackend(opts.backend);
  const model = demoModel(opts.seed);
  const missing = unmatchedTargets(model, opts.targets);
  if (missing.length > 0) {
    throw new RangeError(
      `targets ${missing.join(",")} match no Linear layer ` +
        `(the model has ${linearNames(model).join(", ")})`,
    );
  }
  const rng = new Rng(opts.seed);
  const test = randomStrings(new Rng(opts.seed + 7919), opts.quick ? 64 : 512, SEQ_LEN);
  const inputs = test.slice(0, 5);
  const { trainable: base } = lora.parameterCount(model);
  log(
    `Model: ${MODEL.nLayers} transformer block${MODEL.nLayers > 1 ? "s" : ""}, ` +
      `d_model ${MODEL.dModel}, ${MODEL.nHeads} heads, MLP ${MODEL.dMlp}, ` +
      `${count(base)} parameters; backend ${opts.backend}, seed ${opts.seed}`,
  );
  const ex = inputs[0];
  log(`Task A (pretraining): ${SORT_ASC.description}, e.g. ${ex} → ${SORT_ASC.apply(ex)}`);
  log(`Task B (LoRA only):   ${SORT_DESC.description}, e.g. ${ex} → ${SORT_DESC.apply(ex)}`);
  if (opts.adapters === 2) {
    log(`Task C (2nd adapter): ${SORT_ROTATE.description}, e.g. ${ex} → ${SORT_ROTATE.apply(ex)}`);
  }
  log(`Accuracy: exact match of whole strings on ${test.length} held-out inputs.\n`);

  // 1. Pretrain every weight on task A.
  const phase = { batchSize: BATCH_SIZE, seqLen: SEQ_LEN, rng, progress: hooks.progress ?? false };
  const pre = await train(model, {
    ...phase,
    params: model.parameters(),
    task: SORT_ASC,
    steps: opts.pretrainSteps,
    lr: PRETRAIN_LR,
    label: "pretrain",
    onStep: hooks.onStep && ((s, l) => hooks.onStep!("pretrain", s, l)),
  });
  const baseTaskAccuracy = await accuracy(model, SORT_ASC, test);
  const newTaskAccuracyBefore = await accuracy(model, SORT_DESC, test);
  const before = await predict(model, inputs);
  log(
    `Base model: task A ${pct(baseTaskAccuracy)}, task B ${pct(newTaskAccuracyBefore)} ` +
      `(${pre.stepsPerSecond.toFixed(1)} steps/s)\n`,
  );

  // 2. Freeze the base, add adapters, train only them on task B.
  lora.wrap(model, opts.targets, opts.rank, opts.alpha, { seed: opts.seed });
  const { trainable, total } = lora.parameterCount(model);
  const arithmetic = loraArithmetic(model);
  log(`LoRA r=${opts.rank}, alpha=${opts.alpha} (scaling ${opts.alpha / opts.rank}):`);
  for (const line of arithmetic) log(line);
  const ft = await train(model, {
    ...phase,
    params: model.parameters().filter((p) => p.requiresGrad),
    task: SORT_DESC,
    steps: opts.steps,
    lr: FINETUNE_LR,
    label: "LoRA    ",
    onStep: hooks.onStep && ((s, l) => hooks.onStep!("lora", s, l)),
  });
  const newTaskAccuracyAfter = await accuracy(model, SORT_DESC, test);
  const after = await predict(model, inputs);
  let baseTaskAccuracyAdapterOff;
  {
    using _ = lora.disabled(model);
    baseTaskAccuracyAdapterOff = await accuracy(model, SORT_ASC, test);
  }

  // (adapters: 2) A second adapter for task C, routing and mixing.
  let second: SecondAdapterResult | undefined;
  if (opts.adapters === 2) {
    log("");
    second = await secondAdapter(model, { a: SORT_ASC, b: SORT_DESC, c: SORT_ROTATE }, test, {
      ...phase,
      targets: opts.targets,
      rank: opts.rank,
      alpha: opts.alpha,
      seed: opts.seed,
      steps: opts.steps,
      lr: FINETUNE_LR,
    });
  }

  // 3. Save the adapter, then check that merging it changes nothing.
  const adapterDir = hooks.save ? await hooks.save(model) : "";
  const probe = test.slice(0, 128);
  const unmerged = await logits(model, probe);
  lora.merge(model);
  const mergeMaxAbsDiff = maxAbsDiff(unmerged, await logits(model, probe));
  lora.unmerge(model);

  return {
    result: {
      backend: opts.backend,
      baseTaskAccuracy,
      newTaskAccuracyBefore,
      newTaskAccuracyAfter,
      baseTaskAccuracyAdapterOff,
      trainableParams: trainable,
      totalParams: total,
      mergeMaxAbsDiff,
      stepsPerSecond: ft.stepsPerSecond,
      seconds: (performance.now() - started) / 1000,
      adapterDir,
      ...(second
        ? { secondTaskAccuracy: second.accuracy, routedBatchMatches: second.routedBatchMatches }
        : {}),
    },
    losses: { pretrain: pre.losses, lora: ft.losses },
    samples: { inputs, before, after },
    arithmetic,
    model,
    pretrainStepsPerSecond: pre.stepsPerSecond,
    second,
  };
}
