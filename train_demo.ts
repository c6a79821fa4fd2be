/**
 * The demo: pretrain a tiny transformer on one task, then teach it a related
 * task by training LoRA adapters alone, with every base weight frozen.
 *
 * 1. Task A: sort a digit string ascending (`"30721845"` → `"01234578"`).
 *    The model reads the whole string at once and predicts every output
 *    character in one forward pass.
 * 2. Wrap the attention and MLP projections with `lora.wrap` and train only
 *    the adapters on task B: sort descending. The base model scores about 0
 *    on task B; the adapters (about 4% of the parameters) bring it above 90%.
 * 3. Check what LoRA promises: with the adapters switched off the model is
 *    the pretrained one again, and merging the adapters into the weights
 *    changes the outputs by float rounding only.
 * 4. Save the adapter as a PEFT directory, with a plot of the loss curve.
 * 5. With `--adapters 2`: train a second adapter for task C on the same
 *    frozen base, serve B and C (and the base) from one batch with
 *    `lora.routed`, and mix the two adapters with `lora.addWeightedAdapter`.
 *
 * Run `deno task demo` (or `deno run -A train_demo.ts --help`).
 *
 * @module
 */

import { lora, manualSeed, nn, setBackend } from "./mod.ts";
import { HELP, parseDemoArgs, UsageError } from "./demo/cli.ts";
import { type ModelConfig, TinyTransformer } from "./demo/model.ts";
import { randomStrings, Rng, SORT_ASC, SORT_DESC, SORT_ROTATE, VOCAB_SIZE } from "./demo/tasks.ts";
import { secondAdapter, type SecondAdapterResult } from "./demo/adapters.ts";
import { accuracy, logits, maxAbsDiff, predict, train } from "./demo/train.ts";
import { formatSeconds, lossCurveSvg, sparkline } from "./demo/report.ts";
import { count, loraArithmetic, pct, samplesTable } from "./demo/summary.ts";

/** Length of every input and output string. */
const SEQ_LEN = 8;
/** The model: one block, small enough for a fast CPU run. */
const MODEL: ModelConfig = {
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

/** The figures of a run, printed as the last line with `--json`. */
interface RunResult {
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

/** Last name parts of the model's Linear layers (`q_proj`, `lm_head`, …). */
function linearNames(model: TinyTransformer): string[] {
  const names = [...model.namedModules()].filter(([, m]) => m instanceof nn.Linear);
  return [...new Set(names.map(([n]) => n.split(".").pop()!))];
}

/** Targets that match no Linear layer (PEFT's rule: equal, or ends with "." + target). */
function unmatchedTargets(model: TinyTransformer, targets: readonly string[]): string[] {
  const names = [...model.namedModules()].filter(([, m]) => m instanceof nn.Linear)
    .map(([n]) => n);
  return targets.filter((t) => !names.some((n) => n === t || n.endsWith(`.${t}`)));
}

async function main(args: string[]): Promise<number> {
  const started = performance.now();
  let opts;
  try {
    opts = parseDemoArgs(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`train_demo: ${e.message}\n\n${HELP}`);
    return 2;
  }
  if (opts.help) {
    console.log(HELP);
    return 0;
  }
  try {
    await setBackend(opts.backend);
  } catch (e) {
    console.error(`train_demo: ${(e as Error).message}`);
    return 1;
  }
  manualSeed(opts.seed);
  const model = new TinyTransformer(MODEL);
  const missing = unmatchedTargets(model, opts.targets);
  if (missing.length > 0) {
    console.error(
      `train_demo: --targets ${missing.join(",")} match no Linear layer ` +
        `(the model has ${linearNames(model).join(", ")})\n\n${HELP}`,
    );
    return 2;
  }

  const rng = new Rng(opts.seed);
  const test = randomStrings(new Rng(opts.seed + 7919), opts.quick ? 64 : 512, SEQ_LEN);
  const samples = test.slice(0, 5);
  const { trainable: base } = lora.parameterCount(model);
  console.log(
    `Model: ${MODEL.nLayers} transformer block${
      MODEL.nLayers > 1 ? "s" : ""
    }, d_model ${MODEL.dModel}, ${MODEL.nHeads} heads, ` +
      `MLP ${MODEL.dMlp}, ${count(base)} parameters; backend ${opts.backend}, seed ${opts.seed}`,
  );
  const ex = samples[0];
  console.log(`Task A (pretraining): ${SORT_ASC.description}, e.g. ${ex} → ${SORT_ASC.apply(ex)}`);
  console.log(
    `Task B (LoRA only):   ${SORT_DESC.description}, e.g. ${ex} → ${SORT_DESC.apply(ex)}`,
  );
  if (opts.adapters === 2) {
    console.log(
      `Task C (2nd adapter): ${SORT_ROTATE.description}, e.g. ${ex} → ${SORT_ROTATE.apply(ex)}`,
    );
  }
  console.log(`Accuracy: exact match of whole strings on ${test.length} held-out inputs.\n`);

  // 1. Pretrain every weight on task A.
  const phase = { batchSize: BATCH_SIZE, seqLen: SEQ_LEN, rng };
  const pre = await train(model, {
    ...phase,
    params: model.parameters(),
    task: SORT_ASC,
    steps: opts.pretrainSteps,
    lr: PRETRAIN_LR,
    label: "pretrain",
  });
  const baseTaskAccuracy = await accuracy(model, SORT_ASC, test);
  const newTaskAccuracyBefore = await accuracy(model, SORT_DESC, test);
  const before = await predict(model, samples);
  console.log(
    `Base model: task A ${pct(baseTaskAccuracy)}, task B ${pct(newTaskAccuracyBefore)} ` +
      `(${pre.stepsPerSecond.toFixed(1)} steps/s)\n`,
  );

  // 2. Freeze the base, add adapters, train only them on task B.
  lora.wrap(model, opts.targets, opts.rank, opts.alpha, { seed: opts.seed });
  const { trainable, total } = lora.parameterCount(model);
  console.log(`LoRA r=${opts.rank}, alpha=${opts.alpha} (scaling ${opts.alpha / opts.rank}):`);
  for (const line of loraArithmetic(model)) console.log(line);
  const ft = await train(model, {
    ...phase,
    params: model.parameters().filter((p) => p.requiresGrad),
    task: SORT_DESC,
    steps: opts.steps,
    lr: FINETUNE_LR,
    label: "LoRA    ",
  });
  const newTaskAccuracyAfter = await accuracy(model, SORT_DESC, test);
  const after = await predict(model, samples);
  let baseTaskAccuracyAdapterOff;
  {
    using _ = lora.disabled(model);
    baseTaskAccuracyAdapterOff = await accuracy(model, SORT_ASC, test);
  }

  // (--adapters 2) A second adapter for task C, routing and mixing.
  let second: SecondAdapterResult | undefined;
  if (opts.adapters === 2) {
    console.log("");
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
  await lora.save(model, opts.out);
  const probe = test.slice(0, 128);
  const unmerged = await logits(model, probe);
  lora.merge(model);
  const mergeMaxAbsDiff = maxAbsDiff(unmerged, await logits(model, probe));
  lora.unmerge(model);

  const svgPath = `${opts.out.replace(/\/+$/, "")}/loss_curve.svg`;
  await Deno.writeTextFile(
    svgPath,
    lossCurveSvg([
      { label: `pretrain: ${SORT_ASC.name}`, values: pre.losses, color: "#1f77b4" },
      { label: `LoRA: ${SORT_DESC.name}`, values: ft.losses, color: "#d62728" },
      ...(second
        ? [{ label: `LoRA #2: ${SORT_ROTATE.name}`, values: second.run.losses, color: "#2ca02c" }]
        : []),
    ], "Tiny transformer: pretraining, then LoRA fine-tuning"),
  );

  const seconds = (performance.now() - started) / 1000;
  console.log(`
Results
  task A (${SORT_ASC.name}), base model:        ${pct(baseTaskAccuracy)}
  task B (${SORT_DESC.name}), before LoRA:  ${pct(newTaskAccuracyBefore)}
  task B (${SORT_DESC.name}), after LoRA:   ${pct(newTaskAccuracyAfter)}
  task A with adapters off:          ${pct(baseTaskAccuracyAdapterOff)}${
    baseTaskAccuracyAdapterOff === baseTaskAccuracy ? " (same as the base model)" : ""
  }
  trainable / total parameters:      ${count(trainable)} / ${count(total)} (${
    pct(trainable / total)
  })
  max |merged − unmerged| logit:     ${mergeMaxAbsDiff.toExponential(2)}
  speed: pretraining ${pre.stepsPerSecond.toFixed(1)} steps/s, LoRA ${
    ft.stepsPerSecond.toFixed(1)
  } steps/s; total ${formatSeconds(seconds)}
  adapter saved to ${opts.out}/ (adapter_model.safetensors, adapter_config.json)
  loss curve: ${svgPath}
  loss ${sparkline([pre.losses, ft.losses, ...(second ? [second.run.losses] : [])])}

Samples (task B)`);
  for (const line of samplesTable(SORT_DESC, samples, before, after)) console.log(line);
  if (second) {
    console.log("");
    for (const line of second.lines) console.log(line);
  }

  if (opts.json) {
    const result: RunResult = {
      backend: opts.backend,
      baseTaskAccuracy,
      newTaskAccuracyBefore,
      newTaskAccuracyAfter,
      baseTaskAccuracyAdapterOff,
      trainableParams: trainable,
      totalParams: total,
      mergeMaxAbsDiff,
      stepsPerSecond: ft.stepsPerSecond,
      seconds,
      adapterDir: opts.out,
    };
    if (second) {
      result.secondTaskAccuracy = second.accuracy;
      result.routedBatchMatches = second.routedBatchMatches;
    }
    console.log(JSON.stringify(result));
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
