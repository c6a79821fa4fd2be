/**
 * A tiny transformer encoder for the demo: token and position embeddings,
 * pre-LayerNorm blocks of bidirectional multi-head self-attention and a GELU
 * MLP, and an output head `lm_head` that predicts one character per
 * position. The projections are plain `nn.Linear` layers named as in
 * Llama-style checkpoints (`layers.0.attn.q_proj`, `layers.0.mlp.up_proj`, …)
 * so LoRA targets read the way they do for large models.
 *
 * @module
 */

import { nn, type Tensor, tensor } from "../mod.ts";

/** Sizes of a {@link TinyTransformer}. */
export interface ModelConfig {
  /** Number of token ids. */
  vocabSize: number;
  /** Longest input, in tokens (the number of position embeddings). */
  maxLen: number;
  /** Width of the residual stream. */
  dModel: number;
  /** Attention heads (must divide `dModel`). */
  nHeads: number;
  /** Number of transformer blocks. */
  nLayers: number;
  /** Hidden width of each MLP. */
  dMlp: number;
}

/** Multi-head self-attention over the whole sequence (no causal mask). */
export class SelfAttention extends nn.Module {
  /** Query projection. */
  q_proj: nn.Linear;
  /** Key projection. */
  k_proj: nn.Linear;
  /** Value projection. */
  v_proj: nn.Linear;
  /** Output projection. */
  o_proj: nn.Linear;
  readonly #nHeads: number;

  /**
   * Makes the four projections, each dModel → dModel.
   *
   * @param dModel Width of the residual stream.
   * @param nHeads Number of heads (must divide `dModel`).
   */
  constructor(dModel: number, nHeads: number) {
    super();
    if (dModel % nHeads !== 0) {
      throw new RangeError(`nHeads (${nHeads}) must divide dModel (${dModel})`);
    }
    this.q_proj = new nn.Linear(dModel, dModel);
    this.k_proj = new nn.Linear(dModel, dModel);
    this.v_proj = new nn.Linear(dModel, dModel);
    this.o_proj = new nn.Linear(dModel, dModel);
    this.#nHeads = nHeads;
  }

  /**
   * Every position attends to every position, in each head.
   *
   * @param x Hidden states [batch, len, dModel].
   * @returns The attention output, [batch, len, dModel].
   */
  override forward(x: Tensor): Tensor {
    const [b, t, d] = x.shape;
    const h = this.#nHeads, hd = d / h;
    // [b, t, d] → [b, h, t, hd]: one attention map per head.
    const heads = (y: Tensor) => y.reshape([b, t, h, hd]).permute([0, 2, 1, 3]);
    const q = heads(this.q_proj.forward(x));
    const k = heads(this.k_proj.forward(x));
    const v = heads(this.v_proj.forward(x));
    const scores = q.matmul(k.transpose(2, 3)).mul(1 / Math.sqrt(hd));
    const mixed = scores.softmax(-1).matmul(v); // [b, h, t, hd]
    return this.o_proj.forward(mixed.permute([0, 2, 1, 3]).reshape([b, t, d]));
  }
}

/** The feed-forward part of a block: `down_proj(gelu(up_proj(x)))`. */
export class Mlp extends nn.Module {
  /** Widening projection. */
  up_proj: nn.Linear;
  /** Narrowing projection. */
  down_proj: nn.Linear;

  /**
   * Makes `up_proj` (dModel → dMlp) and `down_proj` (dMlp → dModel).
   *
   * @param dModel Width of the residual stream.
   * @param dMlp Hidden width.
   */
  constructor(dModel: number, dMlp: number) {
    super();
    this.up_proj = new nn.Linear(dModel, dMlp);
    this.down_proj = new nn.Linear(dMlp, dModel);
  }

  /**
   * Applies the MLP to every position independently.
   *
   * @param x Hidden states [..., dModel].
   * @returns [..., dModel].
   */
  override forward(x: Tensor): Tensor {
    return this.down_proj.forward(this.up_proj.forward(x).gelu());
  }
}

/** A pre-LayerNorm transformer block: `x + attn(ln1(x))`, then `x + mlp(ln2(x))`. */
export class Block extends nn.Module {
  /** Norm before attention. */
  ln1: nn.LayerNorm;
  /** Self-attention. */
  attn: SelfAttention;
  /** Norm before the MLP. */
  ln2: nn.LayerNorm;
  /** Feed-forward. */
  mlp: Mlp;

  /**
   * Makes the norms, the attention and the MLP.
   *
   * @param cfg The model sizes.
   */
  constructor(cfg: ModelConfig) {
    super();
    this.ln1 = new nn.LayerNorm(cfg.dModel);
    this.attn = new SelfAttention(cfg.dModel, cfg.nHeads);
    this.ln2 = new nn.LayerNorm(cfg.dModel);
    this.mlp = new Mlp(cfg.dModel, cfg.dMlp);
  }

  /**
   * Runs the block.
   *
   * @param x Hidden states [batch, len, dModel].
   * @returns [batch, len, dModel].
   */
  override forward(x: Tensor): Tensor {
    const h = x.add(this.attn.forward(this.ln1.forward(x)));
    return h.add(this.mlp.forward(this.ln2.forward(h)));
  }
}

/**
 * The demo's model: reads a whole string at once and predicts the output
 * character at every position in one forward pass.
 *
 * @example
 * ```ts
 * import { TinyTransformer } from "./model.ts";
 * import { tensor } from "../mod.ts";
 * const m = new TinyTransformer({ vocabSize: 10, maxLen: 8, dModel: 32, nHeads: 4, nLayers: 1, dMlp: 64 });
 * const ids = tensor([[1, 2, 3, 4, 5, 6, 7, 8]], { dtype: "int32" });
 * console.log(m.forward(ids).shape); // [1, 8, 10]
 * ```
 */
export class TinyTransformer extends nn.Module {
  /** Token embeddings [vocabSize, dModel]. */
  embed_tokens: nn.Embedding;
  /** Learned position embeddings [maxLen, dModel]. */
  embed_positions: nn.Embedding;
  /** The transformer blocks. */
  layers: Block[];
  /** Final norm. */
  norm: nn.LayerNorm;
  /** Output head: hidden state → a score per token id. */
  lm_head: nn.Linear;
  /** The sizes this model was built with. */
  readonly config: ModelConfig;

  /**
   * Makes a freshly initialised model (seed it with `manualSeed`).
   *
   * @param cfg The model sizes.
   */
  constructor(cfg: ModelConfig) {
    super();
    this.config = { ...cfg };
    this.embed_tokens = new nn.Embedding(cfg.vocabSize, cfg.dModel);
    this.embed_positions = new nn.Embedding(cfg.maxLen, cfg.dModel);
    this.layers = Array.from({ length: cfg.nLayers }, () => new Block(cfg));
    this.norm = new nn.LayerNorm(cfg.dModel);
    this.lm_head = new nn.Linear(cfg.dModel, cfg.vocabSize);
  }

  /**
   * Predicts a character at every position.
   *
   * @param ids Token ids [batch, len], int32, len ≤ maxLen.
   * @param positions Position ids [len], int32 (0..len-1); made on each
   *   call when omitted.
   * @returns Logits [batch, len, vocabSize].
   */
  override forward(ids: Tensor, positions?: Tensor): Tensor {
    const len = ids.shape[1];
    const pos = positions ?? arangeInt(len);
    let x = this.embed_tokens.forward(ids).add(this.embed_positions.forward(pos));
    for (const block of this.layers) x = block.forward(x);
    return this.lm_head.forward(this.norm.forward(x));
  }
}

/** int32 0..n-1. */
function arangeInt(n: number): Tensor {
  return tensor(Int32Array.from({ length: n }, (_, i) => i), { dtype: "int32" });
}
