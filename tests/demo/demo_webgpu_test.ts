/**
 * The demo end to end on the WebGPU backend: `train_demo.ts --quick --json
 * --backend webgpu` in a subprocess. Skipped (not failed) where no WebGPU
 * adapter exists.
 *
 * @module
 */

import { checkDemoRun, runDemo } from "./_demo_run.ts";
import { skipUnlessRequired } from "../_backends.ts";

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
skipUnlessRequired("webgpu", why);
if (why) console.log(`note: the webgpu demo test is skipped: ${why}`);

Deno.test({
  name: "train_demo --quick --json --backend webgpu ends with the run's figures",
  ignore: why !== null,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const out = `${dir}/adapter`;
      const r = await runDemo(["--quick", "--json", "--backend", "webgpu", "--out", out]);
      await checkDemoRun(r, "webgpu", out);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
