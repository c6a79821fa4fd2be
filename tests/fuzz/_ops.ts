/**
 * The fuzzed surface: every function and method of the API's Tensors,
 * Autograd and Memory sections (plus the documented extras: narrow,
 * indexSelect, clone, contiguous, float, int, assign), the transformer ops of
 * `nn` (`_ops_nn.ts`) and `linalg.svd` / `linalg.qr` (`_ops_linalg.ts`). Each entry generates
 * arguments (mostly valid, sometimes not), calls the library, computes the
 * reference, and prints itself as code for a reproduction.
 *
 * This file is the registry ({@link OPS}) and the random choice of a case;
 * the entries live by topic in `_ops_math.ts` (elementwise, reductions,
 * `where`, `matmul`), `_ops_shape.ts` (views, copies, joins, `assign`),
 * `_ops_create.ts` (factories), `_ops_api.ts` (reads, autograd),
 * `_ops_nn.ts` and `_ops_linalg.ts`; what an entry is: `_op_spec.ts`.
 *
 * @module
 */
import type { Case, Gen } from "./_gen.ts";
import type { OpSpec } from "./_op_spec.ts";
import { autogradOps, readOps } from "./_ops_api.ts";
import { factoryOps } from "./_ops_create.ts";
import { linalgOps } from "./_ops_linalg.ts";
import { elementwiseOps, matmulOp, whereOp } from "./_ops_math.ts";
import { nnOps } from "./_ops_nn.ts";
import { assignOp, copyOps, joinOps, viewOps } from "./_ops_shape.ts";

/** Every fuzzed op, by name (the order is part of the seeded choice). */
export const OPS: ReadonlyMap<string, OpSpec> = new Map(
  [
    ...elementwiseOps(),
    ...viewOps(),
    ...copyOps(),
    ...joinOps(),
    whereOp(),
    matmulOp(),
    assignOp(),
    ...factoryOps(),
    ...readOps(),
    ...autogradOps(),
    ...nnOps(),
    ...linalgOps(),
  ].map((o) => [o.name, o]),
);

/** Ops about grad mode itself: not run inside noGrad or scope. */
const NO_WRAP = new Set(["backward", "noGrad", "requiresGrad"]);

/** A random case of a random op. */
export function randomCase(g: Gen, only?: readonly string[]): Case {
  const names = only ?? [...OPS.keys()];
  const op = g.rng.pick(names);
  const r = g.rng.next();
  const wrap = NO_WRAP.has(op)
    ? undefined
    : r < 0.08
    ? "scope"
    : r < 0.13
    ? "noGrad"
    : r < 0.16
    ? "keep"
    : undefined;
  return { op, args: OPS.get(op)!.gen(g), wrap };
}
