/**
 * The shared driver of `bench/compare.ts`'s implementations: each peer
 * script (project, tfjs-cpu, tfjs-wasm, jax) describes how to set up and run
 * W1, W2 and W3 (shared/WORKLOADS.md), and this module times them the same
 * way for all and prints one JSON result line for the parent process.
 *
 * Timing rules (WORKLOADS.md): inputs made and uploaded before timing, 2
 * warm-up runs, then timed runs until at least 5 runs and 1 s of timed work,
 * median; W2: 3 warm-up steps and 20 timed steps. Every timed run ends with
 * the result read back to host memory.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { median, timeIt, uniform } from "../_workloads.ts";

/** The matrix sizes of W1. */
export const W1_SIZES = [128, 256, 512, 1024] as const;
/** The element count of W3. */
export const W3_N = 4 * 2 ** 20;
/** W2 warm-up and timed steps. */
export const W2_WARMUP = 3, W2_TIMED = 20;
/** Wall-clock budget (s) of the timed runs of one slow W1 case (≥ 3 runs kept). */
export const W1_SLOW_BUDGET_S = 8;

/** A prepared, repeatable timed run; `dispose` frees its inputs. */
export interface Prepared {
  /** One timed run, ending with the result read back. */
  run(): Promise<unknown>;
  /** Frees the inputs. */
  dispose(): void;
}

/** A prepared W2 training state. */
export interface PreparedW2 {
  /** One full step; resolves to the loss read back (computed before the step's update). */
  step(): Promise<number>;
  /** Frees the state. */
  dispose(): void;
}

/** What a peer script provides. */
export interface Impl {
  /** Short id, e.g. "tfjs-wasm". */
  id: string;
  /** Human label, e.g. "tfjs-backend-wasm 4.22 (XNNPACK, Wasm SIMD)". */
  label: string;
  /** Threads or workers, as text. */
  threads: string;
  /** Free-form notes printed under the table. */
  notes?: string[];
  /** W1 for one size: inputs uploaded, `run` = matmul + read back. */
  w1(n: number, a: Float32Array, b: Float32Array): Promise<Prepared> | Prepared;
  /** W2: the model and the LoRA state built from WORKLOADS.md's data. */
  w2?(data: W2Data): Promise<PreparedW2> | PreparedW2;
  /** W3: `sum(relu(a·b + c))`, `run` resolves to the scalar. */
  w3(a: Float32Array, b: Float32Array, c: Float32Array): Promise<Prepared> | Prepared;
}

/** W2's tensors as flat row-major Float32Arrays. */
export interface W2Data {
  /** Rows of x and y (WORKLOADS.md's W2: 64). */
  batch: number;
  x: Float32Array;
  y: Float32Array;
  W1: Float32Array;
  b1: Float32Array;
  W2: Float32Array;
  b2: Float32Array;
  A1: Float32Array;
  A2: Float32Array;
}

/** W2's sizes. */
export const W2_SHAPE = { batch: 64, d: 1024, h: 4096, rank: 8, alpha: 16 } as const;

/** W2's frozen and LoRA weights (the same for every batch size). */
export type W2Weights = Omit<W2Data, "batch" | "x" | "y">;

/**
 * Makes W2's data exactly as WORKLOADS.md says; other batch sizes (the GPU
 * rows) keep the same weights, which `weights` can pass in to reuse.
 */
export function w2Data(batch: number = W2_SHAPE.batch, weights?: W2Weights): W2Data {
  const { d, h, rank } = W2_SHAPE;
  const s1 = 1 / Math.sqrt(d), s2 = 1 / Math.sqrt(h);
  const w = weights ?? {
    W1: uniform(3, h * d, -s1, s1),
    b1: uniform(4, h, -s1, s1),
    W2: uniform(5, d * h, -s2, s2),
    b2: uniform(6, d, -s2, s2),
    A1: uniform(7, rank * d, -s1, s1),
    A2: uniform(8, rank * h, -s2, s2),
  };
  // Only the weights are reused: `weights` may be a whole W2Data (a
  // smaller batch's), whose x, y and batch must not replace this one's.
  const { W1, b1, W2, b2, A1, A2 } = w;
  return { batch, x: uniform(1, batch * d), y: uniform(2, batch * d), W1, b1, W2, b2, A1, A2 };
}

/** One W1 figure. */
export interface W1Result {
  n: number;
  ms: number;
  gflops: number;
  runs: number;
  capped: boolean;
}

/** A peer script's result, sent to the parent as JSON. */
export interface PeerResult {
  id: string;
  label: string;
  threads: string;
  notes: string[];
  w1: W1Result[];
  w2?: { msPerStep: number; firstLoss: number; loss23: number; losses: number[] };
  w3?: { ms: number; value: number };
  errors: string[];
}

/** The marker before the JSON result line on stdout. */
export const RESULT_MARK = "@@RESULT ";

/**
 * Like `timeIt`, but once the timed runs pass `budgetS` seconds it stops as
 * soon as it has `floorRuns` runs (for cases where one run takes seconds).
 */
export async function timeCapped(
  fn: () => Promise<unknown>,
  budgetS: number,
  floorRuns = 3,
  warmup = 2,
  minRuns = 5,
  minSeconds = 1,
): Promise<{ ms: number; runs: number; capped: boolean }> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  let total = 0;
  let capped = false;
  while (times.length < minRuns || total < minSeconds * 1000) {
    if (times.length >= floorRuns && total >= budgetS * 1000) {
      capped = true;
      break;
    }
    const t0 = performance.now();
    await fn();
    const dt = performance.now() - t0;
    times.push(dt);
    total += dt;
  }
  return { ms: median(times), runs: times.length, capped };
}

/**
 * Runs W2_WARMUP untimed steps and then `timed` timed ones; every step's
 * loss (warm-ups included, so step k's is `losses[k − 1]`) and the timed
 * steps' milliseconds.
 */
export async function w2Steps(
  st: PreparedW2,
  timed: number,
): Promise<{ losses: number[]; times: number[] }> {
  const losses: number[] = [];
  const times: number[] = [];
  for (let i = 0; i < W2_WARMUP + timed; i++) {
    const t0 = performance.now();
    losses.push(await st.step());
    if (i >= W2_WARMUP) times.push(performance.now() - t0);
  }
  return { losses, times };
}

function log(msg: string) {
  console.error(`  [${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

/** Parses a peer script's flags: `--workloads W1,W2,W3 --sizes 128,256`. */
export function peerArgs(args: string[] = Deno.args): {
  workloads: Set<string>;
  sizes: number[];
  values: Record<string, string | boolean | undefined>;
} {
  const { values } = parseArgs({
    args,
    options: {
      workloads: { type: "string", default: "W1,W2,W3" },
      sizes: { type: "string", default: W1_SIZES.join(",") },
      workers: { type: "string" },
      jit: { type: "boolean", default: false },
    },
    strict: false,
  });
  const workloads = new Set(String(values.workloads).split(",").map((s) => s.trim().toUpperCase()));
  const sizes = String(values.sizes).split(",").map(Number).filter((n) => n > 0);
  return { workloads, sizes, values: values as Record<string, string | boolean | undefined> };
}

/** Runs the chosen workloads of `impl` and prints the JSON result line. */
export async function runPeer(impl: Impl, args: string[] = Deno.args): Promise<PeerResult> {
  const { workloads, sizes } = peerArgs(args);
  const res: PeerResult = {
    id: impl.id,
    label: impl.label,
    threads: impl.threads,
    notes: impl.notes ?? [],
    w1: [],
    errors: [],
  };
  if (workloads.has("W1")) {
    for (const n of sizes) {
      try {
        const a = uniform(11, n * n), b = uniform(12, n * n);
        const p = await impl.w1(n, a, b);
        // Probe one run: a case slower than 0.5 s per run gets the capped timer.
        const t0 = performance.now();
        await p.run();
        const probe = performance.now() - t0;
        let r: { ms: number; runs: number; capped: boolean };
        if (probe > 500) r = await timeCapped(() => p.run(), W1_SLOW_BUDGET_S, 3, 1);
        else r = { ms: await timeIt(() => p.run(), 1), runs: -1, capped: false };
        p.dispose();
        const gflops = 2 * n ** 3 / (r.ms / 1000) / 1e9;
        res.w1.push({ n, ms: r.ms, gflops, runs: r.runs, capped: r.capped });
        log(`${impl.id} W1 N=${n}: ${r.ms.toFixed(2)} ms, ${gflops.toFixed(2)} GFLOP/s`);
      } catch (e) {
        res.errors.push(`W1 N=${n}: ${errText(e)}`);
        log(`${impl.id} W1 N=${n} failed: ${errText(e)}`);
      }
    }
  }
  if (workloads.has("W2") && impl.w2) {
    try {
      const st = await impl.w2(w2Data());
      const { losses, times } = await w2Steps(st, W2_TIMED);
      st.dispose();
      res.w2 = {
        msPerStep: median(times),
        firstLoss: losses[0],
        // WORKLOADS.md's "after 23 steps": the loss the 23rd step reads back.
        loss23: losses[22],
        losses,
      };
      log(
        `${impl.id} W2: ${res.w2.msPerStep.toFixed(1)} ms/step, loss ${
          res.w2.firstLoss.toFixed(6)
        } → ${res.w2.loss23.toFixed(6)}`,
      );
    } catch (e) {
      res.errors.push(`W2: ${errText(e)}`);
      log(`${impl.id} W2 failed: ${errText(e)}`);
    }
  }
  if (workloads.has("W3")) {
    try {
      const a = uniform(21, W3_N), b = uniform(22, W3_N), c = uniform(23, W3_N);
      const p = await impl.w3(a, b, c);
      let value = NaN;
      const ms = await timeIt(async () => (value = Number(await p.run())));
      p.dispose();
      res.w3 = { ms, value };
      log(`${impl.id} W3: ${ms.toFixed(2)} ms (sum ${value})`);
    } catch (e) {
      res.errors.push(`W3: ${errText(e)}`);
      log(`${impl.id} W3 failed: ${errText(e)}`);
    }
  }
  console.log(RESULT_MARK + JSON.stringify(res));
  return res;
}

/** An error's message in one line. */
export function errText(e: unknown): string {
  const s = e instanceof Error ? e.message : typeof e === "object" ? JSON.stringify(e) : String(e);
  return s.split("\n")[0].slice(0, 300);
}
