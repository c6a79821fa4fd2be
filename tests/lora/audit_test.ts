/**
 * Gaps found by hand mutation testing of `lora`: rsLora, the init kind and
 * the dropout through save/load, a RegExp `target_modules`, `unwrap()` of a
 * merged model, nested `disabled()`, and wrapping a model that is in eval
 * mode. Expected weights are formed on the host in float64.
 */
import assert from "node:assert/strict";
import { assertClose, randn, type Tensor } from "../../mod.ts";
import * as nn from "../../nn/mod.ts";
import * as lora from "../../lora/mod.ts";
import { backendTest } from "../_backends.ts";
import { perturbB, TinyNet } from "./_model.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lora_audit_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A fresh TinyNet with `src`'s base weights (adapters left out). */
function baseOf(src: TinyNet): TinyNet {
  const net = new TinyNet();
  const sd: Record<string, Tensor> = {};
  for (const [k, p] of src.namedParameters()) {
    if (!k.includes("lora")) sd[k.replace(".base.", ".")] = p;
  }
  net.loadStateDict(sd);
  return net;
}

const q0 = (n: TinyNet) => n.layers[0].q_proj as lora.LoraLinear;

backendTest("rsLora is saved as use_rslora and restores alpha/√r on load", async () => {
  const net = lora.wrap(new TinyNet(), ["q_proj", "v_proj"], 4, 8, { rsLora: true, seed: 2 });
  perturbB(net, 3);
  assert.equal(q0(net).scaling, 4); // 8 / √4
  const x = randn([3, 6]);
  const want = await net.forward(x).data();
  await withDir(async (dir) => {
    await lora.save(net, dir);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
    assert.equal(config.use_rslora, true);
    // Into a model wrapped without rsLora: the file's config wins (as PEFT).
    const wrapped = lora.wrap(baseOf(net), ["q_proj", "v_proj"], 4, 8);
    assert.equal(q0(wrapped).scaling, 2);
    await lora.load(wrapped, dir);
    assert.equal(q0(wrapped).scaling, 4);
    assert.equal(q0(wrapped).rsLora, true);
    await assertClose(wrapped.forward(x), want, { atol: 1e-6, rtol: 1e-6 });
    // Into the plain base model.
    const plain = baseOf(net);
    await lora.load(plain, dir);
    assert.equal(q0(plain).scaling, 4);
    await assertClose(plain.forward(x), want, { atol: 1e-6, rtol: 1e-6 });
  });
});

backendTest('init "gaussian" is saved as init_lora_weights "gaussian" (PEFT)', async () => {
  const net = lora.wrap(new TinyNet(), ["q_proj"], 2, 4, { init: "gaussian", seed: 1 });
  await withDir(async (dir) => {
    await lora.save(net, dir);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
    assert.equal(config.init_lora_weights, "gaussian");
  });
});

backendTest("adapter dropout is saved as lora_dropout and restored on load", async () => {
  const net = lora.wrap(new TinyNet(), ["q_proj", "v_proj"], 2, 4, { dropout: 0.1, seed: 1 });
  await withDir(async (dir) => {
    await lora.save(net, dir);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
    assert.equal(config.lora_dropout, 0.1);
    const plain = baseOf(net);
    await lora.load(plain, dir);
    assert.equal(q0(plain).dropoutP, 0.1);
  });
});

backendTest("a RegExp target is saved as PEFT's string target_modules (its source)", async () => {
  const net = lora.wrap(new TinyNet(), /layers\.0\..*_proj/, 2, 4, { seed: 1 });
  await withDir(async (dir) => {
    await lora.save(net, dir);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
    assert.equal(config.target_modules, "layers\\.0\\..*_proj");
  });
});

backendTest("`unwrap()` of a merged model adds s·B·A to W once", async () => {
  const net = lora.wrap(new TinyNet(), ["q_proj", "v_proj"], 2, 6, { seed: 5 });
  perturbB(net, 7);
  const l = q0(net);
  const [w0, a, b] = [
    Array.from(await l.base.weight.data()),
    Array.from(await l.loraA.data()),
    Array.from(await l.loraB.data()),
  ];
  const [n, k, r, s] = [8, 6, 2, 3]; // W [8,6], A [2,6], B [8,2], s = 6/2
  const want = Array.from({ length: n }, (_, i) =>
    Array.from({ length: k }, (_, j) => {
      let d = 0;
      for (let t = 0; t < r; t++) d += b[i * r + t] * a[t * k + j];
      return w0[i * k + j] + s * d;
    }));
  const x = randn([4, 6]);
  const y = await net.forward(x).data();
  lora.merge(net);
  const base = l.base;
  lora.unwrap(net);
  assert.equal(net.layers[0].q_proj, base);
  await assertClose(base.weight, want, { atol: 1e-5, rtol: 1e-5 });
  await assertClose(net.forward(x), y, { atol: 1e-5, rtol: 1e-5 });
});

backendTest("nested `disabled()`: closing the inner one keeps the adapters off", async () => {
  const net = lora.wrap(new TinyNet(), ["q_proj", "v_proj"], 2, 6, { seed: 3 });
  perturbB(net);
  const x = randn([3, 6]);
  const plain = baseOf(net);
  const base = await plain.forward(x).data();
  const adapted = await net.forward(x).data();
  assert.notDeepEqual(adapted, base);
  {
    using _outer = lora.disabled(net);
    {
      using _inner = lora.disabled(net);
      await assertClose(net.forward(x), base, { atol: 0, rtol: 0 });
    }
    assert.ok(!q0(net).enabled);
    await assertClose(net.forward(x), base, { atol: 0, rtol: 0 });
  }
  assert.ok(q0(net).enabled);
  await assertClose(net.forward(x), adapted, { atol: 0, rtol: 0 });
});

backendTest("wrapping a model in eval mode leaves every module in eval mode", async () => {
  // The library's rule (LoraLinear follows its base's mode): a model put in
  // eval mode stays deterministic after wrap, its adapter dropout off.
  const seq = new nn.Sequential(new nn.Linear(16, 16)).eval();
  lora.wrap(seq, ["0"], 4, 4, { dropout: 0.5, seed: 1 });
  perturbB(seq);
  assert.ok([...seq.namedModules().values()].every((m) => !m.training));
  const x = randn([4, 16]);
  const a = await seq.forward(x).data();
  assert.deepEqual(await seq.forward(x).data(), a);
  // Switching the model to train mode turns the adapter's dropout on.
  seq.train();
  assert.notDeepEqual(await seq.forward(x).data(), a);
});
