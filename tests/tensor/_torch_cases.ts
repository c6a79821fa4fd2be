/**
 * Loads `tests/fixtures/torch_ops.json` (made by `gen_torch_ops.py`) and
 * runs its cases through the library, so forward and gradient suites share
 * one reading of the fixture.
 *
 * @module
 */
import { cat, stack, type Tensor, tensor, where } from "../../mod.ts";
import fixture from "../fixtures/torch_ops.json" with { type: "json" };

/** One tensor input of a case. */
export interface CaseInput {
  shape: number[];
  data: number[];
  /** requiresGrad */
  rg: boolean;
  /** "T": transpose(-2, -1) before the op. */
  pre?: "T";
}

/** One reference case: the op, its inputs, and torch's answers. */
export interface TorchCase {
  name: string;
  op: string;
  inputs: CaseInput[];
  args: unknown[];
  out: { shape: number[]; dtype: "float32" | "int32"; data: number[] };
  g?: number[];
  grads?: (number[] | null)[];
}

/** Every case in the fixture. */
export const torchCases: TorchCase[] = fixture.cases as TorchCase[];

/** Ops the fixture covers, in first-seen order. */
export function fixtureOps(): string[] {
  return [...new Set(torchCases.map((c) => c.op))];
}

/** The case's leaves (what gradients are taken of) and the op's operands. */
export function makeInputs(c: TorchCase): { leaves: Tensor[]; xs: Tensor[] } {
  const leaves = c.inputs.map((s) => tensor(s.data, { shape: s.shape, requiresGrad: s.rg }));
  const xs = leaves.map((l, i) => c.inputs[i].pre === "T" ? l.transpose(-2, -1) : l);
  return { leaves, xs };
}

/** Applies the case's op the way a user would spell it. */
export function applyOp(op: string, xs: Tensor[], args: unknown[]): Tensor {
  switch (op) {
    case "cat":
      return cat(xs, args[0] as number);
    case "stack":
      return stack(xs, args[0] as number);
    case "where":
      return where(xs[0], xs[1], xs[2]);
  }
  // deno-lint-ignore no-explicit-any
  const method = (xs[0] as any)[op];
  if (typeof method !== "function") {
    throw new TypeError(`Tensor has no method ${op}()`);
  }
  return method.call(xs[0], ...xs.slice(1), ...args) as Tensor;
}

/** Tolerances for comparing to torch: float32 against a float64 reference. */
export const TOL = { atol: 1e-4, rtol: 1e-4 };

/**
 * Describes where `actual` differs from `expected` beyond
 * `atol + rtol·|expected|`, or returns null when it matches.
 */
export function mismatch(
  actual: ArrayLike<number>,
  actualShape: readonly number[],
  expected: readonly number[],
  expectedShape: readonly number[],
  tol = TOL,
): string | null {
  if (
    actualShape.length !== expectedShape.length ||
    actualShape.some((s, i) => s !== expectedShape[i])
  ) {
    return `shape [${actualShape}] but torch gives [${expectedShape}]`;
  }
  if (actual.length !== expected.length) {
    return `${actual.length} values but torch gives ${expected.length}`;
  }
  const bad: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    const ok = Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e);
    if (!ok) bad.push(`[${i}] got ${a}, torch ${e}`);
  }
  if (bad.length === 0) return null;
  const more = bad.length > 4 ? ` (+${bad.length - 4} more)` : "";
  return bad.slice(0, 4).join("; ") + more;
}

/** Formats a case's inputs for a failure message. */
export function describe(c: TorchCase): string {
  const ins = c.inputs.map((s) =>
    `${s.pre === "T" ? "T(" : ""}[${s.shape}]${s.pre === "T" ? ")" : ""}`
  );
  return `${c.op}(${[...ins, ...c.args.map((a) => JSON.stringify(a))]})`;
}
