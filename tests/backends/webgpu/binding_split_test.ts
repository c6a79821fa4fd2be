/**
 * Tensors larger than one storage binding (`maxStorageBufferBindingSize`,
 * 128 MiB on the software adapter): matmul, linear (and its gradients) and
 * row gathers bind windows of the buffer, tile by tile; every other kernel
 * refuses with a RangeError instead of reading past its binding.
 *
 * The sweep runs on a second device whose binding limit the test lowers to
 * 4 KiB, so every product and gather of a few thousand elements is split;
 * one test uses a real table over 128 MiB on the default device. Expected
 * values are float64 host products and copies, never the code under test.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  assertClose,
  getBackend,
  lora,
  manualSeed,
  models,
  noGrad,
  rand,
  registerBackend,
  scope,
  setBackend,
  type Tensor,
  tensor,
} from "../../../mod.ts";
import { linear } from "../../../tensor/fused.ts";
import { createWebGpuBackend, type WebGpuBackend } from "../../../backends/webgpu/mod.ts";
import { initBackend } from "../../../backends/mod.ts";
import { backend } from "./helpers.ts";

const NARROW_BYTES = 4096;
let narrow: WebGpuBackend | null = null;
registerBackend("webgpu-narrow", async () => {
  narrow = await createWebGpuBackend({ name: "webgpu-narrow" });
  narrow.ctx.maxBindingBytes = NARROW_BYTES;
  return narrow;
});

function gpuCase(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: `webgpu: ${name}`,
    ignore: backend === null,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await initBackend("webgpu-narrow");
      await fn();
    },
  });
}

/** Host float64 `a[m, k] · b[k, n]` from row-major arrays. */
function hostMatmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number) {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p];
      for (let j = 0; j < n; j++) out[i * n + j] += av * b[p * n + j];
    }
  }
  return out;
}

/** Host transpose of a row-major [r, c] array. */
function hostT(x: ArrayLike<number>, r: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = x[i * c + j];
  return out;
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i], d = Math.abs(actual[i] - e);
    if (!(d <= 1e-4 + 1e-4 * Math.abs(e))) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${e}`);
    }
  }
}

async function values(t: Tensor): Promise<Float32Array> {
  return Float32Array.from(await t.data() as ArrayLike<number>);
}

gpuCase("products and gathers over a 4 KiB binding limit match host references", async () => {
  manualSeed(11);
  const on = { backend: "webgpu-narrow" };
  const dims = [
    [1, 1500, 3],
    [3, 2000, 1],
    [70, 90, 80],
    [5, 700, 300],
    [129, 33, 65],
    [17, 1100, 17],
    [64, 64, 64],
  ];
  for (const [m, k, n] of dims) {
    const what = `${m}×${k} by ${k}×${n}`;
    const x = rand([m, k], on), w = rand([n, k], on), bias = rand([n], on);
    const [xv, wv, bv] = [await values(x), await values(w), await values(bias)];
    const wt = hostT(wv, n, k);
    // linear: x · wᵀ + bias (w [n, k] bound through a transposed view).
    const ref = hostMatmul(xv, wt, m, k, n).map((v, i) => v + bv[i % n]);
    close(await values(linear(x, w, bias)), ref, `linear ${what}`);
    // matmul with a plain and a transposed right operand.
    close(await values(x.matmul(w.transpose(0, 1))), hostMatmul(xv, wt, m, k, n), `matmul ${what}`);
    const xt = rand([k, m], on); // used as its transpose [m, k]
    close(
      await values(xt.transpose(0, 1).matmul(w.transpose(0, 1))),
      hostMatmul(hostT(await values(xt), k, m), wt, m, k, n),
      `matmul of a transposed left operand ${what}`,
    );
    // Gradients of linear: dx = g · w (the inner dimension n may be split)
    // and dw = gᵀ · x.
    const xg = x.detach(), wg = w.detach();
    xg.requiresGrad = true;
    wg.requiresGrad = true;
    const g = rand([m, n], on);
    const gv = await values(g);
    linear(xg, wg).backward(g);
    close(await values(xg.grad!), hostMatmul(gv, wv, m, n, k), `linear dx ${what}`);
    close(await values(wg.grad!), hostMatmul(hostT(gv, m, n), xv, n, m, k), `linear dw ${what}`);
    // Rows of a table over the limit, in any order, repeated. A single row
    // must fit one binding (with the offset alignment's slack).
    // (The gathered rows themselves stay under the limit.)
    const count = Math.max(1, Math.min(2 * m + 3, Math.floor(900 / k)));
    const iv = Array.from({ length: count }, (_, i) => (i * 7 + m) % n);
    const idx = tensor(iv, { dtype: "int32", ...on });
    if ((k + narrow!.ctx.offsetAlignElements) * 4 > NARROW_BYTES) {
      assert.throws(() => noGrad(() => w.indexSelect(0, idx)), RangeError);
      continue;
    }
    const rows = noGrad(() => w.indexSelect(0, idx));
    const expect = iv.flatMap((r) => Array.from(wv.subarray(r * k, (r + 1) * k)));
    close(await values(rows), expect, `indexSelect ${what}`);
    // A strided table (the right half of a wider one).
    const wide = rand([n, 2 * k], on);
    const wideV = await values(wide);
    const half = wide.narrow(1, k, k);
    const picked = noGrad(() => half.indexSelect(0, idx));
    close(
      await values(picked),
      iv.flatMap((r) => Array.from(wideV.subarray(r * 2 * k + k, (r + 1) * 2 * k))),
      `indexSelect of a strided table ${what}`,
    );
  }
  assert.ok(narrow !== null, "the narrow device was used");
});

gpuCase("elementwise kernels run in windows; others refuse with a RangeError", async () => {
  const big = rand([3000], { backend: "webgpu-narrow" }); // 12 KB > 4 KiB
  const host = await values(big);
  close(await values(big.exp()), Array.from(host, Math.exp), "exp");
  close(await values(big.mul(big)), Array.from(host, (v) => v * v), "mul");
  const half = big.reshape([60, 50]).narrow(1, 10, 40); // rows 50 apart
  close(
    await values(half.add(half)),
    Array.from({ length: 2400 }, (_, i) => 2 * host[Math.floor(i / 40) * 50 + 10 + (i % 40)]),
    "strided add",
  );
  // A transposed operand whose every output row reaches across the whole
  // tensor cannot be windowed by rows: refused, not read out of bounds.
  const tr = big.reshape([60, 50]).transpose(0, 1);
  assert.throws(() => tr.contiguous(), RangeError);
  assert.throws(() => big.sum(), (e: Error) => {
    assert.ok(e instanceof RangeError, String(e));
    assert.match(e.message, /maxStorageBufferBindingSize \(4096 bytes\)/);
    return true;
  });
  // The tensor is untouched and still readable.
  assert.equal((await big.data()).length, 3000);
});

gpuCase("an embedding table over 128 MiB: gather and tied output head", async () => {
  const b = backend!;
  const limit = b.device.limits.maxStorageBufferBindingSize;
  // 65,600 × 512 floats = 134,348,800 bytes, just over the software adapter's 128 MiB.
  const rowsN = Math.floor(limit / (512 * 4)) + 64, d = 512;
  const host = new Float32Array(rowsN * d);
  for (let i = 0; i < host.length; i++) host[i] = ((i * 7919) % 1009) / 1009 - 0.5;
  const table = tensor(host, { shape: [rowsN, d], backend: "webgpu" });
  const ids = [0, rowsN - 1, 12345, rowsN - 2, 7];
  const rows = table.indexSelect(0, tensor(ids, { dtype: "int32", backend: "webgpu" }));
  close(
    await values(rows),
    ids.flatMap((r) => Array.from(host.subarray(r * d, (r + 1) * d))),
    "rows",
  );
  // The tied head: logits = h · tableᵀ, every vocabulary column.
  const h = rows.narrow(0, 0, 2);
  const logits = await values(linear(h, table));
  const hv = host.subarray(0, 2 * d).map((_, i) => host[ids[Math.floor(i / d)] * d + (i % d)]);
  const expect = new Float64Array(2 * rowsN);
  for (let i = 0; i < 2; i++) {
    for (let r = 0; r < rowsN; r++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += hv[i * d + j] * host[r * d + j];
      expect[i * rowsN + r] = s;
    }
  }
  close(logits, expect, "tied head logits");
  table.dispose();
});

for (const name of ["llama_tied", "gpt2_hub"]) {
  gpuCase(
    `${name} with 4 KiB bindings (its embeddings and MLP weights split): logits, LoRA ` +
      `gradients and greedy tokens match the torch reference`,
    async () => {
      const dir = new URL(`../../fixtures/models/${name}/`, import.meta.url).pathname;
      const e = JSON.parse(await Deno.readTextFile(`${dir}expected.json`));
      const prev = getBackend();
      await setBackend("webgpu-narrow");
      try {
        const model = await models.fromPretrained(dir);
        const big = Object.entries(model.stateDict()).filter(([, t]) => t.size * 4 > NARROW_BYTES);
        assert.ok(big.length >= 2, "some weights exceed one binding");
        const ids = tensor(e.ids, { dtype: "int32" });
        await assertClose(model.forward(ids), e.logits, { atol: 1e-4, rtol: 1e-4 });
        await lora.load(model, `${dir}adapter`);
        const loss = scope(() => models.causalLmLoss(model.forward(ids), ids));
        await assertClose(loss, e.lora.loss, { atol: 1e-4, rtol: 1e-4 });
        loss.backward();
        const params = model.namedParameters();
        for (const [key, want] of Object.entries(e.lora.grads as Record<string, number[]>)) {
          const ours = key.replace(/\.lora_A\.weight$/, ".loraA").replace(
            /\.lora_B\.weight$/,
            ".loraB",
          );
          await assertClose(params.get(ours)!.grad!.reshape([-1]), want, {
            atol: 2e-4,
            rtol: 2e-4,
          });
        }
        const plain = await models.fromPretrained(dir);
        const out = await models.generate(plain, e.greedy.prompt, { maxNewTokens: 6 });
        assert.deepEqual(out, e.greedy.new_tokens);
      } finally {
        await setBackend(prev);
      }
    },
  );
}
