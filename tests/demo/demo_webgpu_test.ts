/**
 * The demo end to end on the WebGPU backend: `train_demo.ts --quick --json
 * --backend webgpu` in a subprocess. Skipped (not failed) where no WebGPU
 * adapter exists.
 *
 * @module
 */

import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url);

/** Why WebGPU cannot run here, or null when an adapter exists. */
async function noAdapter(): Promise<string | null> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) return "navigator.gpu is not available";
  try {
    return (await gpu.requestAdapter()) ? null : "no WebGPU adapter";
  } catch (e) {
    return `requestAdapter() failed: ${e instanceof Error ? e.message : e}`;
  }
}

const why = await noAdapter();
if (why) console.log(`note: the webgpu demo test is skipped: ${why}`);

const KEYS: Record<string, "string" | "number"> = {
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

Deno.test({
  name: "train_demo --quick --json --backend webgpu ends with the run's figures",
  ignore: why !== null,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const out = `${dir}/adapter`;
      const r = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "train_demo.ts",
          "--quick",
          "--json",
          "--backend",
          "webgpu",
          "--out",
          out,
        ],
        cwd: root,
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const stdout = new TextDecoder().decode(r.stdout);
      const stderr = new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 0, stderr);
      const lines = stdout.trimEnd().split("\n");
      const result = JSON.parse(lines[lines.length - 1]);
      assert.deepEqual(Object.keys(result).sort(), Object.keys(KEYS).sort());
      for (const [k, type] of Object.entries(KEYS)) assert.equal(typeof result[k], type, k);
      assert.equal(result.backend, "webgpu");
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
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
