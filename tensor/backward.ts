/**
 * The reverse-mode engine: walks the graph from a root in reverse
 * topological order, applies each node's rule (one table joining every op
 * family's rules, which `deno check` holds complete against `OpSaved`),
 * sums broadcast gradients back to each input's shape in one place
 * (`sumToShape`), accumulates into leaves and frees what it made.
 *
 * @module
 */
import { Tensor } from "./tensor.ts";
import { keep, scope } from "./memory.ts";
import { describe, fmtShape, sameShape } from "./shape.ts";
import { type GradRule, type GradRules, noGrad, type OpName, sumToShape } from "./graph.ts";
import { elementwiseRules } from "./ops_elementwise.ts";
import { viewRules } from "./ops_view.ts";
import { reduceRules } from "./ops_reduce.ts";
import { matmulRules } from "./ops_matmul.ts";
import { fusedRules } from "./fused.ts";
import { attentionRules } from "./fused_attention.ts";

/** Every op's rule: a missing or mistyped one is a `deno check` error. */
const GRAD_RULES: GradRules<OpName> = {
  ...elementwiseRules,
  ...viewRules,
  ...reduceRules,
  ...matmulRules,
  ...fusedRules,
  ...attentionRules,
};

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
    if (!(gradOutput instanceof Tensor)) {
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
      const rule = GRAD_RULES[node.op] as GradRule<OpName>;
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
