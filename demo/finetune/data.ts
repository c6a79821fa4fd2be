/**
 * The finetune command's data: plain text packed into blocks of `seq`
 * tokens, or JSONL lines of `{ text }` or `{ prompt, completion }` (only
 * the completion and the end-of-sequence token are learned), split into
 * training and held-out examples, and batched with padding and masks.
 *
 * @module
 */
import { type Tensor, tensor } from "../../mod.ts";

/** What the data module needs of a tokenizer. */
export interface Encoder {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  readonly eosTokenId: number | null | undefined;
}

/** One training example: token ids and which of them are learned. */
export interface Example {
  ids: number[];
  /** 1 where the token is a label the loss counts. */
  learn: number[];
}

/** Examples from a file's text (`name` decides the format). */
export function examplesFrom(name: string, text: string, tok: Encoder, seq: number): Example[] {
  const eos = tok.eosTokenId ?? 0;
  if (!name.endsWith(".jsonl")) {
    return pack(tok.encode(text, { addSpecialTokens: false }), eos, seq);
  }
  const out: Example[] = [];
  const stream: number[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let row: { text?: unknown; prompt?: unknown; completion?: unknown };
    try {
      row = JSON.parse(line);
    } catch {
      throw new TypeError(`${name}:${i + 1}: not a JSON object`);
    }
    if (typeof row.prompt === "string" && typeof row.completion === "string") {
      const p = tok.encode(row.prompt, { addSpecialTokens: false });
      const c = [...tok.encode(row.completion, { addSpecialTokens: false }), eos];
      const ids = [...p, ...c].slice(0, seq);
      out.push({ ids, learn: ids.map((_, j) => (j >= p.length ? 1 : 0)) });
    } else if (typeof row.text === "string") {
      stream.push(...tok.encode(row.text, { addSpecialTokens: false }), eos);
    } else {
      throw new TypeError(`${name}:${i + 1}: expected "text", or "prompt" and "completion"`);
    }
  });
  return [...out, ...pack(stream, eos, seq)];
}

/** Concatenated text cut into blocks of `seq` tokens (transformers' group_texts). */
function pack(ids: number[], eos: number, seq: number): Example[] {
  if (ids.length > 0 && ids[ids.length - 1] !== eos) ids = [...ids, eos];
  const out: Example[] = [];
  for (let at = 0; at + 2 <= ids.length; at += seq) {
    const block = ids.slice(at, at + seq);
    out.push({ ids: block, learn: block.map(() => 1) });
  }
  return out;
}

/** A seeded shuffle, then `evalFraction` held out (at least one example). */
export function split(all: Example[], evalFraction: number, seed: number) {
  let s = seed >>> 0 || 1;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const xs = [...all];
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  const nEval = Math.max(1, Math.round(xs.length * evalFraction));
  return { train: xs.slice(nEval), eval: xs.slice(0, nEval) };
}

/** A batch padded on the right: ids, attention mask and loss mask, [B, T]. */
export interface Batch {
  ids: Tensor;
  attentionMask: Tensor;
  lossMask: Tensor;
  tokens: number;
}

/** Pads `xs` to their longest length with `pad` and builds the masks. */
export function batchOf(xs: Example[], pad: number): Batch {
  const T = Math.max(...xs.map((x) => x.ids.length));
  const ids = xs.map((x) => [...x.ids, ...Array(T - x.ids.length).fill(pad)]);
  const att = xs.map((x) => [...x.ids.map(() => 1), ...Array(T - x.ids.length).fill(0)]);
  const learn = xs.map((x) => [...x.learn, ...Array(T - x.ids.length).fill(0)]);
  return {
    ids: tensor(ids, { dtype: "int32" }),
    attentionMask: tensor(att, { dtype: "int32" }),
    lossMask: tensor(learn, { dtype: "int32" }),
    tokens: xs.reduce((p, x) => p + x.ids.length, 0),
  };
}
