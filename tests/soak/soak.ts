/**
 * `deno task soak`: trains the demo's LoRA phase for 10,000 steps on `cpu`
 * and 1,000 on `webgpu` (the software adapter where there is no GPU) and
 * checks that after warm-up nothing grows: `memory()` (tensors, buffers,
 * bytes) and the backend's own footprint (the Wasm heap's top and size on
 * the CPU; live plus pooled bytes on WebGPU). Prints the figures; exits 1
 * on any drift. Not part of `deno task test`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { memory, setBackend } from "../../mod.ts";
import { backendInstance } from "../../backends/registry.ts";
import { heapStats } from "../../backends/cpu/wasm/mod.ts";
import type { WebGpuBackend } from "../../backends/webgpu/mod.ts";
import { startLoraRun } from "../_demo_training.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "cpu-steps": { type: "string", default: "10000" },
    "webgpu-steps": { type: "string", default: "1000" },
    batch: { type: "string", default: "16" },
  },
});

/** Steps before the footprint is expected to settle. */
const WARMUP = 50;

function footprint(backend: string): Record<string, number> {
  if (backend === "webgpu") {
    const pool = (backendInstance("webgpu") as WebGpuBackend).ctx.pool;
    return { pooledBytes: pool.pooledBytes };
  }
  const h = heapStats();
  return { heapTop: h.top, heapBytes: h.byteLength, heapBlocks: h.blocks };
}

async function soak(backend: string, steps: number): Promise<boolean> {
  await setBackend(backend);
  const run = await startLoraRun({
    batch: Number(values.batch),
    pretrainSteps: 20,
    steps,
    predictEvery: 100,
  });
  let settled: string | null = null;
  let drift: string | null = null;
  const losses: number[] = [];
  const t0 = performance.now();
  for (let s = 1; s <= steps; s++) {
    losses.push(await run.next());
    if (s >= WARMUP && s % 100 === 0) {
      const now = JSON.stringify({ ...memory(), ...footprint(backend) });
      settled ??= now;
      if (now !== settled && !drift) drift = `step ${s}: ${now}`;
      if (s % (steps >= 5000 ? 2000 : 250) === 0) {
        const secs = (performance.now() - t0) / 1000;
        console.log(
          `  ${backend} step ${s}: loss ${losses[s - 1].toFixed(4)}, ${now}, ${secs.toFixed(0)} s`,
        );
      }
    }
  }
  const secs = (performance.now() - t0) / 1000;
  run.dispose();
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(
    `${backend}: ${steps} steps in ${secs.toFixed(1)} s (${(steps / secs).toFixed(1)} steps/s); ` +
      `loss ${avg(losses.slice(0, 20)).toFixed(4)} → ${avg(losses.slice(-20)).toFixed(4)}; ` +
      `from step ${WARMUP}: ${settled}`,
  );
  if (drift) console.log(`  DRIFT at ${drift}`);
  else console.log("  flat: identical at every check after warm-up");
  return drift === null && losses.every(Number.isFinite);
}

let ok = true;
ok = await soak("cpu", Number(values["cpu-steps"])) && ok;
try {
  ok = await soak("webgpu", Number(values["webgpu-steps"])) && ok;
} catch (e) {
  console.log(`webgpu: not run (${(e as Error).message.split(".")[0]})`);
  ok = false;
}
if (!ok) Deno.exit(1);
