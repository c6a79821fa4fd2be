/**
 * `lora.merge` / `unmerge` / `unwrap` / `disabled`.
 */
import assert from "node:assert/strict";
import { assertClose, full, randn, type Tensor } from "../../mod.ts";
import * as nn from "../../nn/mod.ts";
import * as lora from "../../lora/mod.ts";
import { backendTest, deferredError } from "../_backends.ts";
import { perturbB, TinyNet, valuesOf } from "./_model.ts";

function wrapped(): TinyNet {
  const net = lora.wrap(new TinyNet(), ["q_proj", "v_proj"], 2, 6, { seed: 3 });
  perturbB(net);
  return net;
}

function q0(net: TinyNet): lora.LoraLinear {
  return net.layers[0].q_proj as lora.LoraLinear;
}

backendTest("`merge()` gives the unmerged output (≤ 1e-5)", async () => {
  const net = wrapped();
  const x = randn([4, 6]);
  const before = await net.forward(x).data();
  lora.merge(net);
  assert.ok(q0(net).merged);
  await assertClose(net.forward(x), before, { atol: 1e-5, rtol: 1e-5 });
});

backendTest("`merge()` then `unmerge()` restores W", async () => {
  const net = wrapped();
  const w0 = await q0(net).base.weight.data();
  lora.merge(net);
  assert.notDeepEqual(await q0(net).base.weight.data(), w0);
  lora.unmerge(net);
  assert.equal(q0(net).merged, false);
  await assertClose(q0(net).base.weight, w0, { atol: 1e-6, rtol: 1e-6 });
});

backendTest("`merge()` twice throws", () => {
  const net = wrapped();
  lora.merge(net);
  assert.throws(() => lora.merge(net), /already merged/);
  lora.unmerge(net);
  assert.throws(() => lora.unmerge(net), /no layer is merged/);
  assert.throws(() => lora.merge(new TinyNet()), /no LoRA layers/);
});

backendTest("a merge that would make W non-finite throws and changes nothing", async () => {
  const net = wrapped();
  const v = net.layers[1].v_proj as lora.LoraLinear;
  v.loraA.assign(full([...v.loraA.shape], 1e30));
  v.loraB.assign(full([...v.loraB.shape], 1e30));
  const before = await valuesOf(net);
  // On WebGPU the check runs on the device and the next read throws.
  const err = await deferredError(() => lora.merge(net), () => q0(net).base.weight);
  assert.ok(err instanceof RangeError, `expected a RangeError, got ${err}`);
  assert.ok(err.message.includes('"layers.1.v_proj"'), err.message);
  assert.deepEqual(await valuesOf(net), before); // no layer changed, not even layers.0
  assert.ok(!q0(net).merged && !v.merged);
  // The model still merges once the adapter is sane again.
  v.loraA.assign(0);
  lora.merge(net);
  assert.ok(q0(net).merged && v.merged);
});

backendTest("`disabled()` gives the base output, then restores the adapters", async () => {
  const net = wrapped();
  const x = randn([3, 6]);
  const base = new TinyNet();
  const sd: Record<string, Tensor> = {};
  for (const [k, p] of net.namedParameters()) {
    if (!k.includes("lora")) sd[k.replace(".base.", ".")] = p;
  }
  base.loadStateDict(sd);
  const withAdapters = await net.forward(x).data();
  {
    using _off = lora.disabled(net);
    await assertClose(net.forward(x), base.forward(x), { atol: 0, rtol: 0 });
  }
  assert.deepEqual(await net.forward(x).data(), withAdapters);
  lora.merge(net);
  {
    using _off = lora.disabled(net);
    await assertClose(net.forward(x), base.forward(x), { atol: 1e-5, rtol: 1e-5 });
  }
  assert.ok(q0(net).merged);
  await assertClose(net.forward(x), withAdapters, { atol: 1e-5, rtol: 1e-5 });
});

backendTest("`unwrap()` puts plain Linears back with the merged weights", async () => {
  const net = wrapped();
  const x = randn([3, 6]);
  const want = await net.forward(x).data();
  lora.unwrap(net);
  assert.ok(
    net.layers.every((b) => b.q_proj instanceof nn.Linear && b.v_proj instanceof nn.Linear),
  );
  assert.deepEqual([...net.namedParameters().keys()], [...new TinyNet().namedParameters().keys()]);
  assert.ok(net.parameters().every((p) => p.requiresGrad)); // restored
  await assertClose(net.forward(x), want, { atol: 1e-5, rtol: 1e-5 });
  assert.throws(() => lora.unwrap(net), /no LoRA layers/);
});
