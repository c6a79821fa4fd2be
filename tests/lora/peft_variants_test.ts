/**
 * PEFT-layout directories with several adapters, DoRA, embedding adapters
 * and modules_to_save, written by tests/fixtures/gen_peft_variants.py with
 * reference code that follows PEFT's functions: they load, and give PEFT's
 * outputs, gradients, merged weights and weighted combinations (1e-4).
 */
import assert from "node:assert/strict";
import { assertClose, linalg, noGrad, randn, scope, type Tensor, tensor } from "../../mod.ts";
import * as nn from "../../nn/mod.ts";
import * as lora from "../../lora/mod.ts";
import { backendTest } from "../_backends.ts";
import { type EmbedNet, embedNetFrom } from "./_model.ts";

const DIR = new URL("../fixtures/peft_variants/", import.meta.url);
const E = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/peft_variants_expected.json", import.meta.url)),
);
const TOL = { atol: 1e-4, rtol: 1e-4 };

function ids(): Tensor {
  return tensor(E.ids, { dtype: "int32" });
}

function base(): EmbedNet {
  return embedNetFrom(E.base_state).eval();
}

async function multi(): Promise<EmbedNet> {
  const net = base();
  await lora.load(net, new URL("multi/", DIR));
  await lora.load(net, new URL("multi/", DIR), { adapterName: "other" });
  await lora.load(net, new URL("multi/", DIR), { adapterName: "third" });
  return net;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lora_variants_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

backendTest(
  "three PEFT adapters load from one directory and each gives PEFT's output",
  async () => {
    const net = await multi();
    assert.deepEqual(lora.adapterNames(net), ["default", "other", "third"]);
    assert.deepEqual(lora.activeAdapters(net), ["default"]); // a later load is not active
    const x = ids();
    await assertClose(net.forward(x), E.multi.default, TOL);
    lora.setAdapter(net, "other");
    await assertClose(net.forward(x), E.multi.other, TOL);
    lora.setAdapter(net, "third");
    await assertClose(net.forward(x), E.multi.third, TOL);
    lora.setAdapter(net, ["default", "other"]);
    await assertClose(net.forward(x), E.multi.default_other, TOL);
    {
      using _off = lora.disabled(net);
      await assertClose(net.forward(x), E.multi.base, TOL);
    }
  },
);

backendTest("the config's matching rules pick PEFT's layers", async () => {
  const net = await multi();
  const layer = (n: string) => net.getModule(n) as lora.LoraLayer;
  // other: q_proj and embed_tokens, exclude_modules "model.layers.0.q_proj".
  assert.ok(layer("model.embed_tokens") instanceof lora.LoraEmbedding);
  assert.equal(layer("model.layers.0.q_proj").adapter("other"), undefined);
  const q1 = layer("model.layers.1.q_proj").adapter("other")!;
  assert.deepEqual([q1.rank, q1.alpha, q1.scaling], [4, 2, 1]); // alpha_pattern, rsLora
  const emb = layer("model.embed_tokens").adapter("other")!;
  assert.deepEqual([emb.rank, emb.alpha], [2, 8]); // rank_pattern
  // third: layers_to_transform [0] with layers_pattern "layers".
  assert.ok(layer("model.layers.0.v_proj").adapter("third"));
  assert.equal(layer("model.layers.1.v_proj").adapter("third"), undefined);
});

backendTest(
  "per-row routing gives each row its own adapter's output (PEFT's mixed batch)",
  async () => {
    const net = await multi();
    {
      using _r = lora.routed(net, E.multi.routes);
      await assertClose(net.forward(ids()), E.multi.routed, TOL);
    }
    await assertClose(net.forward(ids()), E.multi.default, TOL); // routing ended
  },
);

for (const kind of ["linear", "cat"] as const) {
  backendTest(`addWeightedAdapter "${kind}" matches PEFT's arithmetic`, async () => {
    const net = await multi();
    const spec = E.multi[`weighted_${kind}`];
    lora.addWeightedAdapter(net, spec.names, spec.weights, "mix", { combination: kind });
    assert.deepEqual(lora.activeAdapters(net), ["default"]);
    lora.setAdapter(net, "mix");
    await assertClose(net.forward(ids()), spec.output, TOL);
    for (const [name, delta] of Object.entries(spec.delta)) {
      const a = (net.getModule(name) as lora.LoraLayer).adapter("mix")!;
      assert.equal(a.rank, spec.rank);
      assert.equal(a.scaling, 1); // lora_alpha = r, as PEFT
      await assertClose(noGrad(() => a.loraB.matmul(a.loraA)), delta as number[][], TOL);
    }
  });
}

backendTest("a DoRA adapter (Linear and Embedding) gives PEFT's output and gradients", async () => {
  const net = base().train();
  await lora.load(net, new URL("dora/", DIR));
  const layer = net.getModule("model.layers.1.v_proj") as lora.LoraLinear;
  assert.ok(layer.useDora && layer.loraMagnitude !== undefined);
  const out = net.forward(ids());
  await assertClose(out, E.dora.output, TOL);
  scope(() => out.mul(tensor(E.dora.grad_out)).sum().backward());
  for (const [key, want] of Object.entries(E.dora.grads)) {
    const [, layerName, slot] = /^(.*)\.([ABm])$/.exec(key)!;
    const a = (net.getModule(layerName) as lora.LoraLayer).adapter("default")!;
    const t = slot === "A" ? a.loraA : slot === "B" ? a.loraB : a.loraMagnitude!;
    await assertClose(t.grad!, want as number[], TOL);
  }
});

backendTest("DoRA merge writes PEFT's merged weights; unmerge restores W", async () => {
  const net = base();
  await lora.load(net, new URL("dora/", DIR));
  const before = await net.forward(ids()).data();
  const w0 = await (net.getModule("model.layers.0.q_proj") as lora.LoraLinear).base.weight.data();
  lora.merge(net);
  for (const [name, want] of Object.entries(E.dora.merged_weight)) {
    const l = net.getModule(name) as lora.LoraLayer;
    await assertClose((l.base as unknown as { weight: Tensor }).weight, want as number[][], TOL);
  }
  await assertClose(net.forward(ids()), before, TOL);
  lora.unmerge(net);
  const w1 = (net.getModule("model.layers.0.q_proj") as lora.LoraLinear).base.weight;
  await assertClose(w1, w0, { atol: 1e-6, rtol: 1e-6 });
});

backendTest(
  "a modules_to_save head loads as a trained copy and saves under its own name",
  async () => {
    const net = base();
    await lora.load(net, new URL("mts/", DIR));
    assert.ok(net.lm_head instanceof lora.ModulesToSaveWrapper);
    await assertClose(net.forward(ids()), E.mts.output, TOL);
    const names = [...net.namedParameters().keys()].filter((k) => k.startsWith("lm_head."));
    assert.deepEqual(names, [
      "lm_head.originalModule.weight",
      "lm_head.originalModule.bias",
      "lm_head.modulesToSave.default.weight",
      "lm_head.modulesToSave.default.bias",
    ]);
    assert.ok(!net.parameters()[0].requiresGrad);
    await withDir(async (dir) => {
      await lora.save(net, dir);
      const config = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
      assert.deepEqual(config.modules_to_save, ["lm_head"]);
      assert.equal(config.task_type, "SEQ_CLS");
      const fresh = base();
      await lora.load(fresh, dir);
      await assertClose(fresh.forward(ids()), E.mts.output, TOL);
    });
  },
);

backendTest(
  "save writes the default adapter in dir and others in dir/<name>/, as PEFT",
  async () => {
    const net = await multi();
    await withDir(async (dir) => {
      await lora.save(net, dir);
      for (const sub of ["", "/other", "/third"]) {
        await Deno.stat(`${dir}${sub}/adapter_model.safetensors`);
      }
      const other = JSON.parse(await Deno.readTextFile(`${dir}/other/adapter_config.json`));
      assert.deepEqual(other.exclude_modules, ["model.layers.0.q_proj"]);
      assert.deepEqual(other.rank_pattern, { embed_tokens: 2 });
      assert.deepEqual(other.alpha_pattern, { q_proj: 2 });
      assert.equal(other.use_rslora, true);
      assert.deepEqual(other.future_option, { nested: [1, 2] }); // unknown fields kept
      const third = JSON.parse(await Deno.readTextFile(`${dir}/third/adapter_config.json`));
      assert.deepEqual(third.layers_to_transform, [0]);
      assert.equal(third.layers_pattern, "layers");
      const fresh = base();
      await lora.load(fresh, dir);
      await lora.load(fresh, dir, { adapterName: "other" });
      lora.setAdapter(fresh, "other");
      await assertClose(fresh.forward(ids()), E.multi.other, TOL);
    });
  },
);

for (const kind of ["svd", "svd_clamp"] as const) {
  backendTest(`addWeightedAdapter "${kind}" matches PEFT's arithmetic`, async () => {
    const net = await multi();
    const spec = E.multi[`weighted_${kind}`];
    // A promise where the backend reads back asynchronously; done at once elsewhere.
    await lora.addWeightedAdapter(net, spec.names, spec.weights, "mix", {
      combination: "svd",
      svdRank: spec.rank,
      svdClamp: spec.clamp ?? undefined,
    });
    lora.setAdapter(net, "mix");
    await assertClose(net.forward(ids()), spec.output, TOL);
    for (const [name, delta] of Object.entries(spec.delta)) {
      const a = (net.getModule(name) as lora.LoraLayer).adapter("mix")!;
      assert.equal(a.rank, spec.rank);
      await assertClose(noGrad(() => a.loraB.matmul(a.loraA)), delta as number[][], TOL);
    }
  });
}

for (const init of ["pissa", "olora"] as const) {
  backendTest(`init "${init}" takes A and B from W and leaves the residual, as PEFT`, async () => {
    const net = base();
    const targets = ["model.layers.0.q_proj", "model.layers.1.v_proj"];
    await lora.wrapAsync(net, targets, 2, 4, { init });
    await assertClose(net.forward(ids()), E.multi.base, TOL); // the model is unchanged
    for (const name of targets) {
      const l = net.getModule(name) as lora.LoraLinear;
      const want = E.decomposition[init][name];
      await assertClose(l.base.weight, want.residual, TOL);
      await assertClose(noGrad(() => l.loraB.matmul(l.loraA).mul(2)), want.delta, TOL);
      assert.equal(l.init, init);
    }
  });
}

backendTest('init "pissa_niter_4": a randomised SVD; residual + s·B·A = W', async () => {
  // W with a clear gap after two singular values, where four power
  // iterations find the top-2 subspace closely (PEFT's svd_lowrank use).
  const seq = new nn.Sequential(new nn.Linear(16, 12));
  const lin = seq.getModule("0") as nn.Linear;
  const w = noGrad(() =>
    scope(() => randn([12, 2]).matmul(randn([2, 16])).add(randn([12, 16]).mul(0.01)))
  );
  lin.weight.assign(w);
  const { U, S, Vh } = await linalg.svd(w);
  const best = noGrad(() => U.narrow(1, 0, 2).mul(S.narrow(0, 0, 2)).matmul(Vh.narrow(0, 0, 2)));
  await lora.wrapAsync(seq, ["0"], 2, 4, { init: "pissa_niter_4", seed: 3 });
  const l = seq.getModule("0") as lora.LoraLinear;
  const delta = noGrad(() => l.loraB.matmul(l.loraA).mul(2));
  await assertClose(noGrad(() => l.base.weight.add(delta)), w, { atol: 1e-5, rtol: 1e-5 });
  await assertClose(delta, best, { atol: 1e-3, rtol: 1e-3 });
});

backendTest(
  'a trained PiSSA adapter (init_lora_weights "pissa") loads onto the original base',
  async () => {
    const net = base();
    await lora.load(net, new URL("pissa/", DIR)); // redoes pissa on W, then loads A and B
    await assertClose(net.forward(ids()), E.pissa_trained.output, TOL);
  },
);

backendTest("convertToLora saves a PiSSA adapter as plain LoRA for the original base", async () => {
  const net = base();
  await lora.load(net, new URL("pissa/", DIR));
  await withDir(async (dir) => {
    await lora.save(net, dir, { convertToLora: true });
    const config = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
    assert.deepEqual([config.r, config.lora_alpha, config.init_lora_weights], [4, 8, true]);
    const plain = base();
    await lora.load(plain, dir);
    await assertClose(plain.forward(ids()), E.pissa_trained.output, TOL);
    for (const [name, want] of Object.entries(E.pissa_trained.converted_delta)) {
      const l = plain.getModule(name) as lora.LoraLinear;
      await assertClose(
        noGrad(() => l.loraB.matmul(l.loraA).mul(l.scaling)),
        want as number[][],
        TOL,
      );
    }
  });
});

backendTest(
  "decomposition inits: wrap needs synchronous reads; DoRA cannot be converted",
  async () => {
    const net = base();
    if (tensor([1]).backend === "webgpu") {
      assert.throws(() => lora.wrap(net, ["q_proj"], 2, 4, { init: "pissa" }), /wrapAsync/);
      return;
    }
    lora.wrap(net, ["q_proj"], 2, 4, { init: "olora", useDora: true });
    await assertClose(net.forward(ids()), E.multi.base, TOL);
    await withDir(async (dir) => {
      await assert.rejects(() => lora.save(net, dir, { convertToLora: true }), /DoRA/);
    });
    assert.throws(() => lora.wrap(base(), ["q_proj"], 7, 4, { init: "pissa" }), RangeError);
    assert.throws(() => lora.wrap(base(), ["embed_tokens"], 2, 4, { init: "pissa" }), /Embedding/);
  },
);

backendTest("several adapters save to and load from a Map of files (a browser's)", async () => {
  const net = await multi();
  const files = new Map<string, Uint8Array>();
  await lora.save(net, files);
  assert.deepEqual([...files.keys()].sort(), [
    "adapter_config.json",
    "adapter_model.safetensors",
    "other/adapter_config.json",
    "other/adapter_model.safetensors",
    "third/adapter_config.json",
    "third/adapter_model.safetensors",
  ]);
  const fresh = base();
  await lora.load(fresh, files, { adapterName: "third" });
  await assertClose(fresh.forward(ids()), E.multi.third, TOL); // the model's first adapter: active
});

backendTest(
  "an adapter with the embedding's full weight (PEFT's save_embedding_layers) loads it",
  async () => {
    const net = base();
    await lora.load(net, new URL("embed_full/", DIR));
    await assertClose(net.forward(ids()), E.embed_full.output, TOL);
    const emb = net.getModule("model.embed_tokens") as lora.LoraEmbedding;
    assert.ok(emb.loraEmbeddingA.requiresGrad && !emb.base.weight.requiresGrad);
  },
);
