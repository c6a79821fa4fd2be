/**
 * `deno task bench:compare`: this project against its JavaScript peers
 * (tfjs-backend-cpu, tfjs-backend-wasm, jax-js on Wasm) on the workloads of
 * shared/WORKLOADS.md — W1 matmul (N = 128…1024, GFLOP/s), W2 one LoRA
 * fine-tuning step (ms/step, with the loss cross-check) and W3
 * sum(relu(a·b + c)) (ms) — in one invocation, and prints one table.
 *
 * Each implementation runs in its own Deno process (`bench/peers/*.ts`), one
 * after the other, so none shares a heap, a Wasm memory or a worker pool with
 * another. The peers are dev-only `npm:` imports inside `bench/peers/`.
 *
 * Flags:
 * - `--only project,tfjs-cpu,tfjs-wasm,jax` — which implementations (default all)
 * - `--workloads W1,W2,W3` — which workloads (default all)
 * - `--sizes 128,256,512,1024` — W1's sizes
 * - `--json` — print the results as JSON instead of the table
 * - `--timeout 300` — seconds one implementation's process may take
 * - `--rounds 3` — rounds: every implementation runs once per round, in
 *   turn (A B C A B C …), and the table shows each figure's median over the
 *   rounds with its range, so one lucky or unlucky minute cannot make it
 *
 * This project runs twice per round: with its worker (2 threads) and with
 * one thread, beside the one-thread peers. A W2 loss that misses the
 * cross-check drops that figure from the comparison and makes the command
 * exit 1.
 *
 * This file parses the flags and runs the rounds; the jobs and their
 * processes are `_compare_jobs.ts`, the table `_compare_table.ts`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type PeerResult, W1_SIZES, W1_SLOW_BUDGET_S } from "./peers/_harness.ts";
import { type ImplName, IMPLS, jobsFor, machine, runJob } from "./_compare_jobs.ts";
import {
  columnsFor,
  comparisonTable,
  crossCheck,
  mismatchedRows,
  REF_23,
  REF_FIRST,
  render,
  rowsOf,
  TOL,
  w3Reference,
  WORKLOADS_MD,
} from "./_compare_table.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    only: { type: "string" },
    workloads: { type: "string", default: "W1,W2,W3" },
    sizes: { type: "string", default: W1_SIZES.join(",") },
    json: { type: "boolean", default: false },
    timeout: { type: "string", default: "300" },
    rounds: { type: "string", default: "3" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log(
    "deno run -A bench/compare.ts [--only project,tfjs-cpu,tfjs-wasm,jax] " +
      "[--workloads W1,W2,W3] [--sizes 128,256,512,1024] [--rounds 3] [--json] [--timeout SECONDS]",
  );
  Deno.exit(0);
}

const only = (values.only ?? IMPLS.join(",")).split(",").map((s) => s.trim()).filter(Boolean);
for (const o of only) {
  if (!(IMPLS as readonly string[]).includes(o)) {
    console.error(`--only: unknown implementation ${o} (one of ${IMPLS.join(", ")})`);
    Deno.exit(2);
  }
}
const workloads = values.workloads.split(",").map((s) => s.trim().toUpperCase()).filter(Boolean);
for (const w of workloads) {
  if (!["W1", "W2", "W3"].includes(w)) {
    console.error(`--workloads: unknown ${w} (W1, W2, W3)`);
    Deno.exit(2);
  }
}
const sizes = values.sizes.split(",").map(Number);
if (sizes.some((n) => !Number.isInteger(n) || n <= 0)) {
  throw new TypeError("--sizes: positive integers");
}
const timeoutS = Number(values.timeout);
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new TypeError("--rounds: a positive integer");
const jobs = jobsFor(only as ImplName[], workloads);

const started = performance.now();
const mach = machine();
/** Every round's result of each job, by job (in job order). */
const byJob: PeerResult[][] = jobs.map(() => []);
for (let round = 1; round <= rounds; round++) {
  console.error(`— round ${round} of ${rounds}`);
  for (const [i, job] of jobs.entries()) {
    if (job.workloads.length) byJob[i].push(await runJob(job, sizes, timeoutS));
  }
}
const results = byJob.flat();
const totalS = (performance.now() - started) / 1000;

const rows = rowsOf(results);
const mismatched = mismatchedRows(rows);
const table = comparisonTable(rows, columnsFor(rows, mismatched, workloads, sizes));

if (values.json) {
  console.log(JSON.stringify({ machine: mach, totalSeconds: totalS, results }, null, 2));
} else {
  console.log(
    `\nMachine: ${mach.cpu}, ${mach.cores} cores, ${mach.os}; Deno ${mach.deno} (V8 ${mach.v8}); ` +
      `${mach.date}; load average at start ${mach.loadavg}, at end ${
        Deno.loadavg().map((x) => x.toFixed(2)).join(" ")
      } (other processes on the machine skew every figure)`,
  );
  console.log(
    `${rounds} rounds, the implementations interleaved (each runs once per round in its own ` +
      "process); each cell is the median of the rounds' figures, with the lowest and highest " +
      "in parentheses. Within a round: W1: 2 warm-ups, then ≥5 runs and ≥1 s, median (a case " +
      `slower than 0.5 s/run stops after ≥3 runs once ${W1_SLOW_BUDGET_S} s are spent: run ` +
      "count shown); W2: 3 warm-up + 20 timed steps, median; W3: as W1. Every run reads its " +
      "result back.\n",
  );
  console.log(render(table));
  if (workloads.includes("W2")) {
    console.log(
      `\nW2 loss cross-check (step 1 → step 23; expected ${REF_FIRST} → ${REF_23} ± ${TOL}):`,
    );
    for (const [key, r] of rows) {
      if (r.loss.length) console.log(`  ${key}: ${crossCheck(r.loss)}`);
      if (r.lossJit.length) console.log(`  ${key} (jit): ${crossCheck(r.lossJit)}`);
    }
  }
  if (workloads.includes("W3")) {
    console.log(`\nW3 sums (float64 reference of the float32 terms: ${w3Reference().toFixed(2)}):`);
    for (const r of byJob.map((rs) => rs[0]).filter(Boolean)) {
      if (r.w3) console.log(`  ${r.id}: ${r.w3.value}`);
    }
  }
  console.log("\nFor context, WORKLOADS.md's figures for the peers (not re-measured in this run):");
  console.log(render([
    ["peer", "threads", "W1 N=256 GFLOP/s", "W1 N=1024 GFLOP/s", "W2 ms/step", "W3 ms"],
    ...WORKLOADS_MD,
  ]));
  const notes = results.flatMap((r) => [
    ...r.notes.map((n) => `  ${r.id}: ${n}`),
    ...r.errors.map((e) => `  ${r.id}: ERROR ${e}`),
  ]);
  if (notes.length) console.log("\nNotes:\n" + [...new Set(notes)].join("\n"));
  console.log(`\nTotal ${totalS.toFixed(0)} s.`);
}
if (mismatched.size > 0) {
  console.error(`W2 loss cross-check MISMATCH for ${[...mismatched].join(", ")}: exit 1`);
  Deno.exit(1);
}
