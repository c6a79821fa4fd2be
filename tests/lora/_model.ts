/**
 * The tiny model of the LoRA suites: two residual blocks with named
 * `q_proj` / `v_proj` Linears and an `lm_head`, the same as
 * `tests/fixtures/gen_peft_adapter.py` builds in PyTorch.
 *
 * @module
 */
import { type Tensor, tensor } from "../../mod.ts";
import * as nn from "../../nn/mod.ts";

/** `h + v_proj(relu(q_proj(h)))`. */
export class Block extends nn.Module {
  q_proj: nn.Module = new nn.Linear(6, 8);
  v_proj: nn.Module = new nn.Linear(8, 6);
  override forward(h: Tensor): Tensor {
    return h.add(this.v_proj.forward(this.q_proj.forward(h).relu()));
  }
}

/** Two blocks, then `lm_head` (6 → 4). */
export class TinyNet extends nn.Module {
  layers: Block[] = [new Block(), new Block()];
  lm_head: nn.Module = new nn.Linear(6, 4);
  override forward(x: Tensor): Tensor {
    let h = x;
    for (const b of this.layers) h = b.forward(h);
    return this.lm_head.forward(h);
  }
}

/** Every parameter's values, by name. */
export async function valuesOf(m: nn.Module): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, p] of m.namedParameters()) out[k] = Array.from(await p.data());
  return out;
}

/** Sets every `loraB` to small non-zero values so adapters change outputs. */
export function perturbB(m: nn.Module, seed = 1): void {
  let s = seed;
  for (const [k, p] of m.namedParameters()) {
    if (!k.endsWith("loraB")) continue;
    const v = Float32Array.from({ length: p.size }, () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return (s / 2147483648 - 0.5) * 0.4;
    });
    p.assign(tensor(v, { shape: [...p.shape], backend: p.backend }));
  }
}

/** A block of {@link EmbedNet}: `h + v_proj(relu(q_proj(h)))`. */
export class PeftBlock extends nn.Module {
  q_proj: nn.Module = new nn.Linear(6, 8);
  v_proj: nn.Module = new nn.Linear(8, 6);
  override forward(h: Tensor): Tensor {
    return h.add(this.v_proj.forward(this.q_proj.forward(h).relu()));
  }
}

/** The body of {@link EmbedNet}: `embed_tokens` and two blocks. */
export class PeftInner extends nn.Module {
  embed_tokens: nn.Module = new nn.Embedding(10, 6);
  layers: PeftBlock[] = [new PeftBlock(), new PeftBlock()];
  override forward(ids: Tensor): Tensor {
    let h = this.embed_tokens.forward(ids);
    for (const b of this.layers) h = b.forward(h);
    return h;
  }
}

/**
 * ids [B, T] → `model.embed_tokens` → two blocks → `lm_head` (6 → 4): the
 * model of `tests/fixtures/gen_peft_variants.py`, with a transformers-like
 * `model.layers.N` nesting (what `layers_to_transform` expects).
 */
export class EmbedNet extends nn.Module {
  model: PeftInner = new PeftInner();
  lm_head: nn.Module = new nn.Linear(6, 4);
  override forward(ids: Tensor): Tensor {
    return this.lm_head.forward(this.model.forward(ids));
  }
}

/** An {@link EmbedNet} holding the given base weights (nested lists by name). */
export function embedNetFrom(state: Record<string, unknown>): EmbedNet {
  const net = new EmbedNet();
  const sd: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(state)) sd[k] = tensor(v as number[]);
  net.loadStateDict(sd);
  return net;
}
