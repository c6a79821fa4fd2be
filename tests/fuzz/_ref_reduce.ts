/**
 * Float64 references of the reductions (`sum`, `mean`, `max`, `argmax`)
 * and of `softmax` / `logSoftmax`.
 *
 * @module
 */
import {
  at,
  broadcastTo,
  dimOf,
  dimsOf,
  f32,
  forEachIndex,
  keepdimOf,
  make,
  numel,
  rangeErr,
  Ref,
  roundTo,
  stridesOf,
  typeErr,
} from "./_ref.ts";

function reduceWith(
  x: Ref,
  dims: number[],
  keepdim: boolean,
  init: number,
  step: (acc: number, v: number) => number,
): Ref {
  const kept = x.shape.map((s, d) => (dims.includes(d) ? 1 : s));
  const acc = new Float64Array(numel(kept)).fill(init);
  const ks = stridesOf(kept);
  forEachIndex(x.shape, (i, idx) => {
    let q = 0;
    idx.forEach((v, d) => (q += dims.includes(d) ? 0 : v * ks[d]));
    acc[q] = step(acc[q], x.data[i]);
  });
  const shape = keepdim ? kept : x.shape.filter((_, d) => !dims.includes(d));
  return new Ref(shape, acc, x.dtype);
}

export function sum(x: Ref, dim: unknown, opts: unknown): Ref {
  const dims = dimsOf(dim, x.ndim), keep = keepdimOf(opts);
  const r = reduceWith(x, dims, keep, 0, (a, v) => a + v);
  return new Ref(r.shape, r.data.map((v) => roundTo(x.dtype, v)), x.dtype);
}

export function mean(x: Ref, dim: unknown, opts: unknown): Ref {
  if (x.dtype !== "float32") typeErr("mean int32");
  const dims = dimsOf(dim, x.ndim), keep = keepdimOf(opts);
  const count = dims.reduce((p, d) => p * x.shape[d], 1);
  const r = reduceWith(x, dims, keep, 0, (a, v) => a + v);
  return new Ref(r.shape, r.data.map((v) => f32(v / count)), "float32");
}

export function max(x: Ref, dim: unknown, opts: unknown): Ref {
  const dims = dimsOf(dim, x.ndim), keep = keepdimOf(opts);
  if (x.size === 0 && (dim === undefined || dims.some((d) => x.shape[d] === 0))) {
    rangeErr("max of empty");
  }
  if (dims.some((d) => x.shape[d] === 0)) rangeErr("max over empty dim");
  return reduceWith(
    x,
    dims,
    keep,
    -Infinity,
    (a, v) => (v !== v || a !== a ? NaN : Math.max(a, v)),
  );
}

export function argmax(x: Ref, dim: unknown): Ref {
  const d = dimOf(dim, x.ndim);
  if (x.ndim === 0) return new Ref([], Float64Array.of(0), "int32");
  if (x.shape[d] === 0) rangeErr("argmax over empty dim");
  const outShape = x.shape.filter((_, i) => i !== d);
  return make(outShape, "int32", (idx) => {
    let best = -Infinity, bi = -1;
    for (let k = 0; k < x.shape[d]; k++) {
      const full = [...idx.slice(0, d), k, ...idx.slice(d)];
      const v = at(x, full);
      if (v !== v) return k; // the first NaN wins, as in PyTorch
      if (bi < 0 || v > best) [best, bi] = [v, k];
    }
    return bi;
  });
}

export function softmax(x: Ref, dim: unknown, log: boolean): Ref {
  if (x.dtype !== "float32") typeErr("softmax int32");
  const d = dimOf(dim, x.ndim);
  if (x.ndim === 0) {
    const r = softmax(new Ref([1], x.data, "float32"), 0, log);
    return new Ref([], r.data, "float32");
  }
  const m = reduceWith(
    x,
    [d],
    true,
    -Infinity,
    (a, v) => (a !== a || v !== v ? NaN : Math.max(a, v)),
  );
  const mb = broadcastTo(m, x.shape);
  const e = x.data.map((v, i) => Math.exp(v - mb.data[i]));
  const s = broadcastTo(
    reduceWith(new Ref(x.shape, e, "float32"), [d], true, 0, (a, v) => a + v),
    x.shape,
  );
  const out = x.data.map((v, i) => log ? v - mb.data[i] - Math.log(s.data[i]) : e[i] / s.data[i]);
  return new Ref(x.shape, out.map(f32), "float32");
}
