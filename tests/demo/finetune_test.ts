/**
 * `deno task finetune` end to end on the shipped tiny Llama, in quick mode:
 * the loss falls, the adapter is written in PEFT's layout for a causal LM,
 * and bad flags exit 2 with the help.
 */
import assert from "node:assert/strict";
import { runDemo } from "./_demo_run.ts";

const run = (args: string[]) => runDemo(args, "finetune.ts");

Deno.test("finetune --quick --json: the loss falls and a PEFT causal-LM adapter is saved", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await run(["--quick", "--json", "--out", dir]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    const res = JSON.parse(lines[lines.length - 1]);
    assert.ok(
      res.evalLossAfter < res.evalLossBefore - 1,
      `eval ${res.evalLossBefore} → ${res.evalLossAfter}`,
    );
    assert.ok(
      res.trainLossLast < res.trainLossFirst,
      `train ${res.trainLossFirst} → ${res.trainLossLast}`,
    );
    assert.equal(res.steps, 15);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
    assert.equal(config.task_type, "CAUSAL_LM");
    assert.match(config.base_model_name_or_path, /tiny_llama/);
    assert.deepEqual([...config.target_modules].sort(), [
      "down_proj",
      "gate_proj",
      "k_proj",
      "o_proj",
      "q_proj",
      "up_proj",
      "v_proj",
    ]);
    assert.equal(config.r, 8);
    assert.ok((await Deno.stat(`${dir}/adapter_model.safetensors`)).size > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("finetune with a bad flag exits 2 with a message and the help", async () => {
  const r = await run(["--rank", "zero"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^finetune: --rank/);
  assert.match(r.stderr, /Usage: deno task finetune/);
  const h = await run(["--help"]);
  assert.equal(h.code, 0);
  for (
    const f of [
      "--model",
      "--data",
      "--out",
      "--rank",
      "--alpha",
      "--targets",
      "--steps",
      "--batch",
      "--seq",
      "--lr",
      "--grad-accum",
      "--eval-every",
      "--backend",
      "--seed",
      "--json",
      "--save-every",
    ]
  ) {
    assert.ok(h.stdout.includes(f), f);
  }
});
