/**
 * Builds a case's arguments twice: as library tensors on a backend (leaves
 * made from the specs' base data, then the view each spec names) and as
 * float64 reference arrays with the same views, plus what the fuzz needs
 * to know of the specs afterwards (every spec, a leaf's original bits).
 *
 * @module
 */
import { type Tensor, tensor } from "../../mod.ts";
import type { Arg, TSpec } from "./_gen.ts";
import { Ref } from "./_ref.ts";
import { expand, narrow, permute, transpose } from "./_ref_shape.ts";

/** What {@link build} made: the leaves, the views over them, and their specs. */
export interface Built {
  leaves: Tensor[];
  views: Tensor[];
  specs: TSpec[];
}

function applyView(t: Tensor, s: TSpec): Tensor {
  const v = s.view!;
  if (v.t === "transpose") return t.transpose(v.a, v.b);
  if (v.t === "narrow") return t.narrow(v.dim, v.start, s.shape[v.dim]);
  if (v.t === "expand") return t.expand(s.shape);
  return t.permute(v.dims);
}

function refView(r: Ref, s: TSpec): Ref {
  const v = s.view;
  if (!v) return r;
  if (v.t === "transpose") return transpose(r, v.a, v.b);
  if (v.t === "narrow") return narrow(r, v.dim, v.start, s.shape[v.dim]);
  if (v.t === "expand") {
    const e = expand(r, s.shape);
    e.overlapping = e.size > 0 && s.shape.some((n, i) => n > 1 && s.base[i] === 1);
    return e;
  }
  return permute(r, v.dims);
}

/** A spec's base values rounded to its dtype, in float64. */
export function baseValues(s: TSpec): Float64Array {
  return Float64Array.from(s.values, (v) => (s.dtype === "int32" ? v | 0 : Math.fround(v)));
}

/** The library-side arguments of a case: tensors on `backend`, recorded in `b`. */
export function build(args: Arg[], backend: string, grad: boolean, b: Built): unknown[] {
  return args.map((a) => {
    if (a.k === "v") return a.v;
    if (a.k === "list") return build(a.items, backend, grad, b);
    const s = a.spec;
    const data = s.dtype === "int32" ? Int32Array.from(s.values) : Float32Array.from(s.values);
    const leaf = tensor(data, { shape: s.base, dtype: s.dtype, backend });
    b.leaves.push(leaf);
    b.specs.push(s);
    if (s.requiresGrad || (grad && s.dtype === "float32" && !s.constant)) leaf.requiresGrad = true;
    if (!s.view) return leaf;
    const v = applyView(leaf, s);
    b.views.push(v);
    return v;
  });
}

/** The reference-side arguments of a case (`override` replaces a spec's base values). */
export function buildRef(args: Arg[], override?: Map<TSpec, Float64Array>): unknown[] {
  return args.map((a) => {
    if (a.k === "v") return a.v;
    if (a.k === "list") return buildRef(a.items, override);
    const s = a.spec;
    return refView(new Ref(s.base, override?.get(s) ?? baseValues(s), s.dtype), s);
  });
}

/** The bits a leaf was made with (what it must still hold). */
export function bitsOf(s: TSpec): Int32Array {
  const d = s.dtype === "int32" ? Int32Array.from(s.values) : Float32Array.from(s.values);
  return new Int32Array(d.buffer);
}

/** Every tensor spec among the arguments, lists included. */
export function allSpecs(args: Arg[]): TSpec[] {
  return args.flatMap((a) => (a.k === "t" ? [a.spec] : a.k === "list" ? allSpecs(a.items) : []));
}
