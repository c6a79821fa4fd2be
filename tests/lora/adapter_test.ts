/**
 * `lora.save` / `lora.load`: PEFT's directory layout, round trips, checks
 * that load nothing on a bad file, and an adapter built by hand with
 * PyTorch in PEFT's layout (tests/fixtures/gen_peft_adapter.py).
 */
import assert from "node:assert/strict";
import { assertClose, randn, type Tensor, tensor } from "../../mod.ts";
import { decodeSafetensors, encodeSafetensors } from "../../io/mod.ts";
import * as lora from "../../lora/mod.ts";
import { backendTest } from "../_backends.ts";
import { perturbB, TinyNet, valuesOf } from "./_model.ts";

const FIXTURE = new URL("../fixtures/peft_adapter/", import.meta.url);
const EXPECTED = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/peft_expected.json", import.meta.url)),
);

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lora_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function trained(): TinyNet {
  const net = lora.wrap(new TinyNet(), ["q_proj", "v_proj"], 2, 6, { seed: 8 });
  perturbB(net, 5);
  return net;
}

/** A fresh model with `src`'s base weights, wrapped the same way. */
function twin(src: TinyNet): TinyNet {
  const net = new TinyNet();
  const sd: Record<string, Tensor> = {};
  for (const [k, p] of src.namedParameters()) {
    if (!k.includes("lora")) sd[k.replace(".base.", ".")] = p;
  }
  net.loadStateDict(sd);
  return net;
}

backendTest(
  "`save()` → `load()` into a fresh wrapped model reproduces outputs exactly",
  async () => {
    const net = trained();
    const x = randn([4, 6]);
    const want = await net.forward(x).data();
    await withDir(async (dir) => {
      await lora.save(net, dir);
      const fresh = lora.wrap(twin(net), ["q_proj", "v_proj"], 2, 6, { seed: 99 });
      assert.notDeepEqual(await fresh.forward(x).data(), want);
      await lora.load(fresh, dir);
      assert.deepEqual(await fresh.forward(x).data(), want);
    });
  },
);

backendTest("`load()` into an unwrapped model wraps the file's layers", async () => {
  const net = trained();
  const x = randn([2, 6]);
  await withDir(async (dir) => {
    await lora.save(net, dir);
    const plain = twin(net);
    await lora.load(plain, dir);
    assert.ok(plain.layers[1].v_proj instanceof lora.LoraLinear);
    assert.deepEqual(await plain.forward(x).data(), await net.forward(x).data());
    assert.deepEqual(lora.parameterCount(plain), lora.parameterCount(net));
  });
});

backendTest("the saved files follow PEFT's layout", async () => {
  const net = trained();
  await withDir(async (dir) => {
    await lora.save(net, dir);
    const bytes = await Deno.readFile(`${dir}/adapter_model.safetensors`);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    assert.deepEqual(header.__metadata__, { format: "pt" });
    const keys = Object.keys(header).filter((k) => k !== "__metadata__").sort();
    assert.deepEqual(keys, EXPECTED.keys);
    for (const k of keys) assert.equal(header[k].dtype, "F32", k);
    assert.deepEqual(header["base_model.model.layers.0.q_proj.lora_A.weight"].shape, [2, 6]);
    assert.deepEqual(header["base_model.model.layers.0.q_proj.lora_B.weight"].shape, [8, 2]);
    assert.deepEqual(header["base_model.model.layers.1.v_proj.lora_A.weight"].shape, [2, 8]);
    assert.deepEqual(header["base_model.model.layers.1.v_proj.lora_B.weight"].shape, [6, 2]);
    const { tensors } = decodeSafetensors(bytes);
    const q = net.layers[0].q_proj as lora.LoraLinear;
    assert.deepEqual(
      tensors["base_model.model.layers.0.q_proj.lora_B.weight"].data,
      await q.loraB.data(),
    );
    const config = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
    assert.equal(config.peft_type, "LORA");
    assert.equal(config.r, 2);
    assert.equal(config.lora_alpha, 6);
    assert.deepEqual(config.target_modules, ["q_proj", "v_proj"]);
    assert.equal(config.lora_dropout, 0);
    assert.equal(config.use_rslora, false);
    assert.equal(config.bias, "none");
    assert.equal(config.task_type, null);
    assert.equal(config.base_model_name_or_path, null);
    assert.equal(config.fan_in_fan_out, false);
    assert.equal(config.init_lora_weights, true);
    assert.equal(config.inference_mode, true);
    assert.equal(config.modules_to_save, null);
    assert.deepEqual(config.rank_pattern, {});
    assert.deepEqual(config.alpha_pattern, {});
  });
});

async function rewrite(
  dir: string,
  edit: (t: Record<string, { shape: number[]; data: Float32Array }>) => void,
): Promise<void> {
  const path = `${dir}/adapter_model.safetensors`;
  const { tensors } = decodeSafetensors(await Deno.readFile(path));
  const plain: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, v] of Object.entries(tensors)) plain[k] = { shape: v.shape, data: v.data.slice() };
  edit(plain);
  await Deno.writeFile(path, encodeSafetensors(plain, { format: "pt" }));
}

backendTest("`load()` with an unknown key throws naming it and changes nothing", async () => {
  await withDir(async (dir) => {
    await lora.save(trained(), dir);
    await rewrite(dir, (t) => {
      t["base_model.model.layers.0.k_proj.lora_A.weight"] =
        t["base_model.model.layers.0.q_proj.lora_A.weight"];
      t["base_model.model.layers.0.k_proj.lora_B.weight"] =
        t["base_model.model.layers.0.q_proj.lora_B.weight"];
    });
    const target = lora.wrap(new TinyNet(), ["q_proj", "v_proj"], 2, 6);
    const before = await valuesOf(target);
    await assert.rejects(
      () => lora.load(target, dir),
      /"base_model\.model\.layers\.0\.k_proj\.lora_A\.weight"/,
    );
    assert.deepEqual(await valuesOf(target), before);
  });
});

backendTest("`load()` with a missing key throws naming it and changes nothing", async () => {
  await withDir(async (dir) => {
    await lora.save(trained(), dir);
    await rewrite(dir, (t) => delete t["base_model.model.layers.1.q_proj.lora_B.weight"]);
    const target = lora.wrap(new TinyNet(), ["q_proj", "v_proj"], 2, 6);
    const before = await valuesOf(target);
    await assert.rejects(
      () => lora.load(target, dir),
      /"base_model\.model\.layers\.1\.q_proj\.lora_B\.weight"/,
    );
    assert.deepEqual(await valuesOf(target), before);
  });
});

backendTest(
  "`load()` with a wrong shape throws naming key and shapes, changes nothing",
  async () => {
    await withDir(async (dir) => {
      await lora.save(trained(), dir);
      await rewrite(dir, (t) => {
        t["base_model.model.layers.1.v_proj.lora_B.weight"] = {
          shape: [6, 3],
          data: new Float32Array(18),
        };
      });
      const target = lora.wrap(new TinyNet(), ["q_proj", "v_proj"], 2, 6);
      const before = await valuesOf(target);
      await assert.rejects(
        () => lora.load(target, dir),
        (e: Error) =>
          e instanceof RangeError &&
          e.message.includes('"base_model.model.layers.1.v_proj.lora_B.weight"') &&
          e.message.includes("[6,3]") && e.message.includes("[6,2]"),
      );
      assert.deepEqual(await valuesOf(target), before);
    });
  },
);

backendTest(
  "`load()` into a model wrapped at other layers throws and changes nothing",
  async () => {
    await withDir(async (dir) => {
      await lora.save(trained(), dir);
      const target = lora.wrap(new TinyNet(), ["q_proj"], 2, 6);
      const before = await valuesOf(target);
      await assert.rejects(() => lora.load(target, dir), /v_proj/);
      assert.deepEqual(await valuesOf(target), before);
      await assert.rejects(() => lora.load(target, `${dir}/nope`), /adapter_config\.json/);
    });
  },
);

function fixtureBase(): TinyNet {
  const net = new TinyNet();
  const sd: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(EXPECTED.base_state)) sd[k] = tensor(v as number[]);
  net.loadStateDict(sd);
  return net;
}

backendTest("a PEFT-layout adapter made with torch loads and reproduces its outputs", async () => {
  const x = tensor(EXPECTED.x);
  const net = lora.wrap(fixtureBase(), ["q_proj", "v_proj"], 2, 1);
  await assertClose(net.forward(x), EXPECTED.y_base, { atol: 1e-5, rtol: 1e-5 });
  await lora.load(net, FIXTURE);
  assert.equal((net.layers[0].q_proj as lora.LoraLinear).scaling, EXPECTED.scaling); // from the config
  net.eval(); // the config's lora_dropout is 0.05
  await assertClose(net.forward(x), EXPECTED.y_lora, { atol: 1e-5, rtol: 1e-5 });
  lora.merge(net);
  await assertClose(net.forward(x), EXPECTED.y_lora, { atol: 1e-5, rtol: 1e-5 });
});

backendTest("a PEFT-layout adapter loads into the unwrapped base model", async () => {
  const net = fixtureBase();
  await lora.load(net, FIXTURE);
  net.eval();
  await assertClose(net.forward(tensor(EXPECTED.x)), EXPECTED.y_lora, { atol: 1e-5, rtol: 1e-5 });
  assert.equal((net.layers[1].v_proj as lora.LoraLinear).dropoutP, 0.05);
});

backendTest(
  "mixed ranks and alphas save as rank_pattern / alpha_pattern and load back",
  async () => {
    const net = lora.wrap(new TinyNet(), ["q_proj"], 2, 4, { seed: 1 });
    lora.wrap(net, ["v_proj"], 4, 12, { seed: 2 });
    perturbB(net, 9);
    const x = randn([2, 6]);
    await withDir(async (dir) => {
      await lora.save(net, dir);
      const config = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
      assert.equal(config.r, 2);
      assert.equal(config.lora_alpha, 4);
      assert.deepEqual(config.rank_pattern, { "layers.0.v_proj": 4, "layers.1.v_proj": 4 });
      assert.deepEqual(config.alpha_pattern, { "layers.0.v_proj": 12, "layers.1.v_proj": 12 });
      assert.deepEqual(config.target_modules, ["q_proj", "v_proj"]);
      const plain = twin(net);
      await lora.load(plain, dir);
      assert.equal((plain.layers[1].v_proj as lora.LoraLinear).scaling, 3);
      assert.deepEqual(await plain.forward(x).data(), await net.forward(x).data());
    });
  },
);
