/**
 * Text of the demo's report: percentages, the LoRA parameter arithmetic of
 * the wrapped model, and a table of sample answers.
 *
 * @module
 */

import { lora, type nn } from "../mod.ts";
import type { Task } from "./tasks.ts";

/** `0.9961` → `"99.6%"`. */
export function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** `54474` → `"54,474"`. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/**
 * The LoRA arithmetic of a wrapped model: for each kind of adapted layer,
 * what is frozen (in·out) against what trains (r·(in + out)), then the
 * totals.
 *
 * @param model A model after `lora.wrap`.
 * @returns Report lines.
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * import { loraArithmetic } from "./summary.ts";
 * const seq = lora.wrap(new nn.Sequential(new nn.Linear(64, 64)), ["0"], 2, 4);
 * console.log(loraArithmetic(seq).join("\n"));
 * ```
 */
export function loraArithmetic(model: nn.Module): string[] {
  const groups = new Map<string, { names: Set<string>; layers: number; line: string }>();
  for (const [path, m] of model.namedModules()) {
    if (!(m instanceof lora.LoraLinear)) continue;
    const { inFeatures: i, outFeatures: o } = m.base, r = m.rank;
    const key = `${i}x${o}x${r}`;
    const frozen = i * o, trainable = r * (i + o);
    const g = groups.get(key) ?? {
      names: new Set<string>(),
      layers: 0,
      line: `${i}→${o}: in·out = ${count(frozen)} frozen vs r·(in+out) = ${r}·(${i}+${o}) = ` +
        `${count(trainable)} trainable (${pct(trainable / frozen)})`,
    };
    g.names.add(path.split(".").pop()!);
    g.layers++;
    groups.set(key, g);
  }
  const lines = [...groups.values()].map((g) =>
    `  ${[...g.names].join(", ")} (${g.layers} layer${g.layers > 1 ? "s" : ""}) ${g.line}`
  );
  const { trainable, total } = lora.parameterCount(model);
  lines.push(
    `  trainable ${count(trainable)} of ${count(total)} parameters (${pct(trainable / total)});` +
      ` embeddings, norms, biases and lm_head stay frozen`,
  );
  return lines;
}

/**
 * A table of inputs with the answers before and after fine-tuning, each
 * marked right (✓) or wrong (✗) against `task`.
 *
 * @param task The task that defines the right answers.
 * @param inputs The sample inputs.
 * @param before Answers before fine-tuning.
 * @param after Answers after fine-tuning.
 * @returns Report lines.
 */
export function samplesTable(
  task: Task,
  inputs: readonly string[],
  before: readonly string[],
  after: readonly string[],
): string[] {
  const w = Math.max(6, inputs[0]?.length ?? 0) + 2;
  const marked = (answer: string, input: string) =>
    `${answer} ${answer === task.apply(input) ? "✓" : "✗"}`.padEnd(w + 2);
  const lines = [`  ${"input".padEnd(w)}${"target".padEnd(w)}${"before".padEnd(w + 2)}after`];
  inputs.forEach((s, i) => {
    lines.push(
      `  ${s.padEnd(w)}${task.apply(s).padEnd(w)}${marked(before[i], s)}${marked(after[i], s)}`
        .trimEnd(),
    );
  });
  return lines;
}
