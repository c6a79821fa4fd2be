/**
 * The GPU rows of shared/WORKLOADS.md: W1 (square f32 matmul, N = 1024,
 * 2048, 4096) and W2 (one LoRA fine-tuning step of the W2 model at batch
 * 64, 512, 4096) on this project's WebGPU backend, with tfjs-backend-webgpu
 * 4.22 measured in the same run on the same adapter; then W4 (the
 * SmolLM2-135M-shaped LoRA step, bench/w4_bench.ts in its own process) on
 * the project alone (tfjs has no transformer to run it).
 *
 * Run: `deno task bench:gpu` (the full table: W1 1024/2048/4096, W2
 * 64/512/4096, tfjs beside, the adapter's name, and W4 with 30 layers), or
 * `deno task bench:gpu --quick` (W1 1024, W2 64 and W4 with one layer: a
 * few minutes on a software adapter such as llvmpipe). Flags: `[--sizes
 * 1024,2048,4096] [--batches 64,512,4096] [--steps 20] [--workloads
 * W1,W2,W4] [--w4-layers 30] [--w4-steps 3] [--tune] [--no-tfjs] [--json]`; `--tune`
 * runs the backend's matmul tuner (`WebGpuBackend.tuneMatmul`) first and
 * prints what it chose. For W2 the project's compute dispatches and queue
 * submits per step (GpuContext counters, warm-up steps included) are
 * printed under the table.
 *
 * Timing (WORKLOADS.md): inputs made and uploaded before timing; W1 has 2
 * warm-up runs, then timed runs until at least 5 runs and 1 s of timed work
 * (a case slower than 0.5 s per run stops after 3 runs past 8 s); W2 has 3
 * warm-up steps and 20 timed steps. Every timed run ends with the result in
 * host memory (`await t.data()`); medians are quoted. W2's data are
 * WORKLOADS.md's with `x = uniform(1, batch·1024)`, `y = uniform(2, …)`, so
 * batch 64 is exactly W2 and its first loss must be 0.350971.
 *
 * tfjs is a dev-only peer: it is imported here (dynamically, so a machine
 * without it still measures the project) and never by the library.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { lora, nn, optim, setBackend } from "../mod.ts";
import { median, uniform } from "./_workloads.ts";
import {
  errText,
  type Prepared,
  type PreparedW2,
  timeCapped,
  W1_SLOW_BUDGET_S,
  W2_TIMED,
  W2_WARMUP,
  type W2Data,
  w2Data,
  w2Steps,
  type W2Weights,
} from "./peers/_harness.ts";
import { type HighLevel, w1Matmul, w2Modules } from "./peers/project.ts";
import { backendInstance } from "../backends/registry.ts";
import type { WebGpuBackend } from "../backends/webgpu/mod.ts";

/** WORKLOADS.md's first W2 loss (batch 64), and the loss the 23rd step reads back. */
const W2_FIRST_LOSS = 0.350971, W2_LOSS23 = 0.2895;

/** One implementation under test. */
interface Impl {
  id: string;
  label: string;
  w1(n: number, a: Float32Array, b: Float32Array): Prepared;
  w2(d: W2Data): PreparedW2;
}

/** The project on its WebGPU backend, through `mod.ts` only (as bench/peers/project.ts). */
function projectImpl(): Impl {
  return {
    id: "project",
    label: "this project (@lora/tensor), webgpu",
    w1: w1Matmul,
    w2: (d) => w2Modules({ nn, optim, lora } as unknown as HighLevel, d),
  };
}

type Tf = typeof import("npm:@tensorflow/tfjs-core@4.22.0");

/** tfjs-backend-webgpu 4.22 (gradients from the umbrella package, as bench/peers/tfjs.ts). */
async function tfjsImpl(): Promise<Impl & { notes: string[] }> {
  // deno-lint-ignore no-import-prefix -- dev-only peer, kept out of the config on purpose
  const tf: Tf = await import("npm:@tensorflow/tfjs-core@4.22.0");
  // tfjs-core's node bundle registers no gradients; the umbrella package's does.
  // deno-lint-ignore no-import-prefix -- dev-only peer, kept out of the config on purpose
  await import("npm:@tensorflow/tfjs@4.22.0");
  // deno-lint-ignore no-import-prefix -- dev-only peer, kept out of the config on purpose
  await import("npm:@tensorflow/tfjs-backend-webgpu@4.22.0");
  const { tfjsW1, tfjsW2 } = await import("./peers/tfjs.ts");
  // The dynamic import types the module with a `default`; it is the same module.
  const tfm = tf as unknown as Parameters<typeof tfjsW2>[0];
  if (!(await tf.setBackend("webgpu"))) throw new Error("tf.setBackend('webgpu') returned false");
  await tf.ready();
  if (tf.getBackend() !== "webgpu") throw new Error(`tfjs runs on ${tf.getBackend()}, not webgpu`);
  const notes = ["W2: tf.train.adam via optimizer.minimize"];
  return {
    id: "tfjs-webgpu",
    label: "tfjs-backend-webgpu 4.22",
    notes,
    w1: (n, a, b) => tfjsW1(tfm, n, a, b),
    w2: (d) => tfjsW2(tfm, d),
  };
}

/** One W1 figure. */
interface W1Row {
  impl: string;
  n: number;
  ms: number;
  tflops: number;
  runs: number;
}

/** One W2 figure. */
interface W2Row {
  impl: string;
  batch: number;
  msPerStep: number;
  firstLoss: number;
  /** The loss the 23rd step reads back (NaN with fewer steps). */
  loss23: number;
  /** Project only: compute dispatches and queue submits per step. */
  dispatches?: number;
  submits?: number;
}

function log(msg: string) {
  console.error(`  [${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

/** Parses a comma-separated list of positive integers. */
function intList(flag: string, raw: string): number[] {
  const out = raw.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  if (out.length === 0 || out.some((n) => !Number.isInteger(n) || n <= 0)) {
    throw new Error(`${flag} wants positive integers separated by commas, got "${raw}"`);
  }
  return out;
}

/** The adapter's name, as `navigator.gpu.requestAdapter()` describes it. */
async function adapterName(): Promise<string> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  const adapter = await gpu?.requestAdapter();
  if (!adapter) return "none";
  const info = adapter.info;
  const parts = [
    info.description || info.device || "(no description)",
    info.vendor && `vendor ${info.vendor}`,
    info.architecture && `arch ${info.architecture}`,
    (info as { isFallbackAdapter?: boolean }).isFallbackAdapter
      ? "fallback (software) adapter"
      : "",
  ].filter(Boolean);
  return parts.join(", ");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      sizes: { type: "string" },
      batches: { type: "string" },
      quick: { type: "boolean", default: false },
      tune: { type: "boolean", default: false },
      steps: { type: "string", default: String(W2_TIMED) },
      workloads: { type: "string", default: "W1,W2,W4" },
      "w4-layers": { type: "string" },
      "w4-steps": { type: "string" },
      "no-tfjs": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(
      "deno run -A bench/webgpu_bench.ts [--quick] [--sizes 1024,2048,4096]\n" +
        "  [--batches 64,512,4096] [--steps 20] [--workloads W1,W2,W4] [--w4-layers 30]\n" +
        "  [--w4-steps 3] [--tune] [--no-tfjs] [--json]\n" +
        "--quick: W1 1024, W2 64 and W4 with 1 layer (minutes on a software adapter);\n" +
        "default: the full table",
    );
    return 0;
  }
  const sizes = intList("--sizes", values.sizes ?? (values.quick ? "1024" : "1024,2048,4096"));
  const batches = intList("--batches", values.batches ?? (values.quick ? "64" : "64,512,4096"));
  const timedSteps = intList("--steps", values.steps)[0];
  const workloads = new Set(values.workloads.split(",").map((s) => s.trim().toUpperCase()));

  const adapter = await adapterName();
  console.log(`adapter: ${adapter}`);
  try {
    await setBackend("webgpu");
  } catch (e) {
    console.error(`webgpu_bench: ${errText(e)}`);
    return 1;
  }
  const gpuBackend = backendInstance("webgpu") as WebGpuBackend;
  if (values.tune) {
    for (const r of await gpuBackend.tuneMatmul()) {
      const c = r.chosen;
      log(
        `tuned vec4 matmul ${r.layout}: rows ${c.rows}, ${c.wx}×${c.wy} invocations (` +
          r.timings.map((t) => `${t.config.rows}/${t.config.wx}x${t.config.wy} ${t.ms.toFixed(1)}`)
            .join(", ") +
          " ms)",
      );
    }
  }
  const impls: Impl[] = [projectImpl()];
  const notes: string[] = [];
  const errors: string[] = [];
  if (!values["no-tfjs"]) {
    try {
      const t = await tfjsImpl();
      impls.push(t);
      notes.push(...t.notes.map((n) => `tfjs-webgpu: ${n}`));
    } catch (e) {
      const why = `tfjs-webgpu could not run here, measuring the project alone: ${errText(e)}`;
      console.error(`webgpu_bench: ${why}`);
      notes.push(why);
    }
  }

  const w1: W1Row[] = [];
  if (workloads.has("W1")) {
    for (const n of sizes) {
      const a = uniform(11, n * n), b = uniform(12, n * n);
      for (const impl of impls) {
        try {
          const p = impl.w1(n, a, b);
          const r = await timeCapped(() => p.run(), W1_SLOW_BUDGET_S, 3);
          p.dispose();
          const tflops = 2 * n ** 3 / (r.ms / 1000) / 1e12;
          w1.push({ impl: impl.id, n, ms: r.ms, tflops, runs: r.runs });
          log(`${impl.id} W1 N=${n}: ${r.ms.toFixed(2)} ms, ${tflops.toFixed(4)} TFLOP/s`);
        } catch (e) {
          errors.push(`${impl.id} W1 N=${n}: ${errText(e)}`);
          log(`${impl.id} W1 N=${n} failed: ${errText(e)}`);
        }
      }
    }
  }

  const w2: W2Row[] = [];
  if (workloads.has("W2")) {
    let weights: W2Weights | undefined;
    for (const batch of batches) {
      const data = w2Data(batch, weights);
      weights = data;
      for (const impl of impls) {
        try {
          const st = impl.w2(data);
          const c0 = gpuBackend.ctx.counters;
          const { losses, times } = await w2Steps(st, timedSteps);
          const c1 = gpuBackend.ctx.counters;
          st.dispose();
          const steps = losses.length;
          const counts = impl.id === "project"
            ? {
              dispatches: (c1.dispatches - c0.dispatches) / steps,
              submits: (c1.submits - c0.submits) / steps,
            }
            : {};
          const row: W2Row = {
            ...counts,
            impl: impl.id,
            batch,
            msPerStep: median(times),
            firstLoss: losses[0],
            loss23: losses[22] ?? NaN,
          };
          w2.push(row);
          log(
            `${impl.id} W2 batch ${batch}: ${row.msPerStep.toFixed(1)} ms/step, loss ` +
              `${row.firstLoss.toFixed(6)} → ${row.loss23.toFixed(6)} (step 23)` +
              (row.dispatches === undefined
                ? ""
                : `, ${row.dispatches} dispatches and ${row.submits?.toFixed(2)} submits per step`),
          );
          // WORKLOADS.md's cross-check, held against the project; a peer's miss is a note.
          const misses: string[] = [];
          if (batch === 64 && Math.abs(row.firstLoss - W2_FIRST_LOSS) > 1e-5) {
            misses.push(`first loss ${row.firstLoss.toFixed(6)}, expected ${W2_FIRST_LOSS}`);
          }
          if (batch === 64 && losses.length >= 23 && Math.abs(row.loss23 - W2_LOSS23) > 1e-5) {
            misses.push(`step-23 loss ${row.loss23.toFixed(6)}, expected ${W2_LOSS23} ± 1e-5`);
          }
          for (const m of misses) {
            (impl.id === "project" ? errors : notes).push(`${impl.id} W2 batch 64: ${m}`);
          }
        } catch (e) {
          errors.push(`${impl.id} W2 batch ${batch}: ${errText(e)}`);
          log(`${impl.id} W2 batch ${batch} failed: ${errText(e)}`);
        }
      }
    }
  }

  let w4: Record<string, unknown> | null = null;
  if (workloads.has("W4")) {
    const layers = intList("--w4-layers", values["w4-layers"] ?? (values.quick ? "1" : "30"))[0];
    const steps = intList("--w4-steps", values["w4-steps"] ?? (values.quick ? "1" : "3"))[0];
    w4 = await w4Project(layers, steps);
    if (w4 === null) errors.push(`project W4 (${layers} layers): the step failed`);
    else {
      log(
        `project W4 (${layers} layer${layers === 1 ? "" : "s"}, batch 4 × 128): ${
          (w4.msPerStep as number).toFixed(0)
        } ` +
          `ms/step, ${(w4.tokensPerSecond as number).toFixed(1)} tokens/s, ` +
          `${(w4.fractionOfW1 as number).toFixed(2)} of W1 N=1024, ` +
          `${w4.dispatchesPerStep} dispatches and ${w4.submitsPerStep} submits per step`,
      );
    }
  }

  if (values.json) {
    console.log(JSON.stringify({ adapter, w1, w2, w4, notes, errors }));
  } else {
    printTable(adapter, impls, sizes, batches, w1, w2, timedSteps);
    if (w4) {
      console.log(
        `W4 (${w4.layers} layer${
          w4.layers === 1 ? "" : "s"
        } of the SmolLM2-135M shape, batch 4 × 128, rank 8 on all seven ` +
          `projections), project: ${(w4.msPerStep as number).toFixed(0)} ms/step, ` +
          `${(w4.tokensPerSecond as number).toFixed(1)} tokens/s, achieved ` +
          `${(w4.achievedGflops as number).toFixed(1)} GFLOP/s = ` +
          `${(w4.fractionOfW1 as number).toFixed(2)} of its W1 N=1024 rate, ` +
          `${w4.dispatchesPerStep} compute dispatches and ${w4.submitsPerStep} queue submits ` +
          `per step (tfjs-webgpu has no transformer to run it)`,
      );
    }
    for (const n of notes) console.log(`note: ${n}`);
    for (const e of errors) console.log(`error: ${e}`);
  }
  return errors.length > 0 ? 1 : 0;
}

/**
 * W4 on this project's WebGPU backend: bench/w4_bench.ts in its own process
 * (`--backend webgpu --json --no-generate`), its JSON result or null.
 */
async function w4Project(layers: number, steps: number): Promise<Record<string, unknown> | null> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./w4_bench.ts", import.meta.url).pathname,
      "--backend",
      "webgpu",
      "--layers",
      String(layers),
      "--steps",
      String(steps),
      "--no-generate",
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  if (!out.success) {
    console.error(new TextDecoder().decode(out.stderr).slice(-2000));
    return null;
  }
  return JSON.parse(lines[lines.length - 1]);
}

function printTable(
  adapter: string,
  impls: Impl[],
  sizes: number[],
  batches: number[],
  w1: W1Row[],
  w2: W2Row[],
  steps: number,
) {
  const head = [
    "impl",
    ...sizes.map((n) => `W1 N=${n} ms (TFLOP/s)`),
    ...batches.map((b) => `W2 b=${b} ms/step`),
  ];
  const rows = impls.map((impl) => [
    impl.label,
    ...sizes.map((n) => {
      const r = w1.find((r) => r.impl === impl.id && r.n === n);
      return r ? `${r.ms.toFixed(1)} (${r.tflops.toPrecision(3)})` : w1.length ? "failed" : "—";
    }),
    ...batches.map((b) => {
      const r = w2.find((r) => r.impl === impl.id && r.batch === b);
      return r ? r.msPerStep.toFixed(1) : w2.length ? "failed" : "—";
    }),
  ]);
  console.log(
    `\nWebGPU on ${adapter}\nmedians; W1: 2 warm-up, ≥ 5 runs and ≥ 1 s; ` +
      `W2: ${W2_WARMUP} warm-up + ${steps} timed steps; each run ends with await t.data()\n`,
  );
  console.log(`| ${head.join(" | ")} |`);
  console.log(`|${head.map(() => "---").join("|")}|`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  for (const r of w2.filter((r) => r.dispatches !== undefined)) {
    console.log(
      `W2 batch ${r.batch}, ${r.impl}: ${r.dispatches} compute dispatches and ` +
        `${r.submits?.toFixed(2)} queue submits per step (warm-up steps included)`,
    );
  }
  for (const r of w2.filter((r) => r.batch === 64)) {
    console.log(
      `W2 batch 64, ${r.impl}: loss ${r.firstLoss.toFixed(6)} → ${r.loss23.toFixed(6)} ` +
        `at step 23 (WORKLOADS.md: ${W2_FIRST_LOSS} → ${W2_LOSS23} ± 1e-5)`,
    );
  }
}

if (import.meta.main) Deno.exit(await main());
