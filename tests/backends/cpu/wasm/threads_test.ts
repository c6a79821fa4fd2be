/**
 * The worker's lifetime: `shutdownThreads()` (also run on the global
 * `unload` event, i.e. at process exit and at the end of each test file)
 * gets a confirmation that the worker left its loop, and a later big call
 * starts a fresh worker that computes correctly.
 */
import assert from "node:assert/strict";
import * as K from "../../../../backends/cpu/wasm/kernels.ts";
import { randn, setBackend } from "../../../../mod.ts";

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
