/**
 * The autograd graph's vocabulary: the ops that record a node, what each
 * saves for its backward (typed per op), the rule type, `record`,
 * `noGrad` and the broadcast reduction every rule's result goes through.
 * The engine that walks the graph is `backward.ts`; the rules live beside
 * their ops (`ops_*.ts`, `fused.ts`) and `backward.ts` joins them into one
 * table that `deno check` holds complete against {@link OpSaved}.
 *
 * @module
 */
import type { Tensor } from "./tensor.ts";
import { describe, fmtShape, sameShape } from "./shape.ts";

/** Nothing saved. */
// deno-lint-ignore ban-types
export type NothingSaved = {};

/** Saved by the elementwise binary ops: a number operand, and pow's output. */
export interface BinarySaved {
  /** The right operand when it was a number (not a tensor input). */
  scalar?: number;
  /** The output (pow's rule needs it). */
  out?: Tensor;
}

/** Saved by the unary ops whose derivative is a function of the output. */
export interface UnarySaved {
  /** The output (exp, sqrt, tanh, sigmoid). */
  out?: Tensor;
}

/**
 * Every op that records a graph node, and what it saves for backward.
 * Adding an op here without a rule is a type error in `backward.ts`.
 */
export interface OpSaved {
  /** What `alias` saves. */
  alias: NothingSaved;
  /** What `add` saves. */
  add: BinarySaved;
  /** What `sub` saves. */
  sub: BinarySaved;
  /** What `mul` saves. */
  mul: BinarySaved;
  /** What `div` saves. */
  div: BinarySaved;
  /** What `pow` saves. */
  pow: BinarySaved;
  /** What `neg` saves. */
  neg: UnarySaved;
  /** What `exp` saves. */
  exp: UnarySaved;
  /** What `log` saves. */
  log: UnarySaved;
  /** What `sqrt` saves. */
  sqrt: UnarySaved;
  /** What `abs` saves. */
  abs: UnarySaved;
  /** What `relu` saves. */
  relu: UnarySaved;
  /** What `tanh` saves. */
  tanh: UnarySaved;
  /** What `sigmoid` saves. */
  sigmoid: UnarySaved;
  /** What `gelu` saves. */
  gelu: UnarySaved;
  /** What `where` saves. */
  where: { aIsTensor: boolean; bIsTensor: boolean };
  /** What `matmul` saves. */
  matmul: NothingSaved;
  /** What `cat` saves. */
  cat: { dim: number; sizes: number[] };
  /** What `sum` saves. */
  sum: { axes: number[]; keepdim: boolean };
  /** What `max` saves. */
  max: { axes: number[]; keptShape: readonly number[]; out: Tensor };
  /** What `softmax` saves. */
  softmax: { dim: number; out: Tensor };
  /** What `logSoftmax` saves. */
  logSoftmax: { dim: number; out: Tensor };
  /** What `reshape` saves. */
  reshape: { shape: readonly number[] };
  /** What `permute` saves. */
  permute: { dims: number[] };
  /** What `expand` saves. */
  expand: NothingSaved;
  /** What `narrow` saves. */
  narrow: { dim: number; start: number; shape: readonly number[] };
  /** What `indexSelect` saves. */
  indexSelect: { dim: number; index: Tensor; shape: readonly number[] };
  /** What `linear` saves. */
  linear: NothingSaved;
  /** What `loraLinear` saves. */
  loraLinear: { down: Tensor; scaling: number };
  /** What `crossEntropy` saves. */
  crossEntropy: { probs: Tensor; targets: Tensor };
  /** What the fused `attention` saves: its output, each row's log-sum-exp. */
  attention: {
    out: Tensor;
    lse: Tensor;
    bias: Tensor | null;
    scale: number;
    causalOffset: number | null;
  };
}

/** The name of an op that records a graph node. */
export type OpName = keyof OpSaved;

/** One recorded op: what made a tensor, from what. */
export interface GradNode<K extends OpName = OpName> {
  /** Which rule differentiates it. */
  readonly op: K;
  /** The op's tensor inputs. */
  readonly inputs: readonly Tensor[];
  /** What the op saved for its rule. */
  readonly saved: OpSaved[K];
}

/** What a rule sees of the op it differentiates. */
export interface GradContext<K extends OpName> {
  /** The op's tensor inputs. */
  readonly inputs: readonly Tensor[];
  /** The op's output. */
  readonly out: Tensor;
  /** The op's saved values. */
  readonly saved: OpSaved[K];
  /** Which inputs need a gradient (no work for the others). */
  readonly needs: readonly boolean[];
}

/**
 * A gradient rule: the upstream gradient in, one gradient per input out
 * (null where not needed; a broadcast-shaped one is summed back by the
 * engine). Rules run under `noGrad` inside a scope.
 */
export type GradRule<K extends OpName> = (g: Tensor, ctx: GradContext<K>) => (Tensor | null)[];

/** Rules for some ops (each op family exports its own). */
export type GradRules<K extends OpName> = { readonly [P in K]: GradRule<P> };

let disabled = 0;

/** True unless inside `noGrad`. */
export function isGradEnabled(): boolean {
  return disabled === 0;
}

/**
 * Runs `fn` without recording a graph and returns its result.
 *
 * @param fn Synchronous work.
 * @returns What `fn` returned.
 * @throws {TypeError} when `fn` is not a function.
 * @example
 * ```ts
 * import { noGrad, tensor } from "../mod.ts";
 * const w = tensor([1, 2], { requiresGrad: true });
 * const y = noGrad(() => w.mul(2)); // y.requiresGrad === false
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  if (typeof fn !== "function") {
    throw new TypeError(`noGrad(fn): fn must be a function, got ${describe(fn)}`);
  }
  disabled++;
  try {
    return fn();
  } finally {
    disabled--;
  }
}

/** Attaches a node to `out` when grad mode is on and an input needs it. */
export function record<K extends OpName>(
  out: Tensor,
  op: K,
  inputs: readonly Tensor[],
  saved: OpSaved[K],
): Tensor {
  if (disabled > 0 || !inputs.some((t) => t.requiresGrad)) return out;
  out._setNode({ op, inputs, saved } as GradNode);
  return out;
}

/**
 * Sums a gradient over the dims it was broadcast along, back to `shape`.
 *
 * @throws {RangeError} when `g` cannot have come from broadcasting `shape`.
 */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const bad = () =>
    new RangeError(`gradient of shape ${fmtShape(g.shape)} does not reduce to ${fmtShape(shape)}`);
  if (lead < 0) throw bad();
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    const want = i < lead ? 1 : shape[i - lead];
    if (i < lead || (want === 1 && g.shape[i] !== 1)) axes.push(i);
    else if (want !== g.shape[i]) throw bad();
  }
  return g.sum(axes, { keepdim: true }).reshape(shape);
}
