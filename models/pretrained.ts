/**
 * `fromPretrained`: builds the model a Hugging Face checkpoint directory
 * describes and loads its weights tensor by tensor (F32, F16 or BF16 files,
 * one `model.safetensors` or shards listed by `model.safetensors.index.json`),
 * so host memory peaks at the model plus its largest tensor. Every key and
 * shape is checked against the model before any weight is read.
 *
 * @module
 */
import { noGrad, type Tensor } from "../tensor/mod.ts";
import { getBackend } from "../backends/mod.ts";
import {
  type DirSource,
  fileIn,
  type FileSource,
  openSafetensors,
  readText,
  type SafetensorsReader,
} from "../io/mod.ts";
import { type GPT2Config, type LlamaConfig, parseConfig } from "./config.ts";
import { LlamaForCausalLM } from "./llama.ts";
import { GPT2LMHeadModel } from "./gpt2.ts";

/** A causal language model this library builds. */
export type CausalLM = LlamaForCausalLM | GPT2LMHeadModel;

/** Options of {@link fromPretrained}. */
export interface PretrainedOptions {
  /** Backend for the weights; the default backend when omitted. */
  backend?: string;
  /** The weights' dtype in memory: "float32" (F16 and BF16 files are widened). */
  dtype?: "float32";
}

/** Buffers GPT-2 checkpoints store that are not parameters (the causal mask). */
const GPT2_BUFFERS = /(^|\.)attn\.(bias|masked_bias)$/;

/**
 * Builds a model from `config.json` and loads its safetensors weights; the
 * model is returned in eval mode (dropout off), as `from_pretrained` does.
 * Parameter names are the checkpoint's keys.
 *
 * @param dir The checkpoint directory: a path under Deno; in a browser a
 *   directory handle or a map of file names to `File`s.
 * @param opts `{ backend?, dtype? }`.
 * @returns The model.
 * @throws {TypeError} For an unsupported `model_type` or dtype (named).
 * @throws {Error} For a missing file (named), or a key the model lacks or
 *   a parameter the files lack (named).
 * @throws {RangeError} For a shape that does not fit (key and both shapes).
 * @example
 * ```ts ignore
 * import { models } from "../mod.ts";
 * const model = await models.fromPretrained("./SmolLM2-135M");
 * ```
 */
export async function fromPretrained(
  dir: DirSource,
  opts: PretrainedOptions = {},
): Promise<CausalLM> {
  if (opts.dtype !== undefined && opts.dtype !== "float32") {
    throw new TypeError(
      `fromPretrained: dtype ${JSON.stringify(opts.dtype)} is not supported (float32)`,
    );
  }
  const configFile = await fileIn(dir, "config.json");
  if (!configFile) throw new Error(`fromPretrained: config.json not found in ${String(dir)}`);
  const config = parseConfig(JSON.parse(await readText(configFile)));
  const files = await weightFiles(dir);
  const readers: SafetensorsReader[] = [];
  try {
    for (const f of files) readers.push(await openSafetensors(f));
    const backend = opts.backend ?? getBackend();
    const model = config.model_type === "gpt2"
      ? new GPT2LMHeadModel(config as GPT2Config, { backend, init: "zeros" })
      : new LlamaForCausalLM(config as LlamaConfig, { backend, init: "zeros" });
    try {
      await loadWeights(model, readers);
    } catch (e) {
      for (const p of model.parameters()) p.dispose();
      throw e;
    }
    model.eval();
    model.nameOrPath = typeof dir === "string" || dir instanceof URL ? String(dir) : null;
    return model;
  } finally {
    for (const r of readers) r.close();
  }
}

/** The weight files: one file, or the shards the index names (in order). */
async function weightFiles(dir: DirSource): Promise<FileSource[]> {
  const single = await fileIn(dir, "model.safetensors");
  if (single) return [single];
  const indexFile = await fileIn(dir, "model.safetensors.index.json");
  if (!indexFile) {
    const bin = await fileIn(dir, "pytorch_model.bin");
    throw new Error(
      `fromPretrained: no model.safetensors or model.safetensors.index.json in ${String(dir)}` +
        (bin ? " (pytorch_model.bin is not read: convert it to safetensors)" : ""),
    );
  }
  const index = JSON.parse(await readText(indexFile));
  const map = index?.weight_map;
  if (!map || typeof map !== "object") {
    throw new TypeError("fromPretrained: model.safetensors.index.json has no weight_map");
  }
  const names = [...new Set(Object.values(map as Record<string, string>))];
  const out: FileSource[] = [];
  for (const n of names) {
    const f = await fileIn(dir, n);
    if (!f) throw new Error(`fromPretrained: shard ${n} (named by the index) not found`);
    out.push(f);
  }
  return out;
}

/** The model's parameter for a checkpoint key, or null to skip it. */
function resolveKey(key: string, params: Map<string, Tensor>, gpt2: boolean): string | null {
  if (params.has(key)) return key;
  if (gpt2) {
    if (GPT2_BUFFERS.test(key)) return null;
    if (params.has(`transformer.${key}`)) return `transformer.${key}`;
  }
  if (key === "lm_head.weight" && !params.has(key)) return null; // tied: the embeddings hold it
  throw new Error(`fromPretrained: the checkpoint's key "${key}" names no parameter of the model`);
}

async function loadWeights(model: CausalLM, readers: SafetensorsReader[]): Promise<void> {
  const params = model.namedParameters();
  const gpt2 = model instanceof GPT2LMHeadModel;
  const plan: { reader: SafetensorsReader; key: string; param: Tensor }[] = [];
  const seen = new Set<string>();
  for (const reader of readers) {
    for (const t of reader.tensors) {
      const name = resolveKey(t.name, params, gpt2);
      if (name === null) continue;
      const param = params.get(name)!;
      if (t.shape.length !== param.ndim || t.shape.some((s, i) => s !== param.shape[i])) {
        throw new RangeError(
          `fromPretrained: "${t.name}" has shape [${t.shape}] but the model's "${name}" is [${param.shape}]`,
        );
      }
      seen.add(name);
      plan.push({ reader, key: t.name, param });
    }
  }
  const missing = [...params.keys()].filter((k) => !seen.has(k));
  if (missing.length > 0) {
    throw new Error(
      `fromPretrained: the checkpoint lacks ${missing.length} parameter(s): ${
        missing.slice(0, 5).map((k) => `"${k}"`).join(", ")
      }${missing.length > 5 ? ", …" : ""}`,
    );
  }
  // Every key and shape fits: read one tensor at a time into its parameter.
  for (const { reader, key, param } of plan) {
    const data = await reader.read(key);
    noGrad(() => param._backend.write(param._storage.buffer, data));
  }
}
