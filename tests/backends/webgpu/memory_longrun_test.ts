/**
 * Long-run memory: the demo's model (`demo/model.ts`), LoRA-wrapped as the
 * demo does, trained for a few hundred steps with the demo's step
 * (`demo/tasks.ts` batches, `nn.crossEntropy`, Adam, everything inside
 * `scope()`), with held-out predictions in between. After the first steps
 * (Adam's moments are made on the first one) the live tensors, buffers and
 * bytes must not change at all, on every backend; once the model and the
 * optimizer are disposed, memory is back where it started.
 *
 * On WebGPU it also checks that a step stays batched: a few submits and one
 * read per step, not one submit per scalar operand.
 *
 * Runs on each backend `tests/_backends.ts` can start here; WebGPU is
 * skipped (not failed) without an adapter.
 *
 * @module
 */

import assert from "node:assert/strict";
import { memory } from "../../../mod.ts";
import { backendInstance } from "../../../backends/registry.ts";
import type { WebGpuBackend } from "../../../backends/webgpu/mod.ts";
import { startLoraRun } from "../../_demo_training.ts";
import { backendTest } from "../../_backends.ts";

/** Small batches keep the run short on a software adapter; the graph is the same. */
const BATCH = 8;
const PRETRAIN_STEPS = 10;
const LORA_STEPS = 300;
/** Memory is compared from this step on. */
const SETTLED = 20;

type Mem = ReturnType<typeof memory>;

/** Counts the WebGPU scheduler's submits and reads (null on other backends). */
function countSubmits(backend: string): { flush: number; read: number } | null {
  if (backend !== "webgpu") return null;
  const ctx = (backendInstance("webgpu") as WebGpuBackend).ctx;
  const counts = { flush: 0, read: 0 };
  const flush = ctx.flush.bind(ctx), read = ctx.read.bind(ctx);
  ctx.flush = () => {
    counts.flush++;
    flush();
  };
  ctx.read = (gpu, bytes) => {
    counts.read++;
    return read(gpu, bytes);
  };
  return counts;
}

backendTest(
  "the demo's LoRA training keeps live tensors, buffers and bytes flat for 300 steps",
  async (backend) => {
    const start = memory();
    const run = await startLoraRun({
      batch: BATCH,
      pretrainSteps: PRETRAIN_STEPS,
      steps: LORA_STEPS,
      predictEvery: 50,
    });
    const counts = countSubmits(backend);
    const snapshots: [number, Mem][] = [];
    const losses: number[] = [];
    let submitsAtSettled = 0, readsAtSettled = 0;
    for (let s = 1; s <= LORA_STEPS; s++) {
      losses.push(await run.next());
      if (s === SETTLED && counts) {
        submitsAtSettled = counts.flush;
        readsAtSettled = counts.read;
      }
      if (s >= SETTLED && s % 20 === 0) snapshots.push([s, memory()]);
    }

    assert.ok(losses.every(Number.isFinite), "every loss is finite");
    const first = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
    const last = losses.slice(-10).reduce((a, b) => a + b) / 10;
    assert.ok(last < first, `LoRA training lowers the loss (${first} → ${last})`);

    const [, settled] = snapshots[0];
    for (const [s, m] of snapshots) {
      assert.deepEqual(m, settled, `memory at step ${s} vs step ${SETTLED} on ${backend}`);
    }
    const end = snapshots[snapshots.length - 1];
    assert.equal(end[0], LORA_STEPS);

    if (counts) {
      const steps = LORA_STEPS - SETTLED;
      // Reads: one loss per step, one prediction per 50 steps.
      const reads = counts.read - readsAtSettled;
      assert.ok(reads <= steps + steps / 50 + 1, `${reads} reads in ${steps} steps`);
      // About 200 dispatches a step, submitted 64 at a time plus one for the read.
      const perStep = (counts.flush - submitsAtSettled) / steps;
      assert.ok(perStep <= 8, `${perStep.toFixed(1)} submits per step`);
    }

    run.dispose();
    assert.deepEqual(memory(), start, "memory is back to where it started");
  },
);
