/**
 * Shared by the demo tests: run `train_demo.ts` in a subprocess, and check
 * the `--json` line and the files a run leaves, on any backend.
 *
 * @module
 */
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url);

/** Runs `deno run -A <script> ...args` from the repository root (train_demo.ts by default). */
export async function runDemo(
  args: string[],
  script = "train_demo.ts",
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The `--json` line's keys and their types, exactly. */
export const KEYS: Record<string, "string" | "number"> = {
  backend: "string",
  baseTaskAccuracy: "number",
  newTaskAccuracyBefore: "number",
  newTaskAccuracyAfter: "number",
  baseTaskAccuracyAdapterOff: "number",
  trainableParams: "number",
  totalParams: "number",
  mergeMaxAbsDiff: "number",
  stepsPerSecond: "number",
  seconds: "number",
  adapterDir: "string",
};

/** The keys `--adapters 2` adds to the `--json` line. */
export const SECOND_KEYS: Record<string, "number" | "boolean"> = {
  secondTaskAccuracy: "number",
  routedBatchMatches: "boolean",
};

/**
 * Checks a successful `--quick --json` run: the last line's keys, types and
 * invariants, and the three files in `out`. Returns the parsed line.
 */
export async function checkDemoRun(
  r: { code: number; stdout: string; stderr: string },
  backend: string,
  out: string,
  extra: Record<string, string> = {},
): Promise<Record<string, number | string | boolean>> {
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  const result = JSON.parse(lines[lines.length - 1]);
  const keys: Record<string, string> = { ...KEYS, ...extra };
  assert.deepEqual(Object.keys(result).sort(), Object.keys(keys).sort());
  for (const [k, type] of Object.entries(keys)) assert.equal(typeof result[k], type, k);
  assert.equal(result.backend, backend);
  assert.equal(result.adapterDir, out);
  for (const k of ["baseTaskAccuracy", "newTaskAccuracyBefore", "newTaskAccuracyAfter"]) {
    assert.ok(result[k] >= 0 && result[k] <= 1, `${k} = ${result[k]}`);
  }
  assert.equal(result.baseTaskAccuracyAdapterOff, result.baseTaskAccuracy);
  assert.ok(result.trainableParams > 0 && result.trainableParams <= 0.05 * result.totalParams);
  assert.ok(result.mergeMaxAbsDiff <= 1e-4, `mergeMaxAbsDiff = ${result.mergeMaxAbsDiff}`);
  assert.ok(result.stepsPerSecond > 0 && result.seconds > 0);
  for (const f of ["adapter_model.safetensors", "adapter_config.json", "loss_curve.svg"]) {
    assert.ok((await Deno.stat(`${out}/${f}`)).size > 0, f);
  }
  return result;
}
