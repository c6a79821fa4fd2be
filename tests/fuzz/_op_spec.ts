/**
 * What one fuzzed op is ({@link OpSpec}: generate arguments, call the
 * library, compute the reference, print itself as code) and the small
 * helpers the op tables share. The tables are `_ops_math.ts`,
 * `_ops_shape.ts`, `_ops_create.ts`, `_ops_api.ts`, `_ops_nn.ts` and
 * `_ops_linalg.ts`; `_ops.ts` joins them into the registry.
 *
 * @module
 */
import type { Tensor } from "../../mod.ts";
import type { Arg, Gen } from "./_gen.ts";
import type { Ref } from "./_ref.ts";

/** What the reference sees of the run. */
export interface RefContext {
  backend: string;
}

/** One fuzzed op. */
export interface OpSpec {
  name: string;
  gen(g: Gen): Arg[];
  run(args: unknown[]): unknown;
  ref(args: unknown[], ctx: RefContext): unknown;
  show(args: string[]): string;
  /** Differentiable in its float tensor arguments. */
  grad?: boolean;
  /** False where the function has a kink or tie near the inputs. */
  gradOk?(args: Ref[]): boolean;
  /** Call results are compared by these tolerances (float32). */
  atol?: number;
  /** Words an error message must contain one of (default: the op's name). */
  names?: string[];
}

/** The first argument as the library's tensor. */
export const t0 = (a: unknown[]) => a[0] as Tensor;
/** The first argument as a reference array. */
export const rf = (a: unknown[]) => a[0] as Ref;
/** A `gradOk` that holds when every input element is further than `eps` from 0. */
export const away = (eps: number) => (args: Ref[]) =>
  args.every((r) => r.data.every((v) => Math.abs(v) > eps));
/** A `gradOk` that holds when no input has a repeated value (no ties). */
export const distinct = (args: Ref[]) => args.every((r) => new Set(r.data).size === r.data.length);
