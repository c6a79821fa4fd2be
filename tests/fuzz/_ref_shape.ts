/**
 * Float64 references of the view and copy ops (`reshape`, `permute`,
 * `transpose`, `unsqueeze`, `squeeze`, `expand`, `narrow`, `indexSelect`),
 * the joins (`cat`, `stack`) and `assign`.
 *
 * @module
 */
import {
  at,
  broadcast,
  broadcastTo,
  castTo,
  dimOf,
  make,
  numel,
  rangeErr,
  Ref,
  shapeOf,
  typeErr,
} from "./_ref.ts";
import { lift } from "./_ref_math.ts";

export function reshape(x: Ref, shape: unknown): Ref {
  const s = shapeOf(shape, true);
  const free = s.filter((v) => v === -1).length;
  if (free > 1) rangeErr("two -1");
  if (free === 1) {
    const rest = s.reduce((p, v) => (v === -1 ? p : p * v), 1);
    if (rest === 0 || x.size % rest !== 0) rangeErr("cannot infer");
    s[s.indexOf(-1)] = x.size / rest;
  }
  if (numel(s) !== x.size) rangeErr("reshape size");
  return new Ref(s, x.data, x.dtype);
}

export function permute(x: Ref, dims: unknown): Ref {
  if (!Array.isArray(dims)) return typeErr("permute dims kind");
  for (let i = 0; i < dims.length; i++) if (!(i in dims)) typeErr("permute hole");
  const d = dims.map((v) => dimOf(v, x.ndim));
  if (d.length !== x.ndim || new Set(d).size !== d.length) rangeErr("not a permutation");
  const shape = d.map((i) => x.shape[i]);
  return make(shape, x.dtype, (idx) => {
    const src = new Array<number>(x.ndim);
    d.forEach((s, i) => (src[s] = idx[i]));
    return at(x, src);
  });
}

export function transpose(x: Ref, d0: unknown, d1: unknown): Ref {
  const a = dimOf(d0, x.ndim), b = dimOf(d1, x.ndim);
  if (x.ndim === 0) return x;
  const dims = [...x.shape.keys()];
  [dims[a], dims[b]] = [dims[b], dims[a]];
  return permute(x, dims);
}

export function unsqueeze(x: Ref, dim: unknown): Ref {
  const d = dimOf(dim, x.ndim + 1);
  const shape = [...x.shape];
  shape.splice(d, 0, 1);
  return new Ref(shape, x.data, x.dtype);
}

export function squeeze(x: Ref, dim: unknown): Ref {
  if (dim === undefined) return new Ref(x.shape.filter((s) => s !== 1), x.data, x.dtype);
  const d = dimOf(dim, x.ndim);
  if (x.ndim === 0 || x.shape[d] !== 1) return x;
  return new Ref(x.shape.filter((_, i) => i !== d), x.data, x.dtype);
}

export function expand(x: Ref, shape: unknown): Ref {
  const s = shapeOf(shape, true);
  const lead = s.length - x.ndim;
  if (lead < 0) rangeErr("expand rank");
  const out = s.map((want, i) => {
    if (i < lead) return want < 0 ? rangeErr("expand -1 lead") : want;
    const src = x.shape[i - lead];
    const w = want === -1 ? src : want;
    if (w !== src && src !== 1) rangeErr("expand size");
    return w;
  });
  return broadcastTo(x, out);
}

export function narrow(x: Ref, dim: unknown, start: unknown, length: unknown): Ref {
  const d = dimOf(dim, x.ndim);
  if (x.ndim === 0) rangeErr("narrow 0-d");
  if (typeof start !== "number" || typeof length !== "number") typeErr("narrow args");
  const n = x.shape[d];
  if (!Number.isInteger(start) || !Number.isInteger(length)) rangeErr("narrow fraction");
  const s0 = (start as number) < 0 ? (start as number) + n : start as number;
  if (s0 < 0 || (length as number) < 0 || s0 + (length as number) > n) rangeErr("narrow range");
  const shape = [...x.shape];
  shape[d] = length as number;
  return make(shape, x.dtype, (idx) => {
    const src = [...idx];
    src[d] += s0;
    return at(x, src);
  });
}

export function indexSelect(x: Ref, dim: unknown, index: unknown): Ref {
  const d = dimOf(dim, x.ndim);
  if (!(index instanceof Ref)) return typeErr("index kind");
  if (index.dtype !== "int32" || index.ndim !== 1) typeErr("index dtype/rank");
  if (x.ndim === 0) rangeErr("indexSelect 0-d");
  for (const k of index.data) if (k < 0 || k >= x.shape[d]) rangeErr("index out of range");
  const shape = [...x.shape];
  shape[d] = index.size;
  return make(shape, x.dtype, (idx) => {
    const src = [...idx];
    src[d] = index.data[idx[d]];
    return at(x, src);
  });
}

export function cat(list: unknown, dim: unknown): Ref {
  if (!Array.isArray(list)) return typeErr("cat list kind");
  if (list.length === 0) rangeErr("cat empty");
  for (let i = 0; i < list.length; i++) if (!(list[i] instanceof Ref)) typeErr("cat item");
  const ts = list as Ref[];
  if (ts.some((t) => t.ndim === 0)) rangeErr("cat 0-d");
  const first = ts[0];
  const d = dimOf(dim, first.ndim);
  for (const t of ts) {
    if (t.dtype !== first.dtype) typeErr("cat dtype");
    if (t.ndim !== first.ndim || t.shape.some((s, i) => i !== d && s !== first.shape[i])) {
      rangeErr("cat shapes");
    }
  }
  const shape = [...first.shape];
  shape[d] = ts.reduce((p, t) => p + t.shape[d], 0);
  return make(shape, first.dtype, (idx) => {
    let k = idx[d];
    for (const t of ts) {
      if (k < t.shape[d]) return at(t, [...idx.slice(0, d), k, ...idx.slice(d + 1)]);
      k -= t.shape[d];
    }
    throw new Error("unreachable");
  });
}

export function stack(list: unknown, dim: unknown): Ref {
  if (!Array.isArray(list)) return typeErr("stack list kind");
  if (list.length === 0) rangeErr("stack empty");
  for (let i = 0; i < list.length; i++) if (!(list[i] instanceof Ref)) typeErr("stack item");
  const ts = list as Ref[];
  const d = dimOf(dim, ts[0].ndim + 1);
  for (const t of ts) {
    if (t.dtype !== ts[0].dtype) typeErr("stack dtype");
    if (t.ndim !== ts[0].ndim || t.shape.some((s, i) => s !== ts[0].shape[i])) {
      rangeErr("stack shapes");
    }
  }
  return cat(ts.map((t) => unsqueeze(t, d)), d);
}

/** What `assign` leaves in a target of `target`'s shape and dtype. */
export function assign(target: Ref, src: unknown, overlapping: boolean): Ref {
  const s = lift(src, target);
  const shape = broadcast(s.shape, target.shape);
  if (shape.length !== target.ndim || shape.some((v, i) => v !== target.shape[i])) {
    rangeErr("assign shape");
  }
  if (overlapping) rangeErr("assign into an expanded view");
  return broadcastTo(castTo(s, target.dtype), target.shape);
}
