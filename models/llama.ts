/**
 * The Llama family (`llama`, `mistral`, `qwen2`) as transformers lays it
 * out, so parameter names are the checkpoints' keys
 * (`model.layers.0.self_attn.q_proj.weight`, …): `LlamaRMSNorm`, rotary
 * embeddings, grouped-query attention, the SiLU-gated MLP, pre-norm
 * residual blocks, and an `lm_head` (tied to the embeddings when the config
 * says so).
 *
 * @module
 */
import type { Tensor } from "../tensor/mod.ts";
import * as nn from "../nn/mod.ts";
import { configFor, type LlamaConfig } from "./config.ts";
import type { KVCache } from "./kv_cache.ts";
import { attentionOptions } from "./_attention_bias.ts";
import { checkIds, type ForwardOptions, initWeights, type ModelInit } from "./_model_common.ts";

/** One decoder layer's attention: q/k/v/o projections, RoPE, GQA. */
export class LlamaAttention extends nn.Module {
  /** Queries. */
  q_proj: nn.Linear;
  /** Keys. */
  k_proj: nn.Linear;
  /** Values. */
  v_proj: nn.Linear;
  /** Output. */
  o_proj: nn.Linear;
  readonly #c: LlamaConfig;

  /** @param c The checked config. @param backend Where the weights live. */
  constructor(c: LlamaConfig, backend?: string) {
    super();
    this.#c = c;
    const h = c.hidden_size, d = c.head_dim;
    const qkv = { bias: c.qkv_bias, backend };
    this.q_proj = new nn.Linear(h, c.num_attention_heads * d, qkv);
    this.k_proj = new nn.Linear(h, c.num_key_value_heads * d, qkv);
    this.v_proj = new nn.Linear(h, c.num_key_value_heads * d, qkv);
    this.o_proj = new nn.Linear(c.num_attention_heads * d, h, { bias: c.o_bias, backend });
  }

  /**
   * @param x [B, T, hidden].
   * @param rope cos/sin for the T positions; `attn` the masking (causal rule or additive bias).
   * @returns [B, T, hidden].
   */
  override forward(
    x: Tensor,
    rope?: { cos: Tensor; sin: Tensor },
    attn?: nn.AttentionOptions,
    cache?: { kv: KVCache; layer: number },
  ): Tensor {
    const c = this.#c;
    const [B, T] = x.shape;
    const heads = (t: Tensor, n: number) => t.reshape([B, T, n, c.head_dim]).transpose(1, 2);
    let q = heads(this.q_proj.forward(x), c.num_attention_heads);
    let k = heads(this.k_proj.forward(x), c.num_key_value_heads);
    let v = heads(this.v_proj.forward(x), c.num_key_value_heads);
    q = nn.applyRotaryEmbedding(q, rope!.cos, rope!.sin);
    k = nn.applyRotaryEmbedding(k, rope!.cos, rope!.sin);
    if (cache) ({ k, v } = cache.kv.update(cache.layer, k, v));
    const o = nn.scaledDotProductAttention(q, k, v, attn);
    return this.o_proj.forward(
      o.transpose(1, 2).reshape([B, T, c.num_attention_heads * c.head_dim]),
    );
  }
}

/** The SiLU-gated MLP: `down(silu(gate(x)) · up(x))`. */
export class LlamaMLP extends nn.Module {
  /** Gate. */
  gate_proj: nn.Linear;
  /** Up. */
  up_proj: nn.Linear;
  /** Down. */
  down_proj: nn.Linear;

  /** @param c The checked config. @param backend Where the weights live. */
  constructor(c: LlamaConfig, backend?: string) {
    super();
    const o = { bias: false, backend };
    this.gate_proj = new nn.Linear(c.hidden_size, c.intermediate_size, o);
    this.up_proj = new nn.Linear(c.hidden_size, c.intermediate_size, o);
    this.down_proj = new nn.Linear(c.intermediate_size, c.hidden_size, o);
  }

  /** @param x [..., hidden]. @returns [..., hidden]. */
  override forward(x: Tensor): Tensor {
    return this.down_proj.forward(nn.silu(this.gate_proj.forward(x)).mul(this.up_proj.forward(x)));
  }
}

/** A pre-norm residual block: attention, then the MLP. */
export class LlamaDecoderLayer extends nn.Module {
  /** Attention. */
  self_attn: LlamaAttention;
  /** MLP. */
  mlp: LlamaMLP;
  /** Norm before attention. */
  input_layernorm: nn.RMSNorm;
  /** Norm before the MLP. */
  post_attention_layernorm: nn.RMSNorm;

  /** @param c The checked config. @param backend Where the weights live. */
  constructor(c: LlamaConfig, backend?: string) {
    super();
    this.self_attn = new LlamaAttention(c, backend);
    this.mlp = new LlamaMLP(c, backend);
    const norm = { eps: c.rms_norm_eps, backend };
    this.input_layernorm = new nn.RMSNorm(c.hidden_size, norm);
    this.post_attention_layernorm = new nn.RMSNorm(c.hidden_size, norm);
  }

  /** @param x [B, T, hidden]. @returns [B, T, hidden]. */
  override forward(
    x: Tensor,
    rope?: { cos: Tensor; sin: Tensor },
    attn?: nn.AttentionOptions,
    cache?: { kv: KVCache; layer: number },
  ): Tensor {
    const h = x.add(this.self_attn.forward(this.input_layernorm.forward(x), rope, attn, cache));
    return h.add(this.mlp.forward(this.post_attention_layernorm.forward(h)));
  }
}

/** The decoder stack without the output projection. */
export class LlamaModel extends nn.Module {
  /** Token embeddings. */
  embed_tokens: nn.Embedding;
  /** Decoder layers. */
  layers: LlamaDecoderLayer[];
  /** Final norm. */
  norm: nn.RMSNorm;
  /** The rotary embeddings' frequencies. */
  readonly rope: nn.RotaryEmbedding;
  readonly #c: LlamaConfig;

  /** @param c The checked config. @param backend Where the weights live. */
  constructor(c: LlamaConfig, backend?: string) {
    super();
    this.#c = c;
    this.embed_tokens = new nn.Embedding(c.vocab_size, c.hidden_size, { backend });
    this.layers = Array.from(
      { length: c.num_hidden_layers },
      () => new LlamaDecoderLayer(c, backend),
    );
    this.norm = new nn.RMSNorm(c.hidden_size, { eps: c.rms_norm_eps, backend });
    this.rope = new nn.RotaryEmbedding(c.head_dim, {
      theta: c.rope_theta,
      scaling: c.rope_scaling,
    });
  }

  /** @param ids int32 [B, T]. @returns The final hidden states [B, T, hidden]. */
  override forward(ids: Tensor, opts: ForwardOptions = {}): Tensor {
    const [, T] = ids.shape;
    const past = opts.cache?.length ?? 0;
    const backend = ids.backend;
    const rope = this.rope.cosSin(past, T, backend);
    const attn = attentionOptions(T, past, this.#c.sliding_window, opts.attentionMask, backend);
    let h = this.embed_tokens.forward(ids);
    this.layers.forEach((layer, i) => {
      const cache = opts.cache ? { kv: opts.cache, layer: i } : undefined;
      h = layer.forward(h, rope, attn, cache);
    });
    opts.cache?.advance(T);
    return this.norm.forward(h);
  }
}

/**
 * `LlamaForCausalLM` (also Mistral's and Qwen2's): the decoder and the
 * output projection; `forward(ids)` gives logits [B, T, vocab].
 *
 * @example
 * ```ts
 * import { models, tensor } from "../mod.ts";
 * const config = {
 *   model_type: "llama", vocab_size: 16, hidden_size: 8, intermediate_size: 12,
 *   num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1,
 * };
 * const model = new models.LlamaForCausalLM(config);
 * const logits = model.forward(tensor([[1, 2, 3]], { dtype: "int32" }));
 * console.log(logits.shape); // [1, 3, 16]
 * ```
 */
export class LlamaForCausalLM extends nn.Module {
  /** The decoder. */
  model: LlamaModel;
  /** Output projection (shares the embedding matrix when tied). */
  lm_head: nn.Linear;
  /** The config it was built from. */
  readonly config: LlamaConfig;
  /**
   * Where the checkpoint came from (`fromPretrained`'s directory), written
   * into saved adapters as PEFT's `base_model_name_or_path`.
   */
  nameOrPath: string | null = null;

  /**
   * @param raw A `config.json` object (or one `models.parseConfig` checked).
   * @param opts `{ backend?, init? }`: init "random" (normal, std 0.02, as
   *   transformers) or "zeros" (when weights will be loaded).
   * @throws {TypeError} For a config of another architecture or a bad field.
   */
  constructor(raw: LlamaConfig | Record<string, unknown>, opts: ModelInit = {}) {
    super();
    const config = configFor<LlamaConfig>(raw, ["llama", "mistral", "qwen2"], "LlamaForCausalLM");
    this.config = config;
    this.model = new LlamaModel(config, opts.backend);
    this.lm_head = new nn.Linear(config.hidden_size, config.vocab_size, {
      bias: false,
      backend: opts.backend,
    });
    if (config.tie_word_embeddings) {
      this.lm_head.weight.dispose();
      this.lm_head.weight = this.model.embed_tokens.weight;
    }
    initWeights(this, opts.init ?? "random");
  }

  /**
   * @param ids int32 token ids [B, T].
   * @param opts `{ attentionMask?, cache? }`.
   * @returns Logits [B, T, vocab].
   */
  override forward(ids: Tensor, opts: ForwardOptions = {}): Tensor {
    checkIds(ids, this.config.vocab_size, "LlamaForCausalLM");
    return this.lm_head.forward(this.model.forward(ids, opts));
  }
}
