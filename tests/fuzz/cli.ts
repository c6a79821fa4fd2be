/**
 * `deno task fuzz --trials N --seed S --backend B [--op NAME]`: the op fuzz
 * suite at length. Prints progress, and for the first failing case the
 * shrunk case as a one-line reproduction; exits 1 on a failure.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fuzz } from "./_fuzz.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    trials: { type: "string", default: "2000" },
    seed: { type: "string", default: "1" },
    backend: { type: "string", default: "cpu" },
    op: { type: "string", multiple: true },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(
    "deno task fuzz [--trials N] [--seed S] [--backend cpu|cpu-primitives|webgpu|webgpu-narrow] [--op NAME ...]",
  );
  Deno.exit(0);
}
const trials = Number(values.trials), seed = Number(values.seed);
const t0 = performance.now();
const report = await fuzz({
  backend: values.backend!,
  trials,
  seed,
  only: values.op,
  progress: (done) => {
    if (done % 1000 === 0) {
      console.log(`  ${done}/${trials} trials, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  },
});
const secs = ((performance.now() - t0) / 1000).toFixed(1);
console.log(
  `backend ${values.backend} seed ${seed}: ${report.trials} trials (${report.invalid} invalid calls, ` +
    `${report.gradChecked} gradient checks, ${report.refused} refused) in ${secs} s`,
);
if (report.failure) {
  console.log(report.failure);
  Deno.exit(1);
}
console.log("no failures");
