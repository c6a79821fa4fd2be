/**
 * Reverse-mode autograd: graph recording, `noGrad`, and the engine that
 * walks the graph, applies one rule per op (see `grad_rules.ts`), sums
 * broadcast gradients back to each input's shape in one place, and frees
 * what it made.
 *
 * @module
 */
import type { Tensor } from "./tensor.ts";
import { keep, scope } from "./memory.ts";
import { describe, fmtShape, sameShape } from "./shape.ts";
import { GRAD_RULES } from "./grad_rules.ts";

/** One recorded op: what made a tensor, from what. */
export interface GradNode {
  /** Key into the grad-rule table. */
  readonly op: string;
  /** The op's tensor inputs. */
  readonly inputs: readonly Tensor[];
  /** Whatever else the rule needs (axes, shapes, saved outputs…). */
  readonly saved: Record<string, unknown>;
}

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
export function record(
  out: Tensor,
  op: string,
  inputs: readonly Tensor[],
  saved: Record<string, unknown> = {},
): Tensor {
  if (disabled > 0 || !inputs.some((t) => t.requiresGrad)) return out;
  out._setNode({ op, inputs, saved });
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
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    const want = i < lead ? 1 : shape[i - lead];
    if (i < lead || (want === 1 && g.shape[i] !== 1)) axes.push(i);
    else if (want !== g.shape[i]) {
      throw new RangeError(
        `gradient of shape ${fmtShape(g.shape)} does not reduce to ${fmtShape(shape)}`,
      );
    }
  }
  if (lead < 0) {
    throw new RangeError(
      `gradient of shape ${fmtShape(g.shape)} does not reduce to ${fmtShape(shape)}`,
    );
  }
  return g.sum(axes, { keepdim: true }).reshape(shape);
}

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const inputs = top[0]._node?.inputs ?? [];
    if (top[1] < inputs.length) {
      const next = inputs[top[1]++];
      if (next.requiresGrad && !seen.has(next)) {
        next._checkGraph(); // a freed intermediate must not pose as a leaf
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      order.push(top[0]);
      stack.pop();
    }
  }
  return order.reverse();
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  const old = leaf.grad;
  leaf.grad = keep(old ? old.add(g) : g.clone());
  old?.dispose();
}

/** Runs backward from `root` (see `Tensor.backward`). */
export function backward(
  root: Tensor,
  gradOutput: Tensor | undefined,
  retainGraph: boolean,
): void {
  if (!root.requiresGrad) {
    throw new Error(
      "backward(): the tensor does not require grad and has no graph " +
        "(set requiresGrad on an input, outside noGrad)",
    );
  }
  root._checkGraph();
  let seed: Tensor;
  if (gradOutput === undefined) {
    if (root.size !== 1) {
      throw new RangeError(
        `backward() needs a gradOutput for a non-scalar tensor of shape ${fmtShape(root.shape)}`,
      );
    }
    seed = root._onesLike();
  } else {
    if (!(gradOutput instanceof Object) || !("_view" in gradOutput)) {
      throw new TypeError(`backward(): gradOutput must be a Tensor, got ${describe(gradOutput)}`);
    }
    if (gradOutput.dtype !== "float32") {
      throw new TypeError(`backward(): gradOutput must be float32, got ${gradOutput.dtype}`);
    }
    if (gradOutput._backend !== root._backend) {
      throw new TypeError(
        `backward(): gradOutput is on "${gradOutput.backend}", the tensor on "${root.backend}"`,
      );
    }
    if (!sameShape(gradOutput.shape, root.shape)) {
      throw new RangeError(
        `backward(): gradOutput shape ${fmtShape(gradOutput.shape)} does not match ${
          fmtShape(root.shape)
        }`,
      );
    }
    seed = gradOutput;
  }
  noGrad(() => run(root, seed, seed !== gradOutput, retainGraph));
}

function run(root: Tensor, seed: Tensor, ownSeed: boolean, retain: boolean): void {
  const order = topoOrder(root);
  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  const owned = new Set<Tensor>(ownSeed ? [seed] : []);
  for (const t of order) {
    const g = grads.get(t);
    if (!g) continue;
    grads.delete(t);
    const node = t._node;
    if (!node) accumulateLeaf(t, g);
    else {
      const rule = GRAD_RULES[node.op];
      if (!rule) throw new Error(`no gradient rule for op "${node.op}"`);
      const needs = node.inputs.map((x) => x.requiresGrad);
      // Each part becomes its own view (rules may return g itself, or one
      // tensor for two inputs), so the engine can free each independently.
      const parts = scope(() =>
        rule(g, { inputs: node.inputs, out: t, saved: node.saved, needs }).map(
          (p, i) => (p && needs[i] ? sumToShape(p, node.inputs[i].shape).detach() : null),
        )
      );
      parts.forEach((p, i) => {
        if (!p) return;
        const x = node.inputs[i];
        const prev = grads.get(x);
        if (prev) {
          grads.set(x, prev.add(p));
          if (owned.has(prev)) prev.dispose();
          p.dispose();
        } else grads.set(x, p);
        owned.add(grads.get(x)!);
      });
    }
    if (owned.has(g)) g.dispose();
  }
  if (retain) return;
  // Free the graph; intermediates a scope kept alive for it go now.
  for (const t of order) {
    t._releaseGraph();
    t._releaseHeld();
  }
}
