/**
 * The op fuzz suite in `deno task test`: a fixed seed and trial count per
 * backend (deterministic in CI). `deno task fuzz` runs it at length with
 * other seeds.
 */
import assert from "node:assert/strict";
import { availableBackends, backendTest, isCpu } from "../_backends.ts";
import { fuzz } from "./_fuzz.ts";
import { NARROW } from "./_run.ts";

backendTest(
  "fuzzed ops match the float64 reference or throw typed errors; nothing leaks or changes",
  async (b) => {
    const report = await fuzz({ backend: b, trials: isCpu(b) ? 20000 : 1200, seed: 20261202 });
    assert.equal(report.failure, null, report.failure ?? "");
    assert.ok(report.invalid > report.trials / 10, `only ${report.invalid} invalid calls`);
    assert.ok(
      report.gradChecked > report.trials / 20,
      `only ${report.gradChecked} gradient checks`,
    );
  },
);

Deno.test({
  name: "fuzzed ops on a device with 512-byte bindings: windows give the reference's values, " +
    "or the op refuses with a RangeError and leaves inputs and memory as they were",
  ignore: !(await availableBackends()).includes("webgpu"),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const report = await fuzz({ backend: NARROW, trials: 800, seed: 20261202 });
    assert.equal(report.failure, null, report.failure ?? "");
    assert.ok(report.refused < report.trials / 10, `${report.refused} refused`);
  },
});
