/**
 * Checkpoints in Hugging Face's layout against the hand-written torch
 * references of `tests/fixtures/gen_models.py` (which mirror transformers'
 * modeling files): logits, the causal-LM loss with and without padding,
 * LoRA loaded from a PEFT directory (its loss and the gradients of every A
 * and B), and greedy continuations through the key/value cache; on every
 * backend. Also: the adapter this library saves for each architecture has
 * PEFT's keys, shapes and config.
 */
import assert from "node:assert/strict";
import { assertClose, lora, models, scope, tensor } from "../../mod.ts";
import { decodeSafetensors } from "../../io/mod.ts";
import { backendTest } from "../_backends.ts";

const ROOT = new URL("../fixtures/models/", import.meta.url);
const CASES = [
  "llama_mha",
  "llama_gqa",
  "llama_tied",
  "llama3_rope",
  "qwen2",
  "mistral",
  "gpt2",
  "gpt2_hub",
  "llama_bf16",
  "llama_sharded",
];
const TOL = { atol: 1e-4, rtol: 1e-4 };

interface Expected {
  ids: number[][];
  logits: number[][][];
  loss: number;
  masked: { attention_mask: number[][]; loss: number };
  lora: { loss: number; grads: Record<string, number[]> };
  greedy: { prompt: number[][]; new_tokens: number[][] };
}

async function expected(name: string): Promise<Expected> {
  return JSON.parse(await Deno.readTextFile(new URL(`${name}/expected.json`, ROOT)));
}

const dirOf = (name: string) => new URL(`${name}/`, ROOT).pathname;

for (const name of CASES) {
  backendTest(
    `\`fromPretrained\` ${name}: logits and losses match the torch reference`,
    async () => {
      const e = await expected(name);
      const model = await models.fromPretrained(dirOf(name));
      assert.equal(model.training, false, "returned in eval mode");
      const ids = tensor(e.ids, { dtype: "int32" });
      const logits = model.forward(ids);
      await assertClose(logits, e.logits, TOL);
      await assertClose(models.causalLmLoss(logits, ids), e.loss, TOL);
      const mask = tensor(e.masked.attention_mask, { dtype: "int32" });
      const masked = scope(() =>
        models.causalLmLoss(model.forward(ids, { attentionMask: mask }), ids, {
          attentionMask: mask,
        })
      );
      await assertClose(masked, e.masked.loss, TOL);
    },
  );

  backendTest(
    `\`fromPretrained\` ${name}: a PEFT adapter loads; loss and LoRA gradients match`,
    async () => {
      const e = await expected(name);
      const model = await models.fromPretrained(dirOf(name));
      await lora.load(model, `${dirOf(name)}adapter`);
      const ids = tensor(e.ids, { dtype: "int32" });
      const loss = scope(() => models.causalLmLoss(model.forward(ids), ids));
      await assertClose(loss, e.lora.loss, TOL);
      loss.backward();
      const params = model.namedParameters();
      for (const [key, want] of Object.entries(e.lora.grads)) {
        const ours = key.replace(/\.lora_A\.weight$/, ".loraA").replace(
          /\.lora_B\.weight$/,
          ".loraB",
        );
        const p = params.get(ours);
        assert.ok(p, `no parameter ${ours} for ${key}`);
        await assertClose(p.grad!.reshape([-1]), want, { atol: 2e-4, rtol: 2e-4 });
      }
      const frozen = [...params].filter(([k]) => !k.includes(".lora"));
      assert.ok(
        frozen.every(([, p]) => !p.requiresGrad && p.grad === null),
        "the base stays frozen",
      );
    },
  );

  backendTest(
    `\`generate\` ${name}: greedy tokens through the KV cache match the reference`,
    async () => {
      const e = await expected(name);
      const model = await models.fromPretrained(dirOf(name));
      const out = await models.generate(model, e.greedy.prompt, { maxNewTokens: 6 });
      assert.deepEqual(out, e.greedy.new_tokens);
    },
  );
}

for (const name of ["llama_gqa", "qwen2", "gpt2", "gpt2_hub"]) {
  Deno.test(`the adapter saved for ${name} has PEFT's keys, shapes and config`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const model = await models.fromPretrained(dirOf(name));
      const ref = JSON.parse(await Deno.readTextFile(`${dirOf(name)}adapter/adapter_config.json`));
      lora.wrap(model, ref.target_modules, ref.r, ref.lora_alpha);
      await lora.save(model, dir);
      const ours = decodeSafetensors(await Deno.readFile(`${dir}/adapter_model.safetensors`));
      const theirs = decodeSafetensors(
        await Deno.readFile(`${dirOf(name)}adapter/adapter_model.safetensors`),
      );
      const shapes = (d: typeof ours) =>
        Object.fromEntries(Object.entries(d.tensors).map(([k, v]) => [k, v.shape]));
      assert.deepEqual(shapes(ours), shapes(theirs));
      const config = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
      for (const k of ["peft_type", "task_type", "r", "lora_alpha", "fan_in_fan_out", "bias"]) {
        assert.deepEqual(config[k], ref[k], k);
      }
      assert.deepEqual([...config.target_modules].sort(), [...ref.target_modules].sort());
      assert.equal(config.base_model_name_or_path, dirOf(name));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
