/**
 * Flags of `deno task finetune`, parsed strictly with `node:util`.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** Every setting of a finetune run. */
export interface FinetuneOptions {
  /** The checkpoint directory (Hugging Face layout). */
  model: string;
  /** Training data: plain text, or JSONL of {text} or {prompt, completion}. */
  data: string;
  /** Where the adapter is written (PEFT's layout). */
  out: string;
  /** LoRA rank. */
  rank: number;
  /** LoRA alpha. */
  alpha: number;
  /** Module names to adapt. */
  targets: string[];
  /** Optimizer steps. */
  steps: number;
  /** Examples per micro-batch. */
  batch: number;
  /** Tokens per example (the packing block). */
  seq: number;
  /** Peak learning rate (linear warm-up, then cosine to 0). */
  lr: number;
  /** Micro-batches per optimizer step. */
  gradAccum: number;
  /** Evaluate every N steps (0: only before and after). */
  evalEvery: number;
  /** Save the adapter every N steps (0: only at the end). */
  saveEvery: number;
  /** "cpu" or "webgpu". */
  backend: "cpu" | "webgpu";
  /** Seed for the adapters, the split and the batches. */
  seed: number;
  /** Print one JSON object as the last line. */
  json: boolean;
  /** Print the help and exit. */
  help: boolean;
}

/** The shipped tiny checkpoint and its data (`demo/tiny_llama/make.ts`). */
export const TINY = new URL("../tiny_llama/", import.meta.url).pathname;

/** Projections adapted by default: Llama's seven. */
export const DEFAULT_TARGETS = [
  "q_proj",
  "k_proj",
  "v_proj",
  "o_proj",
  "gate_proj",
  "up_proj",
  "down_proj",
];

/** The text `--help` prints. */
export const HELP = `Usage: deno task finetune [--model DIR] [--data FILE] [options]

LoRA-fine-tunes a Hugging Face checkpoint directory (config.json, safetensors
weights, tokenizer.json) on a text or JSONL file and writes a PEFT adapter.
With no --model it runs on the tiny Llama this repository ships.

Options:
  --model DIR        checkpoint directory (default: the shipped tiny Llama)
  --data FILE        .txt (packed into blocks) or .jsonl with "text", or
                     "prompt" and "completion" (only the completion is learned)
                     (default: the tiny Llama's finetune.jsonl)
  --out DIR          adapter directory (default ./finetune_adapter)
  --rank N           LoRA rank (default 8)
  --alpha X          LoRA alpha (default 16)
  --targets a,b,...  modules to adapt (default ${DEFAULT_TARGETS.join(",")})
  --steps N          optimizer steps (default 120; --quick 15)
  --batch N          examples per micro-batch (default 8)
  --seq N            tokens per example (default 64)
  --lr X             peak learning rate, warm-up then cosine (default 2e-3)
  --grad-accum N     micro-batches per step (default 1)
  --eval-every N     evaluate every N steps (default 0: before and after)
  --save-every N     also save the adapter every N steps (default 0)
  --backend B        cpu or webgpu (default cpu)
  --seed N           seed (default 0)
  --quick            a short run (15 steps)
  --json             last line: one JSON object with the run's figures
  --help             this text
`;

/** A bad flag: the message is printed with the help, exit code 2. */
export class UsageError extends Error {}

function int(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`${name} must be an integer ≥ ${min}, got ${v}`);
  }
  return n;
}

function float(name: string, v: string): number {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) {
    throw new UsageError(`${name} must be a positive number, got ${v}`);
  }
  return n;
}

/** Parses the flags (defaults filled). */
export function parseFinetuneArgs(args: string[]): FinetuneOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        model: { type: "string" },
        data: { type: "string" },
        out: { type: "string", default: "./finetune_adapter" },
        rank: { type: "string", default: "8" },
        alpha: { type: "string", default: "16" },
        targets: { type: "string" },
        steps: { type: "string" },
        batch: { type: "string", default: "8" },
        seq: { type: "string", default: "64" },
        lr: { type: "string", default: "2e-3" },
        "grad-accum": { type: "string", default: "1" },
        "eval-every": { type: "string", default: "0" },
        "save-every": { type: "string", default: "0" },
        backend: { type: "string", default: "cpu" },
        seed: { type: "string", default: "0" },
        quick: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
      allowPositionals: false,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.backend !== "cpu" && v.backend !== "webgpu") {
    throw new UsageError(`--backend must be cpu or webgpu, got ${v.backend}`);
  }
  return {
    model: v.model ?? TINY,
    data: v.data ?? (v.model ? "" : `${TINY}finetune.jsonl`),
    out: v.out!,
    rank: int("--rank", v.rank!, 1),
    alpha: float("--alpha", v.alpha!),
    targets: v.targets
      ? v.targets.split(",").map((s) => s.trim()).filter(Boolean)
      : DEFAULT_TARGETS,
    steps: int("--steps", v.steps ?? (v.quick ? "15" : "120"), 1),
    batch: int("--batch", v.batch!, 1),
    seq: int("--seq", v.seq!, 2),
    lr: float("--lr", v.lr!),
    gradAccum: int("--grad-accum", v["grad-accum"]!, 1),
    evalEvery: int("--eval-every", v["eval-every"]!, 0),
    saveEvery: int("--save-every", v["save-every"]!, 0),
    backend: v.backend,
    seed: int("--seed", v.seed!, 0),
    json: v.json!,
    help: v.help!,
  };
}
