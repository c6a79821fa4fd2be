/**
 * The fuzz loop shared by `deno task fuzz` and the test suite: trial k of
 * seed S is generated from its own seed, so a failure names the trial that
 * reproduces it, and the shrunk case is printed as code.
 *
 * @module
 */
import { setBackend } from "../../mod.ts";
import "../_primitives.ts";
import "./_narrow.ts";
import { Gen, Rng } from "./_gen.ts";
import { OPS, randomCase } from "./_ops.ts";
import { gradEligible, lastRun, runCase } from "./_run.ts";
import { shrink } from "./_shrink.ts";
import { reproduction } from "./_repro.ts";

/** What a fuzz run did. */
export interface FuzzReport {
  trials: number;
  invalid: number;
  gradChecked: number;
  /** Calls the narrow-binding backend refused (see `_run.ts` NARROW). */
  refused: number;
  /** The first failure, shrunk and printed, or null. */
  failure: string | null;
}

/** Options of {@link fuzz}. */
export interface FuzzOptions {
  backend: string;
  trials: number;
  seed: number;
  only?: readonly string[];
  /** Stop after this many milliseconds (the test suite's budget). */
  budgetMs?: number;
  progress?: (done: number) => void;
}

/** Runs trials until one fails (then shrinks it) or all pass. */
export async function fuzz(o: FuzzOptions): Promise<FuzzReport> {
  for (const n of o.only ?? []) if (!OPS.has(n)) throw new RangeError(`unknown op ${n}`);
  await setBackend(o.backend);
  const start = performance.now();
  const report: FuzzReport = { trials: 0, invalid: 0, gradChecked: 0, refused: 0, failure: null };
  for (let k = 0; k < o.trials; k++) {
    if (o.budgetMs !== undefined && performance.now() - start > o.budgetMs) break;
    const rng = new Rng((o.seed * 1000003 + k * 7919) >>> 0);
    const c = randomCase(new Gen(rng, rng.chance(0.3)), o.only);
    const grad = rng.chance(0.35) && gradEligible(c);
    let f;
    try {
      f = await runCase(c, o.backend, { grad });
    } catch (e) {
      f = { kind: "harness", detail: (e as Error).stack ?? String(e) };
    }
    report.trials++;
    if (grad) report.gradChecked++;
    if (lastRun.invalid) report.invalid++;
    if (lastRun.refused) report.refused++;
    o.progress?.(report.trials);
    if (f) {
      const s = f.kind === "harness" ? { c, f } : await shrink(c, o.backend, f, grad);
      report.failure = `FAIL (backend ${o.backend}, seed ${o.seed}, trial ${k}, op ${c.op}): ` +
        `${s.f.kind}: ${s.f.detail}\n${reproduction(s.c, o.backend)}`;
      break;
    }
  }
  return report;
}
