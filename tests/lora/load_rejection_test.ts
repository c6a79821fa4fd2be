/**
 * Every way `lora.load` can reject a directory, each checked to leave the
 * model exactly as it was: its module tree, parameter names, values and
 * trainability, and each LoRA layer's rank, scaling and merge state.
 */
import assert from "node:assert/strict";
import { decodeSafetensors, encodeSafetensors } from "../../io/mod.ts";
import * as lora from "../../lora/mod.ts";
import type * as nn from "../../nn/mod.ts";
import { perturbB, TinyNet } from "./_model.ts";

type Tensors = Record<string, { shape: number[]; data: Float32Array }>;
type Config = Record<string, unknown>;

interface Case {
  name: string;
  /** Changes the saved directory. */
  edit(dir: string): Promise<void>;
  /** The class and a fragment the message must hold. */
  error: [ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor, RegExp];
  /** Only into a wrapped (true) or unwrapped (false) model; both when absent. */
  wrapped?: boolean;
}

async function snapshot(m: nn.Module): Promise<unknown> {
  const params: [string, number[], boolean][] = [];
  for (const [k, p] of m.namedParameters()) params.push([k, [...await p.data()], p.requiresGrad]);
  const modules = [...m.namedModules()].map(([k, mod]) => [k, mod.constructor.name]);
  const layers = [...m.namedModules()]
    .filter(([, mod]) => mod instanceof lora.LoraLinear)
    .map(([k, mod]) => {
      const l = mod as lora.LoraLinear;
      return [k, l.rank, l.alpha, l.scaling, l.merged, l.dropoutP];
    });
  return { params, modules, layers, count: lora.parameterCount(m) };
}

async function editConfig(dir: string, f: (c: Config) => void): Promise<void> {
  const path = `${dir}/adapter_config.json`;
  const c = JSON.parse(await Deno.readTextFile(path));
  f(c);
  await Deno.writeTextFile(path, JSON.stringify(c));
}

async function editTensors(dir: string, f: (t: Tensors) => void): Promise<void> {
  const path = `${dir}/adapter_model.safetensors`;
  const { tensors } = decodeSafetensors(await Deno.readFile(path));
  const t: Tensors = {};
  for (const [k, v] of Object.entries(tensors)) t[k] = { shape: v.shape, data: v.data.slice() };
  f(t);
  await Deno.writeFile(path, encodeSafetensors(t, { format: "pt" }));
}

const Q0A = "base_model.model.layers.0.q_proj.lora_A.weight";
const Q0B = "base_model.model.layers.0.q_proj.lora_B.weight";

const CASES: Case[] = [
  {
    name: "no adapter_config.json",
    edit: (d) => Deno.remove(`${d}/adapter_config.json`),
    error: [Error, /adapter_config\.json/],
  },
  {
    name: "a config that is not JSON",
    edit: (d) => Deno.writeTextFile(`${d}/adapter_config.json`, "{ r: 2"),
    error: [TypeError, /not JSON/],
  },
  {
    name: "no weights file",
    edit: (d) => Deno.remove(`${d}/adapter_model.safetensors`),
    error: [Error, /adapter_model\.safetensors/],
  },
  {
    name: "a truncated weights file",
    edit: async (d) => {
      const p = `${d}/adapter_model.safetensors`;
      const b = await Deno.readFile(p);
      await Deno.writeFile(p, b.subarray(0, b.length - 7));
    },
    error: [RangeError, /safetensors/],
  },
  {
    name: "a config that is an array",
    edit: (d) => Deno.writeTextFile(`${d}/adapter_config.json`, "[]"),
    error: [TypeError, /not an object/],
  },
  {
    name: "another peft_type",
    edit: (d) => editConfig(d, (c) => (c.peft_type = "IA3")),
    error: [TypeError, /peft_type/],
  },
  {
    name: "r = 0",
    edit: (d) => editConfig(d, (c) => (c.r = 0)),
    error: [TypeError, /\br must be/],
  },
  {
    name: 'r = "2"',
    edit: (d) => editConfig(d, (c) => (c.r = "2")),
    error: [TypeError, /\br must be/],
  },
  {
    name: "lora_alpha a string",
    edit: (d) => editConfig(d, (c) => (c.lora_alpha = "6")),
    error: [TypeError, /lora_alpha/],
  },
  {
    name: "lora_dropout 1",
    edit: (d) => editConfig(d, (c) => (c.lora_dropout = 1)),
    error: [TypeError, /lora_dropout/],
  },
  {
    // DoRA is supported: the file then needs its magnitude vectors (plain
    // model), and a wrapped non-DoRA adapter cannot take a DoRA file.
    name: "use_dora without magnitude vectors",
    edit: (d) => editConfig(d, (c) => (c.use_dora = true)),
    error: [Error, /use_dora/],
  },
  {
    name: "a math-changing field this library lacks (lora_bias)",
    edit: (d) => editConfig(d, (c) => (c.lora_bias = true)),
    error: [TypeError, /lora_bias/],
  },
  {
    name: 'init_lora_weights "loftq" (it rewrites the base)',
    edit: (d) => editConfig(d, (c) => (c.init_lora_weights = "loftq")),
    error: [TypeError, /init_lora_weights/],
  },
  {
    name: "fan_in_fan_out",
    edit: (d) => editConfig(d, (c) => (c.fan_in_fan_out = true)),
    error: [TypeError, /fan_in_fan_out/],
  },
  {
    name: 'bias "all"',
    edit: (d) => editConfig(d, (c) => (c.bias = "all")),
    error: [TypeError, /bias/],
  },
  {
    name: "alpha_pattern a list",
    edit: (d) => editConfig(d, (c) => (c.alpha_pattern = [1])),
    error: [TypeError, /alpha_pattern/],
  },
  {
    name: "rank_pattern with a fraction",
    edit: (d) => editConfig(d, (c) => (c.rank_pattern = { q_proj: 1.5 })),
    error: [TypeError, /rank_pattern/],
  },
  {
    name: "config r that disagrees with the tensors",
    edit: (d) => editConfig(d, (c) => (c.r = 4)),
    error: [RangeError, /rank 2.*r = 4/],
  },
  {
    name: "rank_pattern that disagrees with the tensors",
    edit: (d) => editConfig(d, (c) => (c.rank_pattern = { "layers.1.v_proj": 3 })),
    error: [RangeError, /rank_pattern\["layers\.1\.v_proj"\] = 3/],
  },
  {
    name: "a key of no known form",
    edit: (d) => editTensors(d, (t) => (t["model.weird"] = t[Q0A])),
    error: [Error, /unexpected key "model\.weird"/],
  },
  {
    name: "a 1-D adapter tensor",
    edit: (d) => editTensors(d, (t) => (t[Q0A] = { shape: [12], data: t[Q0A].data })),
    error: [RangeError, /expected 2-D/],
  },
  {
    name: "lora_B missing",
    edit: (d) => editTensors(d, (t) => delete t[Q0B]),
    error: [Error, /q_proj\.lora_B\.weight" is missing/],
  },
  {
    name: "a module the model lacks",
    edit: (d) =>
      editTensors(d, (t) => {
        t["base_model.model.layers.0.k_proj.lora_A.weight"] = t[Q0A];
        t["base_model.model.layers.0.k_proj.lora_B.weight"] = t[Q0B];
      }),
    error: [Error, /k_proj/],
  },
  {
    name: "in-features that do not fit",
    edit: (d) => editTensors(d, (t) => (t[Q0A] = { shape: [2, 5], data: new Float32Array(10) })),
    error: [RangeError, /\[2,5\].*\[2,6\]/],
  },
  {
    name: "out-features that do not fit",
    edit: (d) => editTensors(d, (t) => (t[Q0B] = { shape: [7, 2], data: new Float32Array(14) })),
    error: [RangeError, /\[7,2\].*\[8,2\]/],
  },
  {
    name: "a wrapped layer absent from the file",
    wrapped: true,
    edit: (d) =>
      editTensors(d, (t) => {
        delete t[Q0A];
        delete t[Q0B];
      }),
    error: [Error, /layers\.0\.q_proj\.lora_A\.weight" is missing/],
  },
];

function model(wrapped: boolean, merged = false): TinyNet {
  const net = new TinyNet();
  if (!wrapped) return net;
  lora.wrap(net, ["q_proj", "v_proj"], 2, 6, { seed: 3 });
  perturbB(net, 4);
  if (merged) lora.merge(net);
  return net;
}

for (const c of CASES) {
  for (const wrapped of c.wrapped === undefined ? [false, true] : [c.wrapped]) {
    Deno.test(`\`lora.load\` rejects ${c.name} (${wrapped ? "wrapped" : "plain"} model) and changes nothing`, async () => {
      const dir = await Deno.makeTempDir({ prefix: "lora_reject_" });
      try {
        const src = lora.wrap(new TinyNet(), ["q_proj", "v_proj"], 2, 6, { seed: 1 });
        perturbB(src, 2);
        await lora.save(src, dir);
        await c.edit(dir);
        const m = model(wrapped);
        const before = await snapshot(m);
        await assert.rejects(
          () => lora.load(m, dir),
          (e: Error) => e instanceof c.error[0] && c.error[1].test(e.message),
        );
        assert.deepEqual(await snapshot(m), before);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
}

Deno.test("`lora.load` into a merged model is refused and changes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lora_reject_" });
  try {
    await lora.save(model(true), dir);
    const m = model(true, true);
    const before = await snapshot(m);
    await assert.rejects(() => lora.load(m, dir), /merged; unmerge first/);
    assert.deepEqual(await snapshot(m), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
