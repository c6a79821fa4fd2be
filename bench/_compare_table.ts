/**
 * `bench/compare.ts`'s table: the peers' results folded into one row per
 * implementation (each figure a list over the rounds), the W2 loss
 * cross-check, the columns (median with its range per workload), the
 * best-peer and ratio rows, and the plain-text rendering, with the figures
 * WORKLOADS.md gives for context and W3's float64 reference sum.
 *
 * @module
 */
import { type PeerResult, W3_N } from "./peers/_harness.ts";
import { median, uniform } from "./_workloads.ts";

/** The peers' figures in WORKLOADS.md (2026-11-27, same machine kind, unloaded), for context. */
export const WORKLOADS_MD: [string, string, string, string, string, string][] = [
  ["tfjs-backend-cpu 4.22", "1", "1.76", "1.05", "1215", "121"],
  ["tfjs-backend-wasm 4.22", "1", "36.7", "43.4", "394", "7.5"],
  ["jax-js 0.1.25, Wasm", "1 worker", "28.0", "34.0", "65.5 (jit 57.7)", "7.9"],
  ["jax-js 0.1.25, Wasm", "2 workers", "33.3", "66.2", "39.6 (jit 33.4)", "5.1"],
];

/** One printed row: an implementation (jax's jit run folded into its eager row). */
export interface Row {
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

/** The rows of `results`, by job id (a jit run joins its eager row). */
export function rowsOf(results: readonly PeerResult[]): Map<string, Row> {
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
  return rows;
}

/** The W2 loss cross-check: step 1's and step 23's expected loss, and the tolerance. */
export const REF_FIRST = 0.350971, REF_23 = 0.289500, TOL = 1e-5;
/** True when every round's losses match the cross-check. */
export const lossOk = (ls: [number, number][]) =>
  ls.every(([a, b]) => Math.abs(a - REF_FIRST) <= TOL && Math.abs(b - REF_23) <= TOL);
/** Rows whose W2 losses miss the cross-check in some round: their W2 is not compared. */
export function mismatchedRows(rows: ReadonlyMap<string, Row>): Set<string> {
  return new Set(
    [...rows].filter(([, r]) => !lossOk(r.loss) || !lossOk(r.lossJit)).map(([k]) => k),
  );
}

const med = (xs: number[] | undefined) => (xs && xs.length ? median(xs) : undefined);

const fmt = (x: number | undefined, digits = 1) =>
  x === undefined || !Number.isFinite(x) ? "—" : x >= 100 ? x.toFixed(0) : x.toFixed(digits);

/** One column of the table. */
export interface Col {
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

/** The columns for the chosen workloads and W1 sizes. */
export function columnsFor(
  rows: ReadonlyMap<string, Row>,
  mismatched: ReadonlySet<string>,
  workloads: readonly string[],
  sizes: readonly number[],
): Col[] {
  const keyOf = (r: Row) => [...rows].find(([, v]) => v === r)![0];
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
        if (mismatched.has(keyOf(r))) return undefined;
        return Math.min(med(r.w2) ?? Infinity, med(r.w2jit) ?? Infinity);
      },
      cell: (r) => {
        const s = spread(r.w2, 1);
        const mark = mismatched.has(keyOf(r)) ? " MISMATCH" : "";
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
  return cols;
}

/**
 * The table's cells: a header, one row per implementation, then the best
 * peer and the project's ratio to it (among all peers, and among the
 * one-thread peers for the one-thread project).
 */
export function comparisonTable(rows: ReadonlyMap<string, Row>, cols: readonly Col[]): string[][] {
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
  return table;
}

/** A Markdown-style table, the first two columns left-aligned and the rest right-aligned. */
export function render(t: string[][]): string {
  const w = t[0].map((_, i) => Math.max(...t.map((row) => [...row[i]].length)));
  const line = (row: string[]) =>
    "| " + row.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(" | ") + " |";
  const sep = "|" +
    w.map((n, i) => (i < 2 ? "-".repeat(n + 2) : "-".repeat(n + 1) + ":")).join("|") +
    "|";
  return [line(t[0]), sep, ...t.slice(1).map(line)].join("\n");
}

/** W3's exact answer: the float32 terms relu(fl(fl(a·b) + c)) summed in float64. */
export function w3Reference(): number {
  const a = uniform(21, W3_N), b = uniform(22, W3_N), c = uniform(23, W3_N);
  let s = 0;
  for (let i = 0; i < W3_N; i++) {
    const v = Math.fround(Math.fround(a[i] * b[i]) + c[i]);
    if (v > 0) s += v;
  }
  return s;
}

/** The distinct losses of the rounds, and whether they pass the cross-check. */
export const crossCheck = (ls: [number, number][]) =>
  ls.length
    ? `${[...new Set(ls.map(([a, b]) => `${a.toFixed(6)} → ${b.toFixed(6)}`))].join(", ")} ${
      lossOk(ls) ? "ok" : "MISMATCH"
    }`
    : "—";
