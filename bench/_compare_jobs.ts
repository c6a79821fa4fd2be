/**
 * `bench/compare.ts`'s peer runners: the implementations it knows, the
 * jobs (one Deno process each: script, flags, workloads) it runs for a
 * choice of them, the machine description it prints, and running one job
 * with a timeout, reading its result line back.
 *
 * @module
 */
import { cpus } from "node:os";
import { type PeerResult, RESULT_MARK } from "./peers/_harness.ts";

/** The implementations `--only` chooses from. */
export const IMPLS = ["project", "tfjs-cpu", "tfjs-wasm", "jax"] as const;
/** One of {@link IMPLS}. */
export type ImplName = typeof IMPLS[number];

/** One process to run: a peer script with its flags and the workloads it measures. */
export interface Job {
  impl: ImplName;
  script: string;
  args: string[];
  workloads: string[];
}

const peersDir = new URL("./peers/", import.meta.url);

/** The jobs for `only` (in that order), each limited to the chosen `workloads`. */
export function jobsFor(only: readonly ImplName[], workloads: readonly string[]): Job[] {
  const jobs: Job[] = [];
  const wl = (ws: string[]) => ws.filter((w) => workloads.includes(w));
  for (const impl of only) {
    const add = (script: string, args: string[], ws = ["W1", "W2", "W3"]) =>
      jobs.push({ impl, script, args, workloads: wl(ws) });
    if (impl === "project") {
      add("project.ts", []);
      add("project.ts", ["--threads=1"]);
    }
    if (impl === "tfjs-cpu") add("tfjs.ts", ["--backend=cpu"]);
    if (impl === "tfjs-wasm") add("tfjs.ts", ["--backend=wasm"]);
    if (impl === "jax") {
      for (const w of [1, 2]) {
        add("jax.ts", [`--workers=${w}`]);
        add("jax.ts", [`--workers=${w}`, "--jit"], ["W2"]);
      }
    }
  }
  return jobs;
}

/** The machine and runtime the figures come from. */
export function machine() {
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

/** Runs one job's process (at most `timeoutS` seconds); a failure comes back as an error result. */
export async function runJob(
  job: Job,
  sizes: readonly number[],
  timeoutS: number,
): Promise<PeerResult> {
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
