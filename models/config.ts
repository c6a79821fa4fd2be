/**
 * Hugging Face `config.json` files, checked: the fields each supported
 * architecture reads, with transformers' defaults, and a clear error for an
 * unsupported `model_type` or a missing or mistyped field.
 *
 * @module
 */
import type { RopeScaling } from "../nn/mod.ts";

/** The decoder-only Llama family: `llama`, `mistral`, `qwen2`. */
export interface LlamaConfig {
  /** "llama", "mistral" or "qwen2". */
  model_type: "llama" | "mistral" | "qwen2";
  /** Tokens in the vocabulary. */
  vocab_size: number;
  /** Width of the residual stream. */
  hidden_size: number;
  /** Width of the MLP. */
  intermediate_size: number;
  /** Decoder layers. */
  num_hidden_layers: number;
  /** Query heads. */
  num_attention_heads: number;
  /** Key/value heads (grouped-query attention when fewer). */
  num_key_value_heads: number;
  /** Per-head width (hidden_size / heads unless given). */
  head_dim: number;
  /** Longest sequence the positions were trained for. */
  max_position_embeddings: number;
  /** RMSNorm's eps. */
  rms_norm_eps: number;
  /** RoPE base. */
  rope_theta: number;
  /** RoPE scaling, or null. */
  rope_scaling: RopeScaling | null;
  /** Share the embedding matrix with the output projection. */
  tie_word_embeddings: boolean;
  /** Biases on q/k/v (qwen2 always; llama's `attention_bias`). */
  qkv_bias: boolean;
  /** Bias on o_proj (llama's `attention_bias`). */
  o_bias: boolean;
  /** Mistral's sliding window, or null. */
  sliding_window: number | null;
  /** Token ids, when the config names them. */
  bos_token_id: number | null;
  /** End-of-sequence id(s). */
  eos_token_id: number | number[] | null;
}

/** GPT-2 (`GPT2LMHeadModel`). */
export interface GPT2Config {
  /** "gpt2". */
  model_type: "gpt2";
  /** Tokens in the vocabulary. */
  vocab_size: number;
  /** Learned positions. */
  n_positions: number;
  /** Width of the residual stream. */
  n_embd: number;
  /** Blocks. */
  n_layer: number;
  /** Heads. */
  n_head: number;
  /** Width of the MLP (4·n_embd unless given). */
  n_inner: number;
  /** LayerNorm's eps. */
  layer_norm_epsilon: number;
  /** Residual dropout. */
  resid_pdrop: number;
  /** Embedding dropout. */
  embd_pdrop: number;
  /** Token ids, when the config names them. */
  bos_token_id: number | null;
  /** End-of-sequence id(s). */
  eos_token_id: number | number[] | null;
}

/** Any supported config. */
export type ModelConfig = LlamaConfig | GPT2Config;

/** The `model_type`s this library builds. */
export const SUPPORTED_MODEL_TYPES: readonly string[] = ["llama", "mistral", "qwen2", "gpt2"];

type Raw = Record<string, unknown>;

function num(c: Raw, key: string, fallback?: number, int = true): number {
  const v = c[key] ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || (int && !Number.isInteger(v))) {
    throw new TypeError(
      `config.json: "${key}" must be ${int ? "an integer" : "a number"}, got ${
        JSON.stringify(c[key])
      }`,
    );
  }
  if (v < 0) throw new RangeError(`config.json: "${key}" must be ≥ 0, got ${v}`);
  return v;
}

function ids(c: Raw, key: string): number | number[] | null {
  const v = c[key];
  if (v === undefined || v === null) return null;
  if (typeof v === "number" || (Array.isArray(v) && v.every((x) => typeof x === "number"))) {
    return v as number | number[];
  }
  throw new TypeError(
    `config.json: "${key}" must be a token id or a list of ids, got ${JSON.stringify(v)}`,
  );
}

/**
 * Checks a parsed `config.json` and fills transformers' defaults.
 *
 * @param raw The parsed JSON.
 * @returns The typed config.
 * @throws {TypeError} For an unsupported `model_type` (named, with the
 *   supported ones) or a mistyped field.
 * @throws {RangeError} For sizes that do not fit together.
 * @example
 * ```ts
 * import { models } from "../mod.ts";
 * const c = models.parseConfig({ model_type: "gpt2", vocab_size: 10, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 });
 * console.log(c.model_type); // "gpt2"
 * ```
 */
export function parseConfig(raw: unknown): ModelConfig {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new TypeError(`config.json must be an object, got ${JSON.stringify(raw)}`);
  }
  if (CHECKED.has(raw)) return raw as ModelConfig;
  const c = raw as Raw;
  const type = c.model_type;
  let out: ModelConfig;
  if (type === "gpt2") out = gpt2Config(c);
  else if (type === "llama" || type === "mistral" || type === "qwen2") out = llamaConfig(c, type);
  else throw unsupported(type);
  CHECKED.add(out);
  return out;
}

/** Configs `parseConfig` made (parsing one again returns it as it is). */
const CHECKED = new WeakSet<object>();

function unsupported(type: unknown): TypeError {
  return new TypeError(
    `config.json: model_type ${JSON.stringify(type)} is not supported (supported: ${
      SUPPORTED_MODEL_TYPES.join(", ")
    })`,
  );
}

/**
 * Package-internal: a model class's config, checked, from a checked config
 * or a raw `config.json` object.
 *
 * @throws {TypeError} When it describes another architecture.
 */
export function configFor<T extends ModelConfig>(
  raw: unknown,
  types: readonly T["model_type"][],
  who: string,
): T {
  const c = parseConfig(raw);
  if (!(types as readonly string[]).includes(c.model_type)) {
    throw new TypeError(`${who}: config.json describes model_type "${c.model_type}"`);
  }
  return c as T;
}

function llamaConfig(c: Raw, type: LlamaConfig["model_type"]): LlamaConfig {
  const hidden = num(c, "hidden_size"), heads = num(c, "num_attention_heads");
  const kv = num(c, "num_key_value_heads", heads);
  if (heads === 0 || hidden % heads !== 0 && c.head_dim === undefined) {
    throw new RangeError(`config.json: hidden_size ${hidden} is not a multiple of ${heads} heads`);
  }
  if (kv === 0 || heads % kv !== 0) {
    throw new RangeError(
      `config.json: ${heads} attention heads are not a multiple of ${kv} key/value heads`,
    );
  }
  const act = c.hidden_act ?? "silu";
  if (act !== "silu") {
    throw new TypeError(`config.json: hidden_act ${JSON.stringify(act)} is not supported (silu)`);
  }
  const rs = c.rope_scaling ?? null;
  if (rs !== null && (typeof rs !== "object" || Array.isArray(rs))) {
    throw new TypeError(`config.json: rope_scaling must be an object or null`);
  }
  const attnBias = c.attention_bias === true;
  const window = type === "mistral"
    ? c.sliding_window ?? null
    : type === "qwen2" && c.use_sliding_window === true
    ? c.sliding_window ?? null
    : null;
  if (window !== null && (typeof window !== "number" || !Number.isInteger(window) || window < 1)) {
    throw new TypeError(
      `config.json: sliding_window must be a positive integer or null, got ${
        JSON.stringify(window)
      }`,
    );
  }
  return {
    model_type: type,
    vocab_size: num(c, "vocab_size"),
    hidden_size: hidden,
    intermediate_size: num(c, "intermediate_size"),
    num_hidden_layers: num(c, "num_hidden_layers"),
    num_attention_heads: heads,
    num_key_value_heads: kv,
    head_dim: num(c, "head_dim", hidden / heads),
    max_position_embeddings: num(c, "max_position_embeddings", 2048),
    rms_norm_eps: num(c, "rms_norm_eps", 1e-6, false),
    rope_theta: num(c, "rope_theta", 10000, false),
    rope_scaling: rs as RopeScaling | null,
    tie_word_embeddings: c.tie_word_embeddings === true,
    qkv_bias: type === "qwen2" || attnBias,
    o_bias: type !== "qwen2" && attnBias,
    sliding_window: window as number | null,
    bos_token_id: ids(c, "bos_token_id") as number | null,
    eos_token_id: ids(c, "eos_token_id"),
  };
}

function gpt2Config(c: Raw): GPT2Config {
  const n_embd = num(c, "n_embd", 768), n_head = num(c, "n_head", 12);
  if (n_head === 0 || n_embd % n_head !== 0) {
    throw new RangeError(`config.json: n_embd ${n_embd} is not a multiple of ${n_head} heads`);
  }
  const act = c.activation_function ?? "gelu_new";
  if (act !== "gelu_new" && act !== "gelu_pytorch_tanh") {
    throw new TypeError(
      `config.json: activation_function ${JSON.stringify(act)} is not supported (gelu_new)`,
    );
  }
  return {
    model_type: "gpt2",
    vocab_size: num(c, "vocab_size", 50257),
    n_positions: num(c, "n_positions", 1024),
    n_embd,
    n_layer: num(c, "n_layer", 12),
    n_head,
    n_inner: c.n_inner === null || c.n_inner === undefined ? 4 * n_embd : num(c, "n_inner"),
    layer_norm_epsilon: num(c, "layer_norm_epsilon", 1e-5, false),
    resid_pdrop: num(c, "resid_pdrop", 0.1, false),
    embd_pdrop: num(c, "embd_pdrop", 0.1, false),
    bos_token_id: ids(c, "bos_token_id") as number | null,
    eos_token_id: ids(c, "eos_token_id"),
  };
}
