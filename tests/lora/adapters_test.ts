/**
 * Several named adapters: addAdapter, setAdapter, deleteAdapter, what
 * computes and what trains, memory, merging several, and the option
 * checks. Expected outputs are formed on the host in float64.
 */
import assert from "node:assert/strict";
import { assertClose, memory, randn, scope, type Tensor, tensor } from "../../mod.ts";
import * as nn from "../../nn/mod.ts";
import * as lora from "../../lora/mod.ts";
import { backendTest } from "../_backends.ts";
import { perturbB, TinyNet } from "./_model.ts";

/** y = x·Wᵀ + b + Σ s·(x·Aᵀ)·Bᵀ over the given adapters, in float64 on the host. */
async function hostLinear(
  x: Tensor,
  layer: lora.LoraLinear,
  names: string[],
): Promise<number[]> {
  const [m, k] = x.shape, n = layer.base.outFeatures;
  const xs = await x.data(), w = await layer.base.weight.data(), b = await layer.base.bias!.data();
  const out = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) {
    for (let o = 0; o < n; o++) {
      let s = b[o];
      for (let j = 0; j < k; j++) s += xs[i * k + j] * w[o * k + j];
      out[i * n + o] = s;
    }
  }
  for (const name of names) {
    const ad = layer.adapter(name)!;
    const A = await ad.loraA.data(), B = await ad.loraB.data(), r = ad.rank;
    for (let i = 0; i < m; i++) {
      const down = new Array<number>(r).fill(0);
      for (let q = 0; q < r; q++) {
        for (let j = 0; j < k; j++) down[q] += xs[i * k + j] * A[q * k + j];
      }
      for (let o = 0; o < n; o++) {
        let s = 0;
        for (let q = 0; q < r; q++) s += down[q] * B[o * r + q];
        out[i * n + o] += ad.scaling * s;
      }
    }
  }
  return out;
}

function twoAdapters(): { seq: nn.Sequential; layer: lora.LoraLinear } {
  const seq = lora.wrap(new nn.Sequential(new nn.Linear(5, 3)), ["0"], 2, 4, { seed: 1 });
  lora.addAdapter(seq, "b", { targets: ["0"], rank: 3, alpha: 3, seed: 2 });
  perturbB(seq, 7);
  const layer = seq.getModule("0") as lora.LoraLinear;
  const bb = layer.adapter("b")!.loraB;
  bb.assign(randn([...bb.shape]).mul(0.3));
  return { seq, layer };
}

backendTest("addAdapter adds an inactive, frozen adapter under adapters.<name>", () => {
  const { seq, layer } = twoAdapters();
  assert.deepEqual(lora.adapterNames(seq), ["default", "b"]);
  assert.deepEqual(lora.activeAdapters(seq), ["default"]);
  assert.deepEqual([...seq.namedParameters().keys()], [
    "0.base.weight",
    "0.base.bias",
    "0.loraA",
    "0.loraB",
    "0.adapters.b.loraA",
    "0.adapters.b.loraB",
  ]);
  assert.ok(layer.loraA.requiresGrad && !layer.adapter("b")!.loraA.requiresGrad);
  assert.throws(
    () => lora.addAdapter(seq, "b", { targets: ["0"], rank: 2, alpha: 2 }),
    /already/,
  );
});

backendTest("only the active adapters compute; several active add up (host float64)", async () => {
  const { seq, layer } = twoAdapters();
  const x = randn([4, 5]);
  await assertClose(seq.forward(x), await hostLinear(x, layer, ["default"]), {
    atol: 1e-5,
    rtol: 1e-5,
  });
  lora.setAdapter(seq, "b");
  await assertClose(seq.forward(x), await hostLinear(x, layer, ["b"]), { atol: 1e-5, rtol: 1e-5 });
  lora.setAdapter(seq, ["default", "b"]);
  await assertClose(seq.forward(x), await hostLinear(x, layer, ["default", "b"]), {
    atol: 1e-5,
    rtol: 1e-5,
  });
});

backendTest("only the active adapter receives gradients", () => {
  const { seq, layer } = twoAdapters();
  lora.setAdapter(seq, "b");
  scope(() => seq.forward(randn([2, 5])).sum().backward());
  const b = layer.adapter("b")!;
  assert.ok(b.loraA.grad !== null && b.loraB.grad !== null);
  assert.equal(layer.loraA.grad, null);
  assert.equal(layer.loraB.grad, null);
  assert.equal(layer.base.weight.grad, null);
});

backendTest("setAdapter allocates nothing and frees nothing", () => {
  const { seq } = twoAdapters();
  const before = memory();
  lora.setAdapter(seq, "b");
  lora.setAdapter(seq, ["b", "default"]);
  lora.setAdapter(seq, "default");
  assert.deepEqual(memory(), before);
});

backendTest("deleteAdapter frees its tensors (memory() shows it)", () => {
  const seq = lora.wrap(
    new nn.Sequential(new nn.Linear(5, 3), new nn.Linear(3, 3)),
    ["0", "1"],
    2,
    4,
  );
  lora.addAdapter(seq, "b", { targets: ["0", "1"], rank: 3, alpha: 3, useDora: true });
  const before = memory();
  lora.deleteAdapter(seq, "b");
  const after = memory();
  assert.equal(before.tensors - after.tensors, 6); // A, B and the magnitude of two layers
  assert.ok(after.bytes < before.bytes || after.buffers < before.buffers || before.bytes === 0);
  assert.deepEqual(lora.adapterNames(seq), ["default"]);
  assert.deepEqual([...seq.namedParameters().keys()].filter((k) => k.includes("adapters")), []);
});

backendTest("deleting the active adapter activates the first remaining one by name (PEFT)", () => {
  const { seq } = twoAdapters();
  lora.addAdapter(seq, "a2", { targets: ["0"], rank: 2, alpha: 2 });
  lora.setAdapter(seq, "b");
  lora.deleteAdapter(seq, "b");
  assert.deepEqual(lora.activeAdapters(seq), ["a2"]);
  assert.throws(() => lora.deleteAdapter(seq, "b"), /no adapter named "b"/);
});

backendTest("a merged adapter cannot be deleted; setAdapter unmerges first (PEFT)", async () => {
  const { seq, layer } = twoAdapters();
  const w0 = await layer.base.weight.data();
  lora.merge(seq);
  assert.throws(() => lora.deleteAdapter(seq, "default"), /merged/);
  lora.setAdapter(seq, "b");
  assert.equal(layer.merged, false);
  await assertClose(layer.base.weight, w0, { atol: 1e-6, rtol: 1e-6 });
});

backendTest("merge({ adapters }) folds the named adapters in, in order", async () => {
  const { seq, layer } = twoAdapters();
  const x = randn([3, 5]);
  lora.setAdapter(seq, ["default", "b"]);
  const want = await seq.forward(x).data();
  lora.merge(seq, { adapters: ["b"] });
  assert.deepEqual(layer.mergedAdapters, ["b"]);
  await assertClose(seq.forward(x), want, { atol: 1e-5, rtol: 1e-5 }); // default still live
  lora.merge(seq, { adapters: ["default"] });
  await assertClose(seq.forward(x), want, { atol: 1e-5, rtol: 1e-5 });
  assert.throws(() => lora.merge(seq, { adapters: ["b"] }), /already merged/);
  assert.throws(() => lora.merge(seq, { adapters: ["zz"] }), /no adapter named "zz"/);
  lora.unmerge(seq);
  assert.deepEqual(layer.mergedAdapters, []);
});

for (const useDora of [false, true]) {
  backendTest(
    `100 merge/unmerge cycles${useDora ? " (DoRA)" : ""} return W within 1e-6 relative`,
    async () => {
      const seq = lora.wrap(new nn.Sequential(new nn.Linear(16, 12)), ["0"], 4, 8, {
        seed: 3,
        useDora,
      });
      perturbB(seq, 5);
      const layer = seq.getModule("0") as lora.LoraLinear;
      if (useDora) layer.loraMagnitude!.assign(layer.loraMagnitude!.mul(1.3));
      const w0 = Array.from(await layer.base.weight.data());
      for (let i = 0; i < 100; i++) {
        lora.merge(seq);
        lora.unmerge(seq);
      }
      const w = await layer.base.weight.data();
      let num = 0, den = 0;
      w0.forEach((v, i) => {
        num += (w[i] - v) ** 2;
        den += v * v;
      });
      assert.ok(Math.sqrt(num / den) <= 1e-6, `relative error ${Math.sqrt(num / den)}`);
    },
  );
}

backendTest(
  "a fresh DoRA adapter computes what the base computes (magnitude = ‖W‖ rows)",
  async () => {
    const base = new TinyNet();
    const x = randn([3, 6]);
    const want = await base.forward(x).data();
    lora.wrap(base, ["q_proj", "v_proj"], 2, 4, { useDora: true, seed: 2 });
    await assertClose(base.forward(x), want, { atol: 1e-5, rtol: 1e-5 });
    const q = base.layers[0].q_proj as lora.LoraLinear;
    const w = await q.base.weight.data(), m = await q.loraMagnitude!.data();
    for (let o = 0; o < 8; o++) {
      let s = 0;
      for (let j = 0; j < 6; j++) s += w[o * 6 + j] ** 2;
      assert.ok(Math.abs(m[o] - Math.sqrt(s)) < 1e-5, `row ${o}`);
    }
  },
);

backendTest("the matching options pick PEFT's layers", async () => {
  const { EmbedNet } = await import("./_model.ts");
  const has = (net: nn.Module, n: string) => net.getModule(n) instanceof lora.LoraLayer;
  const a = lora.wrap(new EmbedNet(), ["q_proj", "v_proj"], 2, 4, { layersToTransform: [1] });
  assert.deepEqual(
    ["model.layers.0.q_proj", "model.layers.1.q_proj", "model.layers.1.v_proj"].map((n) =>
      has(a, n)
    ),
    [false, true, true],
  );
  const b = lora.wrap(new EmbedNet(), ["q_proj", "v_proj", "embed_tokens"], 2, 4, {
    excludeModules: ["v_proj"],
    rankPattern: { "layers\\.1\\.q_proj": 4 },
    alphaPattern: { embed_tokens: 6 },
  });
  assert.ok(!has(b, "model.layers.0.v_proj") && has(b, "model.embed_tokens"));
  const q1 = b.getModule("model.layers.1.q_proj") as lora.LoraLinear;
  const q0 = b.getModule("model.layers.0.q_proj") as lora.LoraLinear;
  assert.deepEqual([q0.rank, q1.rank], [2, 4]);
  assert.equal((b.getModule("model.embed_tokens") as lora.LoraEmbedding).alpha, 6);
  // PEFT finds a layer index only after a prefix (".layers.N."): a top-level
  // "layers.N" list has none, so nothing is left to adapt.
  assert.throws(
    () => lora.wrap(new TinyNet(), ["q_proj"], 2, 4, { layersToTransform: 0 }),
    /no layer is left/,
  );
  assert.throws(
    () => lora.wrap(new TinyNet(), ["q_proj"], 2, 4, { excludeModules: /.*/ }),
    /no layer is left/,
  );
});

backendTest("bad names and options throw before anything changes", () => {
  const net = new TinyNet();
  const names = [...net.namedParameters().keys()];
  assert.throws(() => lora.wrap(net, ["q_proj"], 2, 4, { adapterName: "a.b" }), TypeError);
  assert.throws(() => lora.wrap(net, ["q_proj"], 2, 4, { adapterName: "_x" }), TypeError);
  assert.throws(() => lora.wrap(net, ["q_proj"], 2, 4, { adapterName: "forward" }), TypeError);
  assert.throws(() => lora.wrap(net, ["q_proj"], 2, 4, { rankPattern: { q_proj: 0 } }), TypeError);
  assert.throws(() => lora.wrap(net, ["q_proj"], 2, 4, { layersToTransform: -1 }), RangeError);
  assert.throws(() => lora.wrap(net, ["q_proj"], 2, 4, { modulesToSave: ["nope"] }), /nope/);
  assert.throws(() => lora.wrap(net, ["q_proj"], 2, 4, { init: "pissa_x" as "pissa" }), TypeError);
  assert.deepEqual([...net.namedParameters().keys()], names);
  assert.ok(net.parameters().every((p) => p.requiresGrad));
  const w = lora.wrap(net, ["q_proj"], 2, 4);
  assert.throws(() => lora.setAdapter(w, "nope"), /no adapter named "nope"/);
  assert.throws(() => lora.setAdapter(w, []), TypeError);
  assert.deepEqual(lora.activeAdapters(w), ["default"]);
});

backendTest("an embedding adapter starts at zero, trains, merges and unmerges", async () => {
  const seq = new nn.Sequential(new nn.Embedding(7, 3));
  const ids = tensor([[1, 6], [0, 1]], { dtype: "int32" });
  const want = await seq.forward(ids).data();
  lora.wrap(seq, ["0"], 2, 4);
  const emb = seq.getModule("0") as lora.LoraEmbedding;
  assert.deepEqual(emb.loraEmbeddingA.shape, [2, 7]);
  assert.deepEqual(emb.loraEmbeddingB.shape, [3, 2]);
  assert.deepEqual(await seq.forward(ids).data(), want);
  emb.loraEmbeddingA.assign(randn([2, 7]));
  // Host: row i of the table gains s·(B·A)ᵀ[i] = s·Σq A[q,i]·B[:,q].
  const A = await emb.loraEmbeddingA.data(),
    B = await emb.loraEmbeddingB.data(),
    W = await emb.base.weight.data();
  const row = (i: number) =>
    [0, 1, 2].map((d) => W[i * 3 + d] + 2 * (A[i] * B[d * 2] + A[7 + i] * B[d * 2 + 1]));
  const expected = [1, 6, 0, 1].flatMap(row);
  await assertClose(seq.forward(ids), expected, { atol: 1e-5, rtol: 1e-5 });
  lora.merge(seq);
  await assertClose(seq.forward(ids), expected, { atol: 1e-5, rtol: 1e-5 });
  lora.unmerge(seq);
  await assertClose(emb.base.weight, W, { atol: 1e-6, rtol: 1e-6 });
});

backendTest(
  "a DoRA adapter active after a plain one scales PEFT's running result (host float64)",
  async () => {
    const seq = lora.wrap(new nn.Sequential(new nn.Linear(5, 3)), ["0"], 2, 4, { seed: 1 });
    lora.addAdapter(seq, "d", { targets: ["0"], rank: 2, alpha: 6, useDora: true, seed: 2 });
    perturbB(seq, 7);
    const layer = seq.getModule("0") as lora.LoraLinear;
    const d = layer.adapter("d")!;
    d.loraB.assign(randn([3, 2]).mul(0.5));
    d.loraMagnitude!.assign(tensor([0.7, 1.3, 0.9]));
    lora.setAdapter(seq, ["default", "d"]);
    const x = randn([4, 5]);
    const r1 = await hostLinear(x, layer, ["default"]);
    const W = await layer.base.weight.data(), b = await layer.base.bias!.data();
    const A = await d.loraA.data(), B = await d.loraB.data(), m = await d.loraMagnitude!.data();
    const xs = await x.data(), s = d.scaling;
    const want: number[] = [];
    for (let i = 0; i < 4; i++) {
      for (let o = 0; o < 3; o++) {
        let n2 = 0, lora = 0;
        for (let j = 0; j < 5; j++) {
          const w = W[o * 5 + j] + s * (B[o * 2] * A[j] + B[o * 2 + 1] * A[5 + j]);
          n2 += w * w;
        }
        for (let q = 0; q < 2; q++) {
          let down = 0;
          for (let j = 0; j < 5; j++) down += xs[i * 5 + j] * A[q * 5 + j];
          lora += down * B[o * 2 + q];
        }
        const c = m[o] / Math.sqrt(n2), r = r1[i * 3 + o];
        want.push(r + (c - 1) * (r - b[o]) + c * s * lora);
      }
    }
    await assertClose(seq.forward(x), want, { atol: 1e-5, rtol: 1e-5 });
  },
);

backendTest("embedding adapters and DoRA magnitudes land in LoRA+'s groups as PEFT's", async () => {
  const { EmbedNet } = await import("./_model.ts");
  const { optim } = await import("../../mod.ts");
  const net = lora.wrap(new EmbedNet(), ["q_proj", "embed_tokens"], 2, 4, { useDora: true });
  const names = new Map([...net.namedParameters()].map(([k, p]) => [p, k]));
  const groups = optim.loraPlusGroups(net, { lr: 1e-3 }).map((g) =>
    g.params.map((p) => names.get(p as Tensor)!).sort()
  );
  assert.deepEqual(groups, [
    ["model.layers.0.q_proj.loraA", "model.layers.1.q_proj.loraA"],
    ["model.embed_tokens.loraEmbeddingA", "model.embed_tokens.loraEmbeddingB"],
    ["model.layers.0.q_proj.loraB", "model.layers.1.q_proj.loraB"],
    [
      "model.embed_tokens.loraMagnitude",
      "model.layers.0.q_proj.loraMagnitude",
      "model.layers.1.q_proj.loraMagnitude",
    ],
  ]);
});

backendTest("DoRA on a Conv1D (fan_in_fan_out): fresh = base, merged = unmerged", async () => {
  const seq = new nn.Sequential(new nn.Conv1D(5, 4));
  const conv = seq.getModule("0") as nn.Conv1D;
  conv.weight.assign(randn([5, 4]));
  const x = randn([3, 5]);
  const base = await seq.forward(x).data();
  lora.wrap(seq, ["0"], 2, 4, { useDora: true, seed: 5 });
  await assertClose(seq.forward(x), base, { atol: 1e-5, rtol: 1e-5 });
  const l = seq.getModule("0") as lora.LoraLinear;
  l.loraB.assign(randn([4, 2]));
  l.loraMagnitude!.assign(l.loraMagnitude!.mul(1.2));
  const want = await seq.forward(x).data();
  const w0 = await conv.weight.data();
  lora.merge(seq);
  await assertClose(seq.forward(x), want, { atol: 1e-5, rtol: 1e-5 });
  lora.unmerge(seq);
  await assertClose(conv.weight, w0, { atol: 1e-6, rtol: 1e-6 });
});
