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
 * @module
 */
import { parseArgs } from "node:util";
import { cpus } from "node:os";
import {
  type PeerResult,
  RESULT_MARK,
  W1_SIZES,
  W1_SLOW_BUDGET_S,
  W3_N,
} from "./peers/_harness.ts";
import { median, uniform } from "./_workloads.ts";

const IMPLS = ["project", "tfjs-cpu", "tfjs-wasm", "jax"] as const;
type ImplName = typeof IMPLS[number];

interface Job {
  impl: ImplName;
  script: string;
  args: string[];
  workloads: string[];
}

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

const peersDir = new URL("./peers/", import.meta.url);
const jobs: Job[] = [];
const wl = (ws: string[]) => ws.filter((w) => workloads.includes(w));
for (const impl of only as ImplName[]) {
  if (impl === "project") {
    jobs.push({ impl, script: "project.ts", args: [], workloads: wl(["W1", "W2", "W3"]) });
    jobs.push({
      impl,
      script: "project.ts",
      args: ["--threads=1"],
      workloads: wl(["W1", "W2", "W3"]),
    });
  }
  if (impl === "tfjs-cpu") {
    jobs.push({
      impl,
      script: "tfjs.ts",
      args: ["--backend=cpu"],
      workloads: wl(["W1", "W2", "W3"]),
    });
  }
  if (impl === "tfjs-wasm") {
    jobs.push({
      impl,
      script: "tfjs.ts",
      args: ["--backend=wasm"],
      workloads: wl(["W1", "W2", "W3"]),
    });
  }
  if (impl === "jax") {
    for (const w of [1, 2]) {
      jobs.push({
        impl,
        script: "jax.ts",
        args: [`--workers=${w}`],
        workloads: wl(["W1", "W2", "W3"]),
      });
      jobs.push({
        impl,
        script: "jax.ts",
        args: [`--workers=${w}`, "--jit"],
        workloads: wl(["W2"]),
      });
    }
  }
}

function machine() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? "unknown",
    cores: navigator.hardwareConcurrency,
    os: `${Deno.build.os}-${Deno.build.arch}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    date: new Date().toISOString(),
    loadavg: Deno.loadavg().map((x) => x.toFixed(2)).join(" "),
  };
}

async function runJob(job: Job): Promise<PeerResult> {
  const args = [
    "run",
    "-A",
    "--no-lock",
    new URL(job.script, peersDir).pathname,
    ...job.args,
    `--workloads=${job.workloads.join(",")}`,
    `--sizes=${sizes.join(",")}`,
  ];
  console.error(`▶ ${job.impl} ${job.args.join(" ")} (${job.workloads.join(",")})`);
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutS * 1000);
  const fail = (why: string): PeerResult => ({
    id: `${job.impl}${job.args.join("")}`,
    label: job.impl,
    threads: "?",
    notes: [],
    w1: [],
    errors: [why],
  });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args,
      stdout: "piped",
      stderr: "inherit",
      signal: ac.signal,
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    const line = text.split("\n").find((l) => l.startsWith(RESULT_MARK));
    if (!line) {
      return fail(
        ac.signal.aborted
          ? `timed out after ${timeoutS} s`
          : `exited with code ${out.code} and no result: ${text.trim().slice(-300)}`,
      );
    }
    return JSON.parse(line.slice(RESULT_MARK.length)) as PeerResult;
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  } finally {
    clearTimeout(timer);
  }
}

/** The peers' figures in WORKLOADS.md (2026-11-27, same machine kind, unloaded), for context. */
const WORKLOADS_MD: [string, string, string, string, string, string][] = [
  ["tfjs-backend-cpu 4.22", "1", "1.76", "1.05", "1215", "121"],
  ["tfjs-backend-wasm 4.22", "1", "36.7", "43.4", "394", "7.5"],
  ["jax-js 0.1.25, Wasm", "1 worker", "28.0", "34.0", "65.5 (jit 57.7)", "7.9"],
  ["jax-js 0.1.25, Wasm", "2 workers", "33.3", "66.2", "39.6 (jit 33.4)", "5.1"],
];

const started = performance.now();
const mach = machine();
/** Every round's result of each job, by job (in job order). */
const byJob: PeerResult[][] = jobs.map(() => []);
for (let round = 1; round <= rounds; round++) {
  console.error(`— round ${round} of ${rounds}`);
  for (const [i, job] of jobs.entries()) {
    if (job.workloads.length) byJob[i].push(await runJob(job));
  }
}
const results = byJob.flat();
const totalS = (performance.now() - started) / 1000;

// ---- table ------------------------------------------------------------------

/** One printed row: an implementation (jax's jit run folded into its eager row). */
interface Row {
  name: string;
  threads: string;
  /** Per W1 size, one GFLOP/s figure per round. */
  w1: Map<number, number[]>;
  w1Note: Map<number, string>;
  w2: number[];
  w2jit: number[];
  w3: number[];
  /** [first, 23rd] loss of each round. */
  loss: [number, number][];
  lossJit: [number, number][];
  isPeer: boolean;
  isProject: boolean;
}

const rows = new Map<string, Row>();
for (const r of results) {
  const key = r.id.replace(/-jit$/, "");
  let row = rows.get(key);
  if (!row) {
    row = {
      name: r.label.replace(" (W2 under jit)", ""),
      threads: r.threads,
      w1: new Map(),
      w1Note: new Map(),
      w2: [],
      w2jit: [],
      w3: [],
      loss: [],
      lossJit: [],
      isPeer: !r.id.startsWith("project"),
      isProject: r.id === "project",
    };
    rows.set(key, row);
  }
  for (const w of r.w1) {
    row.w1.set(w.n, [...(row.w1.get(w.n) ?? []), w.gflops]);
    if (w.capped) row.w1Note.set(w.n, `${w.runs} runs`);
  }
  if (r.w2) {
    const jit = r.id.endsWith("-jit");
    (jit ? row.w2jit : row.w2).push(r.w2.msPerStep);
    (jit ? row.lossJit : row.loss).push([r.w2.firstLoss, r.w2.loss23]);
  }
  if (r.w3) row.w3.push(r.w3.ms);
}

const REF_FIRST = 0.350971, REF_23 = 0.289500, TOL = 1e-5;
const lossOk = (ls: [number, number][]) =>
  ls.every(([a, b]) => Math.abs(a - REF_FIRST) <= TOL && Math.abs(b - REF_23) <= TOL);
/** Rows whose W2 losses miss the cross-check in some round: their W2 is not compared. */
const mismatched = new Set(
  [...rows].filter(([, r]) => !lossOk(r.loss) || !lossOk(r.lossJit)).map(([k]) => k),
);

const med = (xs: number[] | undefined) => (xs && xs.length ? median(xs) : undefined);

const fmt = (x: number | undefined, digits = 1) =>
  x === undefined || !Number.isFinite(x) ? "—" : x >= 100 ? x.toFixed(0) : x.toFixed(digits);

interface Col {
  head: string;
  higherBetter: boolean;
  /** The median over the rounds (undefined when not measured or not comparable). */
  get(r: Row): number | undefined;
  cell(r: Row): string;
}

/** "median (lowest–highest)" over the rounds; the median alone for one round. */
function spread(xs: number[] | undefined, digits: number): string {
  if (!xs || xs.length === 0) return "—";
  const m = fmt(median(xs), digits);
  if (xs.length === 1) return m;
  return `${m} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)})`;
}

const cols: Col[] = [];
if (workloads.includes("W1")) {
  for (const n of sizes) {
    cols.push({
      head: `W1 N=${n} GFLOP/s`,
      higherBetter: true,
      get: (r) => med(r.w1.get(n)),
      cell: (r) => spread(r.w1.get(n), 2) + (r.w1Note.has(n) ? ` (${r.w1Note.get(n)})` : ""),
    });
  }
}
if (workloads.includes("W2")) {
  cols.push({
    head: "W2 ms/step",
    higherBetter: false,
    get: (r) => {
      const key = [...rows].find(([, v]) => v === r)![0];
      if (mismatched.has(key)) return undefined;
      return Math.min(med(r.w2) ?? Infinity, med(r.w2jit) ?? Infinity);
    },
    cell: (r) => {
      const s = spread(r.w2, 1);
      const mark = mismatched.has([...rows].find(([, v]) => v === r)![0]) ? " MISMATCH" : "";
      return (r.w2jit.length ? `${s} (jit ${spread(r.w2jit, 1)})` : s) + mark;
    },
  });
}
if (workloads.includes("W3")) {
  cols.push({
    head: "W3 ms",
    higherBetter: false,
    get: (r) => med(r.w3),
    cell: (r) => spread(r.w3, 2),
  });
}

const all = [...rows.values()];
const project = all.find((r) => r.isProject);
const project1 = all.find((r) => !r.isPeer && !r.isProject);
const peers = all.filter((r) => r.isPeer);
const peers1 = peers.filter((r) => r.threads === "1" || r.threads === "1 worker");

const table: string[][] = [["implementation", "threads", ...cols.map((c) => c.head)]];
for (const r of all) table.push([r.name, r.threads, ...cols.map((c) => c.cell(r))]);
/** The best peer's median and the project's ratio to it, per column. */
function compareRows(label: string, mine: Row | undefined, against: Row[]): void {
  if (!mine || against.length === 0) return;
  const best: string[] = [`best ${label} peer (median)`, ""];
  const ratio: string[] = [`${mine.name} vs best ${label} peer (×, >1 = faster)`, ""];
  for (const c of cols) {
    let b: Row | undefined;
    for (const p of against) {
      const v = c.get(p);
      if (v === undefined || !Number.isFinite(v)) continue;
      const bv = b ? c.get(b)! : undefined;
      if (bv === undefined || (c.higherBetter ? v > bv : v < bv)) b = p;
    }
    const pv = c.get(mine);
    if (!b || pv === undefined || !Number.isFinite(pv)) {
      best.push("—");
      ratio.push("—");
      continue;
    }
    const bv = c.get(b)!;
    best.push(`${fmt(bv, 2)} ${shortName(b)}`);
    const x = c.higherBetter ? pv / bv : bv / pv;
    ratio.push(x >= 1 ? `${x.toFixed(2)}` : `${x.toFixed(3)} (${(1 / x).toFixed(1)}× slower)`);
  }
  table.push(best, ratio);
}
compareRows("JS", project, peers);
compareRows("1-thread JS", project1, peers1);

function shortName(r: Row): string {
  const key = [...rows.entries()].find(([, v]) => v === r)?.[0] ?? r.name;
  return `(${key})`;
}

function render(t: string[][]): string {
  const w = t[0].map((_, i) => Math.max(...t.map((row) => [...row[i]].length)));
  const line = (row: string[]) =>
    "| " + row.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(" | ") + " |";
  const sep = "|" +
    w.map((n, i) => (i < 2 ? "-".repeat(n + 2) : "-".repeat(n + 1) + ":")).join("|") +
    "|";
  return [line(t[0]), sep, ...t.slice(1).map(line)].join("\n");
}

/** W3's exact answer: the float32 terms relu(fl(fl(a·b) + c)) summed in float64. */
function w3Reference(): number {
  const a = uniform(21, W3_N), b = uniform(22, W3_N), c = uniform(23, W3_N);
  let s = 0;
  for (let i = 0; i < W3_N; i++) {
    const v = Math.fround(Math.fround(a[i] * b[i]) + c[i]);
    if (v > 0) s += v;
  }
  return s;
}

const crossCheck = (ls: [number, number][]) =>
  ls.length
    ? `${[...new Set(ls.map(([a, b]) => `${a.toFixed(6)} → ${b.toFixed(6)}`))].join(", ")} ${
      lossOk(ls) ? "ok" : "MISMATCH"
    }`
    : "—";

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
