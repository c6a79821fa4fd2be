/**
 * `deno task soak:exit [--runs N]`: starts a fresh process N times (300 by
 * default) that starts the CPU backend's worker, computes, and exits, in
 * turn with the worker parked, busy, under `Deno.exit()` and with a WebGPU
 * device open (`_exit_child.ts`). Every run must exit 0, print its
 * checksum, report that the worker was stopped before the process ended,
 * and write nothing to stderr but the software adapter's notice.
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "300" } },
});
const runs = Number(values.runs);
const MODES = ["parked", "busy", "exit", "webgpu"];
const child = new URL("./_exit_child.ts", import.meta.url).pathname;
/** Lines Mesa's software adapter prints on some machines; not ours. */
const BENIGN = /XDG_RUNTIME_DIR/;

const failures: string[] = [];
const perMode = new Map<string, number>();
const t0 = performance.now();
for (let i = 0; i < runs; i++) {
  const mode = MODES[i % MODES.length];
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", child, mode],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr).split("\n")
    .filter((l) => l.trim() && !BENIGN.test(l)).join("\n");
  perMode.set(mode, (perMode.get(mode) ?? 0) + 1);
  const clean = out.code === 0 && out.signal === null && stderr === "" &&
    stdout.includes("checksum true") && stdout.includes("stopped before exit true");
  if (!clean) {
    failures.push(`run ${i} (${mode}): exit ${out.code} signal ${out.signal}\n${stdout}${stderr}`);
  }
}
const secs = ((performance.now() - t0) / 1000).toFixed(0);
console.log(
  `${runs} runs (${[...perMode].map(([m, n]) => `${n} ${m}`).join(", ")}) in ${secs} s: ` +
    `${failures.length} failed`,
);
for (const f of failures.slice(0, 5)) console.log(f);
if (failures.length > 0) Deno.exit(1);
