import assert from "node:assert/strict";
import { parseDemoArgs, UsageError } from "../../demo/cli.ts";
import { lossCurveSvg, sparkline } from "../../demo/report.ts";
import { SORT_ASC, SORT_DESC, SORT_ROTATE } from "../../demo/tasks.ts";

import { checkDemoRun, runDemo, SECOND_KEYS } from "./_demo_run.ts";

Deno.test("train_demo --quick --json ends with the run's figures and saves the adapter", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/adapter`;
    const r = await runDemo(["--quick", "--json", "--out", out]);
    await checkDemoRun(r, "cpu", out);
    const config = JSON.parse(await Deno.readTextFile(`${out}/adapter_config.json`));
    assert.equal(config.peft_type, "LORA");
    assert.equal(config.r, 2);
    const svg = await Deno.readTextFile(`${out}/loss_curve.svg`);
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal(svg.match(/<polyline /g)?.length, 2);
    assert.match(r.stdout, /loss [▁▂▃▄▅▆▇█]+│[▁▂▃▄▅▆▇█]+/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the full demo meets the README's accuracy claims (seed 0)", async () => {
  // The default run (400 pretraining + 300 LoRA steps, ~16 s). The quick
  // mode only smoke-tests: its accuracies are near 0, where "adapter off
  // equals base" holds as 0 = 0 even for a lora.disabled that does nothing.
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/adapter`;
    const r = await runDemo(["--json", "--out", out, "--seed", "0"]);
    const result = await checkDemoRun(r, "cpu", out);
    const acc = (k: string) => result[k] as number;
    assert.ok(acc("baseTaskAccuracy") >= 0.97, `task A, base: ${acc("baseTaskAccuracy")}`);
    assert.ok(
      acc("newTaskAccuracyBefore") <= 0.02,
      `task B before: ${acc("newTaskAccuracyBefore")}`,
    );
    assert.ok(
      acc("newTaskAccuracyAfter") >= 0.9,
      `task B after LoRA: ${acc("newTaskAccuracyAfter")}`,
    );
    // Adapters off: the base model's answers exactly (and not trivially 0).
    assert.equal(acc("baseTaskAccuracyAdapterOff"), acc("baseTaskAccuracy"));
    assert.equal(result.trainableParams, 2304);
    assert.equal(result.totalParams, 54218);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train_demo --adapters 2 --quick --json adds the second adapter's figures", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/adapter`;
    const r = await runDemo(["--quick", "--json", "--adapters", "2", "--out", out]);
    const result = await checkDemoRun(r, "cpu", out, SECOND_KEYS);
    assert.equal(result.routedBatchMatches, true);
    assert.ok((result.secondTaskAccuracy as number) >= 0);
    // PEFT's save_pretrained layout: the default adapter in out, others in out/<name>.
    for (const sub of ["task_c", "mix"]) {
      const config = JSON.parse(await Deno.readTextFile(`${out}/${sub}/adapter_config.json`));
      assert.equal(config.peft_type, "LORA");
    }
    assert.match(r.stdout, /Task C \(2nd adapter\): sort the digits ascending, then move/);
    assert.match(r.stdout, /One batch of \d+ rows routed per row/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the full --adapters 2 demo trains task C on the same frozen base (seed 0)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/adapter`;
    const r = await runDemo(["--json", "--adapters", "2", "--out", out, "--seed", "0"]);
    const result = await checkDemoRun(r, "cpu", out, SECOND_KEYS);
    // The first adapter's figures are the default run's: the second adapter
    // leaves the base and the first adapter as they were.
    assert.ok((result.newTaskAccuracyAfter as number) >= 0.9);
    assert.equal(result.baseTaskAccuracyAdapterOff, result.baseTaskAccuracy);
    assert.ok(
      (result.secondTaskAccuracy as number) >= 0.75,
      `task C: ${result.secondTaskAccuracy}`,
    );
    assert.equal(result.routedBatchMatches, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (
  const [args, needle] of [
    [["--bogus"], "bogus"],
    [["--rank", "four"], "--rank"],
    [["--backend", "tpu"], "--backend"],
    [["--steps", "-3"], "--steps"],
    [["--targets", "nope_proj"], "nope_proj"],
    [["--adapters", "3"], "--adapters"],
    [["extra"], "extra"],
  ] as const
) {
  Deno.test(`train_demo ${args.join(" ")} exits 2 with a one-line message and the help`, async () => {
    const r = await runDemo([...args]);
    assert.equal(r.code, 2);
    const [first, second] = r.stderr.split("\n");
    assert.match(first, /^train_demo: /);
    assert.ok(first.includes(needle), first);
    assert.equal(second, "");
    assert.match(r.stderr, /Usage: deno run -A train_demo\.ts/);
    assert.equal(r.stdout, "");
  });
}

Deno.test("train_demo --help exits 0 and lists every flag", async () => {
  const r = await runDemo(["--help"]);
  assert.equal(r.code, 0);
  for (
    const flag of ["--backend", "--rank", "--alpha", "--targets", "--steps", "--seed", "--out"]
  ) {
    assert.ok(r.stdout.includes(flag), flag);
  }
  assert.ok(r.stdout.includes("--json") && r.stdout.includes("--quick"));
});

Deno.test("parseDemoArgs() fills defaults and alpha = 2·rank", () => {
  const o = parseDemoArgs([]);
  assert.equal(o.backend, "cpu");
  assert.equal(o.rank, 2);
  assert.equal(o.alpha, 4);
  assert.deepEqual(o.targets, ["q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"]);
  assert.equal(o.out, "./lora_adapter");
  const p = parseDemoArgs(["--rank=8", "--targets", "q_proj, v_proj", "--steps", "5", "--quick"]);
  assert.deepEqual([p.rank, p.alpha, p.steps, p.pretrainSteps], [8, 16, 5, 30]);
  assert.deepEqual(p.targets, ["q_proj", "v_proj"]);
  assert.throws(() => parseDemoArgs(["--alpha", "0"]), UsageError);
  assert.throws(() => parseDemoArgs(["--seed", "1.5"]), UsageError);
  assert.equal(o.adapters, 1);
  assert.equal(parseDemoArgs(["--adapters", "2"]).adapters, 2);
});

Deno.test("tasks: sort ascending, descending and rotated", () => {
  assert.equal(SORT_ASC.apply("30721845"), "01234578");
  assert.equal(SORT_DESC.apply("30721845"), "87543210");
  assert.equal(SORT_ROTATE.apply("30721845"), "12345780");
});

Deno.test("sparkline() and lossCurveSvg() draw every phase", () => {
  const line = sparkline([[2, 1, 0.5, 0.1], [1, 0.01]], 6);
  assert.match(line, /^█[▁▂▃▄▅▆▇█]*│[▁▂▃▄▅▆▇█]+▁$/);
  const svg = lossCurveSvg([
    { label: "a<b", values: [2, 1], color: "red" },
    { label: "c", values: [0.5], color: "blue" },
  ], "t");
  assert.ok(svg.includes("a&lt;b") && svg.includes("training step"));
  assert.equal(svg.match(/<polyline /g)?.length, 2);
});
