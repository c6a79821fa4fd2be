/**
 * GPT-2 (`GPT2LMHeadModel`) as transformers lays it out: learned position
 * embeddings, pre-LayerNorm blocks whose projections are `Conv1D` layers
 * (weights [in, out], as the checkpoints store them), `gelu_new`, and an
 * `lm_head` tied to the token embeddings. Parameter names are transformers'
 * (`transformer.h.0.attn.c_attn.weight`).
 *
 * @module
 */
import { arange, type Tensor } from "../tensor/mod.ts";
import * as nn from "../nn/mod.ts";
import { configFor, type GPT2Config } from "./config.ts";
import type { KVCache } from "./kv_cache.ts";
import { attentionOptions } from "./_attention_bias.ts";
import { checkIds, type ForwardOptions, initWeights, type ModelInit } from "./_model_common.ts";

/** Attention: one `c_attn` projection to q, k, v, and `c_proj`. */
export class GPT2Attention extends nn.Module {
  /** q, k and v in one [n_embd, 3·n_embd] projection. */
  c_attn: nn.Conv1D;
  /** Output projection. */
  c_proj: nn.Conv1D;
  /** Dropout on the output. */
  resid_dropout: nn.Dropout;
  readonly #c: GPT2Config;

  /** @param c The checked config. @param backend Where the weights live. */
  constructor(c: GPT2Config, backend?: string) {
    super();
    this.#c = c;
    this.c_attn = new nn.Conv1D(c.n_embd, 3 * c.n_embd, { backend });
    this.c_proj = new nn.Conv1D(c.n_embd, c.n_embd, { backend });
    this.resid_dropout = new nn.Dropout(c.resid_pdrop);
  }

  /** @param x [B, T, n_embd]. @returns [B, T, n_embd]. */
  override forward(
    x: Tensor,
    attn?: nn.AttentionOptions,
    cache?: { kv: KVCache; layer: number },
  ): Tensor {
    const { n_embd: E, n_head: H } = this.#c;
    const [B, T] = x.shape;
    const qkv = this.c_attn.forward(x);
    const heads = (i: number) => qkv.narrow(-1, i * E, E).reshape([B, T, H, E / H]).transpose(1, 2);
    const q = heads(0);
    let k = heads(1), v = heads(2);
    if (cache) ({ k, v } = cache.kv.update(cache.layer, k, v));
    const o = nn.scaledDotProductAttention(q, k, v, attn);
    return this.resid_dropout.forward(this.c_proj.forward(o.transpose(1, 2).reshape([B, T, E])));
  }
}

/** The MLP: `c_proj(gelu_new(c_fc(x)))`. */
export class GPT2MLP extends nn.Module {
  /** Up projection [n_embd, n_inner]. */
  c_fc: nn.Conv1D;
  /** Down projection [n_inner, n_embd]. */
  c_proj: nn.Conv1D;
  /** Dropout on the output. */
  dropout: nn.Dropout;

  /** @param c The checked config. @param backend Where the weights live. */
  constructor(c: GPT2Config, backend?: string) {
    super();
    this.c_fc = new nn.Conv1D(c.n_embd, c.n_inner, { backend });
    this.c_proj = new nn.Conv1D(c.n_inner, c.n_embd, { backend });
    this.dropout = new nn.Dropout(c.resid_pdrop);
  }

  /** @param x [..., n_embd]. @returns [..., n_embd]. */
  override forward(x: Tensor): Tensor {
    return this.dropout.forward(this.c_proj.forward(nn.geluTanh(this.c_fc.forward(x))));
  }
}

/** A pre-LayerNorm block. */
export class GPT2Block extends nn.Module {
  /** Norm before attention. */
  ln_1: nn.LayerNorm;
  /** Attention. */
  attn: GPT2Attention;
  /** Norm before the MLP. */
  ln_2: nn.LayerNorm;
  /** MLP. */
  mlp: GPT2MLP;

  /** @param c The checked config. @param backend Where the weights live. */
  constructor(c: GPT2Config, backend?: string) {
    super();
    const ln = { eps: c.layer_norm_epsilon, backend };
    this.ln_1 = new nn.LayerNorm(c.n_embd, ln);
    this.attn = new GPT2Attention(c, backend);
    this.ln_2 = new nn.LayerNorm(c.n_embd, ln);
    this.mlp = new GPT2MLP(c, backend);
  }

  /** @param x [B, T, n_embd]. @returns [B, T, n_embd]. */
  override forward(
    x: Tensor,
    attn?: nn.AttentionOptions,
    cache?: { kv: KVCache; layer: number },
  ): Tensor {
    const h = x.add(this.attn.forward(this.ln_1.forward(x), attn, cache));
    return h.add(this.mlp.forward(this.ln_2.forward(h)));
  }
}

/** The transformer without the output projection. */
export class GPT2Model extends nn.Module {
  /** Token embeddings. */
  wte: nn.Embedding;
  /** Position embeddings. */
  wpe: nn.Embedding;
  /** Dropout on the embeddings. */
  drop: nn.Dropout;
  /** Blocks. */
  h: GPT2Block[];
  /** Final norm. */
  ln_f: nn.LayerNorm;
  readonly #c: GPT2Config;

  /** @param c The checked config. @param backend Where the weights live. */
  constructor(c: GPT2Config, backend?: string) {
    super();
    this.#c = c;
    this.wte = new nn.Embedding(c.vocab_size, c.n_embd, { backend });
    this.wpe = new nn.Embedding(c.n_positions, c.n_embd, { backend });
    this.drop = new nn.Dropout(c.embd_pdrop);
    this.h = Array.from({ length: c.n_layer }, () => new GPT2Block(c, backend));
    this.ln_f = new nn.LayerNorm(c.n_embd, { eps: c.layer_norm_epsilon, backend });
  }

  /** @param ids int32 [B, T]. @returns Final hidden states [B, T, n_embd]. */
  override forward(ids: Tensor, opts: ForwardOptions = {}): Tensor {
    const [, T] = ids.shape;
    const past = opts.cache?.length ?? 0;
    if (past + T > this.#c.n_positions) {
      throw new RangeError(
        `GPT2: ${past + T} positions exceed n_positions ${this.#c.n_positions}`,
      );
    }
    const pos = arange(past, past + T, 1, { dtype: "int32", backend: ids.backend });
    let h = this.drop.forward(this.wte.forward(ids).add(this.wpe.forward(pos)));
    const attn = attentionOptions(T, past, null, opts.attentionMask, ids.backend);
    this.h.forEach((block, i) => {
      h = block.forward(h, attn, opts.cache ? { kv: opts.cache, layer: i } : undefined);
    });
    opts.cache?.advance(T);
    return this.ln_f.forward(h);
  }
}

/**
 * `GPT2LMHeadModel`: the transformer and an output projection tied to the
 * token embeddings; `forward(ids)` gives logits [B, T, vocab].
 *
 * @example
 * ```ts
 * import { models, tensor } from "../mod.ts";
 * const config = {
 *   model_type: "gpt2", vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2,
 * };
 * const model = new models.GPT2LMHeadModel(config);
 * console.log(model.forward(tensor([[1, 2]], { dtype: "int32" })).shape); // [1, 2, 16]
 * ```
 */
export class GPT2LMHeadModel extends nn.Module {
  /** The transformer. */
  transformer: GPT2Model;
  /** Output projection: the token embeddings, tied. */
  lm_head: nn.Linear;
  /** The config it was built from. */
  readonly config: GPT2Config;
  /**
   * Where the checkpoint came from (`fromPretrained`'s directory), written
   * into saved adapters as PEFT's `base_model_name_or_path`.
   */
  nameOrPath: string | null = null;

  /**
   * @param raw A `config.json` object (or one `models.parseConfig` checked).
   * @param opts `{ backend?, init? }` (see LlamaForCausalLM).
   * @throws {TypeError} For a config of another architecture or a bad field.
   */
  constructor(raw: GPT2Config | Record<string, unknown>, opts: ModelInit = {}) {
    super();
    const config = configFor<GPT2Config>(raw, ["gpt2"], "GPT2LMHeadModel");
    this.config = config;
    this.transformer = new GPT2Model(config, opts.backend);
    this.lm_head = new nn.Linear(config.n_embd, config.vocab_size, {
      bias: false,
      backend: opts.backend,
    });
    this.lm_head.weight.dispose();
    this.lm_head.weight = this.transformer.wte.weight;
    initWeights(this, opts.init ?? "random");
  }

  /**
   * @param ids int32 token ids [B, T].
   * @param opts `{ attentionMask?, cache? }`.
   * @returns Logits [B, T, vocab].
   */
  override forward(ids: Tensor, opts: ForwardOptions = {}): Tensor {
    checkIds(ids, this.config.vocab_size, "GPT2LMHeadModel");
    return this.lm_head.forward(this.transformer.forward(ids, opts));
  }
}
