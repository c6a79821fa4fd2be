/**
 * Command-line flags of `train_demo.ts`, parsed strictly with `node:util`.
 *
 * @module
 */

import { parseArgs } from "node:util";

/** Every setting of a demo run. */
export interface DemoOptions {
  /** Backend for every tensor: `"cpu"` or `"webgpu"`. */
  backend: "cpu" | "webgpu";
  /** LoRA rank r. */
  rank: number;
  /** LoRA alpha (the adapter output is scaled by alpha / r). */
  alpha: number;
  /** Names of the Linear layers that get adapters. */
  targets: string[];
  /** Pretraining steps on task A. */
  pretrainSteps: number;
  /** LoRA fine-tuning steps on task B. */
  steps: number;
  /** Seed for the weights, the adapters and the data. */
  seed: number;
  /** Where the adapter and the loss curve are written. */
  out: string;
  /** Adapters to train: 1 (task B), or 2 (tasks B and C, then both served from one batch). */
  adapters: 1 | 2;
  /** Print one JSON object as the last line. */
  json: boolean;
  /** A few steps only, for tests: the accuracy targets are not met. */
  quick: boolean;
  /** Print the help and exit. */
  help: boolean;
}

export { DEFAULT_TARGETS, QUICK_STEPS } from "./defaults.ts";
import { DEFAULT_TARGETS, QUICK_STEPS } from "./defaults.ts";

/** The text `--help` prints. */
export const HELP = `Usage: deno run -A train_demo.ts [options]

Pretrains a tiny transformer to sort digit strings (task A), then fine-tunes
only LoRA adapters so it sorts them descending (task B), with the base frozen.

Options:
  --backend cpu|webgpu   backend for every tensor (default cpu)
  --rank N               LoRA rank r (default 2)
  --alpha X              LoRA alpha; adapters are scaled by alpha/r (default 4)
  --targets a,b,...      layers to adapt (default ${DEFAULT_TARGETS.join(",")})
  --steps N              LoRA fine-tuning steps (default 300)
  --pretrain-steps N     pretraining steps (default 400)
  --seed N               seed for weights, adapters and data (default 0)
  --out DIR              adapter directory, also gets loss_curve.svg
                         (default ./lora_adapter)
  --adapters 1|2         2: also train a second adapter on task C (sort, then
                         move the first digit to the end), serve B and C from
                         one batch and mix them (default 1)
  --json                 print the run's figures as one JSON line, last
  --quick                ${QUICK_STEPS.pretrain} + ${QUICK_STEPS.finetune} steps, a smoke test (accuracy stays low)
  --help                 show this help`;

/** A bad command line: the message is one line, shown before the help. */
export class UsageError extends Error {
  /** The error's name. */
  override name = "UsageError";
}

/**
 * Parses the demo's flags.
 *
 * @param args The arguments (e.g. `Deno.args`).
 * @returns The settings, defaults filled in.
 * @throws {UsageError} For an unknown flag, a missing or bad value, or a
 *   positional argument.
 * @example
 * ```ts
 * import { parseDemoArgs } from "./cli.ts";
 * console.log(parseDemoArgs(["--rank", "4"]).rank); // 4
 * ```
 */
export function parseDemoArgs(args: readonly string[]): DemoOptions {
  let v;
  try {
    v = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        backend: { type: "string", default: "cpu" },
        rank: { type: "string", default: "2" },
        alpha: { type: "string" },
        targets: { type: "string", default: DEFAULT_TARGETS.join(",") },
        steps: { type: "string" },
        "pretrain-steps": { type: "string" },
        seed: { type: "string", default: "0" },
        out: { type: "string", default: "./lora_adapter" },
        adapters: { type: "string", default: "1" },
        json: { type: "boolean", default: false },
        quick: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message.replaceAll("\n", " "));
  }
  const backend = v.backend;
  if (backend !== "cpu" && backend !== "webgpu") {
    throw new UsageError(`--backend must be cpu or webgpu, got "${backend}"`);
  }
  const rank = _int("--rank", v.rank, 1);
  const targets = v.targets.split(",").map((t) => t.trim()).filter((t) => t !== "");
  if (targets.length === 0) throw new UsageError("--targets needs at least one layer name");
  if (v.out === "") throw new UsageError("--out needs a directory");
  if (v.adapters !== "1" && v.adapters !== "2") {
    throw new UsageError(`--adapters must be 1 or 2, got "${v.adapters}"`);
  }
  return {
    backend,
    rank,
    alpha: v.alpha === undefined ? 2 * rank : _positive("--alpha", v.alpha),
    targets,
    pretrainSteps: _int(
      "--pretrain-steps",
      v["pretrain-steps"] ?? (v.quick ? QUICK_STEPS.pretrain : "400"),
      1,
    ),
    steps: _int("--steps", v.steps ?? (v.quick ? QUICK_STEPS.finetune : "300"), 1),
    seed: _int("--seed", v.seed, 0),
    out: v.out,
    adapters: v.adapters === "2" ? 2 : 1,
    json: v.json,
    quick: v.quick,
    help: v.help,
  };
}

function _int(flag: string, text: string | number, min: number): number {
  const n = Number(text);
  if (String(text).trim() === "" || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${flag} must be an integer ≥ ${min}, got "${text}"`);
  }
  return n;
}

function _positive(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`${flag} must be a positive number, got "${text}"`);
  }
  return n;
}
