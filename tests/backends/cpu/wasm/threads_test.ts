/**
 * The worker's lifetime: `shutdownThreads()` (also run on the global
 * `unload` event, i.e. at process exit and at the end of each test file)
 * gets a confirmation that the worker left its loop, and a later big call
 * starts a fresh worker that computes correctly; and the task messages
 * both threads read from the control block.
 */
import assert from "node:assert/strict";
import * as K from "../../../../backends/cpu/wasm/mod.ts";
import { randn, setBackend } from "../../../../mod.ts";
import {
  controlBlock,
  decodeTask,
  encodeTask,
  type Task,
} from "../../../../backends/cpu/wasm/thread_messages.ts";

Deno.test({
  name: "the worker stops on request, confirming it left its loop, and restarts on demand",
  ignore: !K.wasmSimdAvailable,
  fn: async () => {
    await setBackend("cpu");
    const a = randn([320, 320]);
    const want = await a.matmul(a).data(); // started the worker
    assert.equal(K.workerRunning(), true);
    assert.equal(K.shutdownThreads(), true, "the worker confirmed it stopped");
    assert.equal(K.workerRunning(), false);
    assert.equal(K.shutdownThreads(), true, "stopping twice is harmless");
    const again = await a.matmul(a).data(); // starts a new worker
    assert.equal(K.workerRunning(), true);
    assert.deepEqual(again, want);
    a.dispose();
  },
});

Deno.test({
  name: "a fresh worker stopped right after its first call confirms, every time",
  ignore: !K.wasmSimdAvailable,
  fn: async () => {
    // The race this holds: a worker slow to start, whose first task the
    // caller took back and ran itself, must still see the exit task that
    // follows at once (it once took its starting sequence number after
    // saying it was ready, so it could count the exit as already seen and
    // be terminated while parked; about 1 in 10 of these rounds failed).
    await setBackend("cpu");
    const a = randn([320, 320]);
    let confirmed = 0;
    const rounds = 40;
    for (let i = 0; i < rounds; i++) {
      (await a.matmul(a).data()).length; // starts a fresh worker
      if (K.shutdownThreads()) confirmed++;
    }
    a.dispose();
    assert.equal(confirmed, rounds);
  },
});

Deno.test("a task survives encodeTask/decodeTask unchanged (every kind)", () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const block = controlBlock(memory);
  const big = 2 ** 32 - 64; // addresses past 2³¹ come back unsigned
  const tasks: Task[] = [
    {
      op: "sgemm",
      call: {
        M: 7,
        N: 300,
        K: 33,
        a: { data: 4096, offset: 3, rowStride: 1, colStride: 7 },
        b: { data: big, offset: 0, rowStride: 300, colStride: 1 },
        c: { data: 8192, offset: 5, ld: 301 },
        accumulate: true,
      },
      share: { buffer: 65536, shareA: false, chunk: 24 },
    },
    { op: "map", kernel: 5, x: 1024, y: big, scalar: -0.375, out: 2048, n: 1 << 20 },
    { op: "sum", ptr: big, n: 8193 },
    {
      op: "rows",
      kernel: 7,
      x: big,
      y: 4096,
      out: 8192,
      n: 64,
      dims: [4, 9, 128, 3],
      sx: [73728, 64, 576, 0],
      sy: [0, 1, 0, 2 ** 30 - 1],
      so: [73728, 8192, 64, 1],
      start: 17,
      end: 4608,
    },
    {
      op: "adam",
      param: 64,
      grad: 128,
      m: 192,
      v: big,
      n: 17,
      consts: {
        wd: 0.01,
        b1: 0.9,
        omb1: 0.1,
        b2: 0.999,
        omb2: 1e-3,
        decay: 1,
        negStep: -1e-3,
        sqrtBc2: 0.5,
        eps: 1e-8,
      },
    },
    { op: "exit" },
  ];
  for (const task of tasks) {
    encodeTask(block, task);
    assert.deepEqual(decodeTask(block), task);
  }
});

Deno.test("a row task of more dimensions than the control block holds is refused", () => {
  const block = controlBlock(new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }));
  const five = [2, 2, 2, 2, 2];
  const task: Task = {
    op: "rows",
    ...{ kernel: 0, x: 0, y: 0, out: 0, n: 8, dims: five, sx: five, sy: five, so: five },
    ...{ start: 0, end: 32 },
  };
  assert.throws(() => encodeTask(block, task), /row task of 5 dims \(at most 4\)/);
});
