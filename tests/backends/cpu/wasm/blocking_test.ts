import assert from "node:assert/strict";
import {
  BLOCKING,
  checkBlocking,
  microKernelRegisters,
  V128_REGISTERS,
} from "../../../../backends/cpu/wasm/blocking.ts";

Deno.test("sgemm blocking: the shipped constants hold their invariants", () => {
  checkBlocking();
  assert.equal(BLOCKING.MC % BLOCKING.MR, 0);
  assert.equal(BLOCKING.NC % BLOCKING.NR, 0);
  assert.ok(microKernelRegisters() <= V128_REGISTERS);
});

Deno.test("sgemm blocking: a broken invariant throws at module build time", () => {
  const bad: [Partial<typeof BLOCKING>, RegExp][] = [
    [{ MC: 121 }, /MC must be a multiple of MR/],
    [{ NC: 2044 }, /NC must be a multiple of NR/],
    [{ MR: 8 }, /19 v128 values live, over 16/], // 16 accumulators + 2 + 1
    [{ NR: 12, NC: 2040 }, /keeps 22 v128 values live/],
    [{ NR: 6 }, /NR must be a multiple of 4/],
    [{ KC: 0 }, /KC must be a positive integer/],
  ];
  for (const [change, message] of bad) {
    assert.throws(() => checkBlocking({ ...BLOCKING, ...change }), message);
  }
});
