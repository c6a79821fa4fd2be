/**
 * `lora.wrap`: target selection (names, RegExp, all-linear), freezing,
 * exact equality with the base when fresh, init, scaling, counting.
 */
import assert from "node:assert/strict";
import { assertClose, manualSeed, randn } from "../../mod.ts";
import * as nn from "../../nn/mod.ts";
import * as optim from "../../optim/mod.ts";
import * as lora from "../../lora/mod.ts";
import { backendTest } from "../_backends.ts";
import { perturbB, TinyNet, valuesOf } from "./_model.ts";

backendTest("`wrap()` on a fresh model computes exactly what the base computes", async () => {
  const net = new TinyNet();
  const x = randn([5, 6]);
  const before = await net.forward(x).data();
  lora.wrap(net, ["q_proj", "v_proj"], 2, 4);
  assert.deepEqual(await net.forward(x).data(), before);
});

backendTest("`wrap()` replaces matched Linears and names parameters as the API says", () => {
  const net = lora.wrap(new TinyNet(), ["q_proj"], 2, 4);
  const q = net.layers[0].q_proj as lora.LoraLinear;
  assert.ok(q instanceof lora.LoraLinear && q.base instanceof nn.Linear);
  assert.ok(net.layers[0].v_proj instanceof nn.Linear);
  assert.deepEqual(q.loraA.shape, [2, 6]);
  assert.deepEqual(q.loraB.shape, [8, 2]);
  assert.equal(q.merged, false);
  assert.deepEqual([...net.namedParameters().keys()].slice(0, 6), [
    "layers.0.q_proj.base.weight",
    "layers.0.q_proj.base.bias",
    "layers.0.q_proj.loraA",
    "layers.0.q_proj.loraB",
    "layers.0.v_proj.weight",
    "layers.0.v_proj.bias",
  ]);
});

backendTest("`wrap()` freezes base weights: only loraA and loraB get gradients", () => {
  const net = lora.wrap(new TinyNet(), ["q_proj", "v_proj"], 2, 4);
  perturbB(net);
  net.forward(randn([3, 6])).sum().backward();
  for (const [k, p] of net.namedParameters()) {
    const adapter = k.endsWith("loraA") || k.endsWith("loraB");
    assert.equal(p.requiresGrad, adapter, k);
    assert.equal(p.grad !== null, adapter, k);
  }
});

backendTest("training a wrapped model changes only A and B", async () => {
  manualSeed(2);
  const net = lora.wrap(new TinyNet(), ["q_proj", "v_proj"], 2, 4);
  const before = await valuesOf(net);
  const opt = new optim.AdamW(net.parameters(), { lr: 1e-2 });
  const x = randn([8, 6]), y = randn([8, 4]);
  for (let i = 0; i < 3; i++) {
    opt.zeroGrad();
    nn.mseLoss(net.forward(x), y).backward();
    opt.step();
  }
  const after = await valuesOf(net);
  for (const k of Object.keys(before)) {
    const adapter = k.endsWith("loraA") || k.endsWith("loraB");
    assert.equal(before[k].join() !== after[k].join(), adapter, k);
  }
});

backendTest(
  "a target that matches nothing throws listing the Linear layers; nothing changes",
  () => {
    const net = new TinyNet();
    const names = [...net.namedParameters().keys()];
    assert.throws(
      () => lora.wrap(net, ["q_proj", "k_proj"], 2, 4),
      (e: Error) =>
        /"k_proj"/.test(e.message) &&
        ["layers.0.q_proj", "layers.1.v_proj", "lm_head"].every((n) =>
          e.message.includes(`"${n}"`)
        ),
    );
    assert.deepEqual([...net.namedParameters().keys()], names);
    assert.ok(net.parameters().every((p) => p.requiresGrad));
  },
);

backendTest("targets match by equality or `.`-suffix, as PEFT", () => {
  const net = lora.wrap(new TinyNet(), ["layers.1.q_proj"], 2, 4);
  assert.ok(net.layers[1].q_proj instanceof lora.LoraLinear);
  assert.ok(!(net.layers[0].q_proj instanceof lora.LoraLinear));
  assert.throws(() => lora.wrap(new TinyNet(), ["proj"], 2, 4), /"proj"/); // not a whole segment
});

backendTest("a RegExp target must match the whole dotted name", () => {
  const net = lora.wrap(new TinyNet(), /layers\.0\..*_proj/, 2, 4);
  assert.ok(net.layers[0].q_proj instanceof lora.LoraLinear);
  assert.ok(net.layers[0].v_proj instanceof lora.LoraLinear);
  assert.ok(!(net.layers[1].q_proj instanceof lora.LoraLinear));
  assert.throws(() => lora.wrap(new TinyNet(), /q_proj/, 2, 4), /matches no Linear/);
});

backendTest('"all-linear" wraps every Linear except lm_head', () => {
  const net = lora.wrap(new TinyNet(), "all-linear", 2, 4);
  for (const b of net.layers) {
    assert.ok(b.q_proj instanceof lora.LoraLinear && b.v_proj instanceof lora.LoraLinear);
  }
  assert.ok(net.lm_head instanceof nn.Linear);
  assert.equal(net.lm_head.parameters()[0].requiresGrad, false);
});

backendTest("scaling is alpha/r, or alpha/√r with rsLora", () => {
  const a = lora.wrap(new TinyNet(), ["q_proj"], 4, 8);
  assert.equal((a.layers[0].q_proj as lora.LoraLinear).scaling, 2);
  const b = lora.wrap(new TinyNet(), ["q_proj"], 4, 8, { rsLora: true });
  assert.equal((b.layers[0].q_proj as lora.LoraLinear).scaling, 4);
});

backendTest("loraA starts as PEFT's kaiming U(−1/√in, 1/√in), loraB at zero", async () => {
  const seq = lora.wrap(new nn.Sequential(new nn.Linear(64, 8)), ["0"], 16, 16, { seed: 4 });
  const l = seq.getModule("0") as lora.LoraLinear;
  const a = await l.loraA.data();
  const bound = 1 / 8;
  assert.ok(a.every((v) => Math.abs(v) <= bound));
  assert.ok(Math.max(...a) > 0.9 * bound && Math.min(...a) < -0.9 * bound);
  assert.ok((await l.loraB.data()).every((v) => v === 0));
});

backendTest('init "gaussian" draws loraA from N(0, (1/r)²) as PEFT', async () => {
  const seq = lora.wrap(new nn.Sequential(new nn.Linear(512, 4)), ["0"], 4, 4, {
    init: "gaussian",
    seed: 1,
  });
  const a = Array.from(await (seq.getModule("0") as lora.LoraLinear).loraA.data());
  const sd = Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
  assert.ok(Math.abs(sd - 0.25) < 0.02, `std ${sd}`);
});

backendTest("the seed option makes loraA reproducible", async () => {
  const a = lora.wrap(new TinyNet(), ["q_proj"], 2, 4, { seed: 42 });
  const b = lora.wrap(new TinyNet(), ["q_proj"], 2, 4, { seed: 42 });
  await assertClose(
    (a.layers[1].q_proj as lora.LoraLinear).loraA,
    (b.layers[1].q_proj as lora.LoraLinear).loraA,
    { atol: 0, rtol: 0 },
  );
});

backendTest("bad rank, alpha, dropout or targets throw and leave the model unchanged", () => {
  const net = new TinyNet();
  assert.throws(() => lora.wrap(net, ["q_proj"], 0, 4), /rank.*0/);
  assert.throws(() => lora.wrap(net, ["q_proj"], 1.5, 4), RangeError);
  assert.throws(() => lora.wrap(net, ["q_proj"], 2, Infinity), /alpha/);
  assert.throws(() => lora.wrap(net, ["q_proj"], 2, 4, { dropout: 1 }), /dropout/);
  assert.throws(() => lora.wrap(net, "q_proj" as unknown as string[], 2, 4), TypeError);
  assert.throws(() => lora.wrap(net, [], 2, 4), RangeError);
  assert.ok(net.layers[0].q_proj instanceof nn.Linear);
  assert.ok(net.parameters().every((p) => p.requiresGrad));
});

backendTest("adapter dropout is active in train mode only", async () => {
  manualSeed(0);
  const seq = lora.wrap(new nn.Sequential(new nn.Linear(16, 16)), ["0"], 4, 4, { dropout: 0.5 });
  perturbB(seq);
  const x = randn([4, 16]);
  const a = await seq.forward(x).data(), b = await seq.forward(x).data();
  assert.notDeepEqual(a, b);
  seq.eval();
  assert.deepEqual(await seq.forward(x).data(), await seq.forward(x).data());
});

backendTest("`parameterCount()`: Linear(1000, 1000) at rank 2 trains 4,000, 250× fewer", () => {
  const seq = new nn.Sequential(new nn.Linear(1000, 1000));
  assert.deepEqual(lora.parameterCount(seq), { trainable: 1_001_000, total: 1_001_000 });
  lora.wrap(seq, ["0"], 2, 4);
  const { trainable, total } = lora.parameterCount(seq);
  assert.equal(trainable, 4000);
  assert.equal(total, 1_001_000 + 4000);
  assert.equal(1_000_000 / trainable, 250);
});

backendTest("wrapping again adds adapters and keeps the earlier ones trainable", () => {
  const net = lora.wrap(new TinyNet(), ["q_proj"], 2, 4);
  lora.wrap(net, ["v_proj"], 4, 4);
  const q = net.layers[0].q_proj as lora.LoraLinear, v = net.layers[0].v_proj as lora.LoraLinear;
  assert.ok(q instanceof lora.LoraLinear && v instanceof lora.LoraLinear);
  assert.equal(q.rank, 2);
  assert.equal(v.rank, 4);
  assert.ok(q.loraA.requiresGrad && q.loraB.requiresGrad && v.loraA.requiresGrad);
  assert.ok(!(q.base instanceof lora.LoraLinear)); // never wrapped twice
  assert.throws(() => lora.wrap(net, ["q_proj"], 2, 4), /matches no Linear/);
});
