/**
 * The fuzzed factories: `zeros`, `ones`, `full`, `randn` / `rand` (after
 * `manualSeed`, against the host generator's stream), `arange` and
 * `tensor` from nested arrays or typed arrays, with wrong shapes, options
 * and values among the valid ones.
 *
 * @module
 */
import {
  arange,
  full,
  manualSeed,
  ones,
  rand,
  randn,
  type Tensor,
  tensor,
  zeros,
} from "../../mod.ts";
import { normalArray, uniformArray } from "../../tensor/random.ts";
import { type Gen, V } from "./_gen.ts";
import type { OpSpec } from "./_op_spec.ts";
import * as R from "./_ref.ts";
import { Invalid, Ref } from "./_ref.ts";

function intData(dtype: unknown, v: number): void {
  if (
    dtype === "int32" &&
    (!Number.isFinite(v) || Math.trunc(v) < -2147483648 || Math.trunc(v) > 2147483647)
  ) {
    throw new Invalid("RangeError", "int32 value out of range");
  }
}

export function factoryOps(): OpSpec[] {
  const dtypeOf = (opts: unknown): R.RDType => {
    if (opts === undefined) return "float32";
    if (opts === null || typeof opts !== "object" || Array.isArray(opts)) {
      throw new Invalid("TypeError", "options kind");
    }
    const o = opts as { dtype?: unknown; requiresGrad?: unknown };
    if (o.dtype !== undefined && o.dtype !== "float32" && o.dtype !== "int32") {
      throw new Invalid("TypeError", "dtype");
    }
    if (o.requiresGrad !== undefined && typeof o.requiresGrad !== "boolean") {
      throw new Invalid("TypeError", "requiresGrad kind");
    }
    const dt = (o.dtype ?? "float32") as R.RDType;
    if (o.requiresGrad && dt !== "float32") throw new Invalid("TypeError", "requiresGrad int32");
    return dt;
  };
  const shapeGen = (g: Gen): unknown => {
    const r = g.rng;
    if (r.chance(0.06)) return g.junk();
    const s: unknown[] = g.shape();
    if (r.chance(0.06)) s.push(r.pick([-1, 2.5, NaN, Infinity, "2", 2 ** 60]));
    if (r.chance(0.03)) s.length += 1;
    return s;
  };
  const optsGen = (g: Gen, dt = true): unknown => {
    const r = g.rng;
    if (r.chance(0.4)) return undefined;
    if (r.chance(0.04)) return g.junk();
    const o: Record<string, unknown> = {};
    if (dt && r.chance(0.5)) o.dtype = r.chance(0.05) ? "float64" : g.dtype(0.4);
    if (r.chance(0.3)) o.requiresGrad = r.chance(0.05) ? 1 : r.chance(0.5);
    return o;
  };
  const filled = (name: string, value: (a: unknown[]) => number): OpSpec => ({
    name,
    gen: (g) => {
      const args = [V(shapeGen(g))];
      if (name === "full") args.push(V(g.rng.chance(0.05) ? g.junk() : g.value(g.dtype(0.3))));
      args.push(V(optsGen(g)));
      return args;
    },
    run: (a) =>
      name === "full"
        ? full(a[0] as number[], a[1] as number, a[2] as never)
        : (name === "zeros" ? zeros : ones)(a[0] as number[], a[1] as never),
    ref: (a) => {
      const shape = R.shapeOf(a[0]);
      if (name === "full" && typeof a[1] !== "number") throw new Invalid("TypeError", "fill value");
      const dt = dtypeOf(a[name === "full" ? 2 : 1]);
      const v = value(a);
      intData(dt, v);
      return R.make(shape, dt, () => (dt === "int32" ? Math.trunc(v) : Math.fround(v)));
    },
    show: (a) => `${name}(${a.join(", ")})`,
  });
  const random = (name: "randn" | "rand"): OpSpec => ({
    name,
    gen: (g) => [V(shapeGen(g)), V(optsGen(g)), V(g.rng.int(0, 1000))],
    run: (a) => {
      manualSeed(a[2] as number);
      return (name === "randn" ? randn : rand)(a[0] as number[], a[1] as never);
    },
    // The values come from the host generator (same seed → same numbers on
    // every backend): the reference draws the same stream directly.
    ref: (a) => {
      const shape = R.shapeOf(a[0]);
      if (dtypeOf(a[1]) !== "float32") throw new Invalid("TypeError", "random int32");
      manualSeed(a[2] as number);
      const d = Float64Array.from((name === "randn" ? normalArray : uniformArray)(R.numel(shape)));
      for (const v of d) {
        if (!Number.isFinite(v) || (name === "rand" && (v < 0 || v >= 1))) {
          throw new Error(`${name} produced ${v}`);
        }
      }
      return new Ref(shape, d, "float32");
    },
    show: (a) => `(manualSeed(${a[2]}), ${name}(${a[0]}, ${a[1]}))`,
  });
  return [
    filled("zeros", () => 0),
    filled("ones", () => 1),
    filled("full", (a) => a[1] as number),
    random("randn"),
    random("rand"),
    {
      name: "arange",
      gen: (g) => {
        const r = g.rng;
        const num =
          () => (r.chance(0.05)
            ? g.junk()
            : r.chance(0.6)
            ? r.int(-5, 8)
            : Math.fround(r.next() * 10 - 5));
        const args = [V(num())];
        if (r.chance(0.7)) args.push(V(num()));
        if (args.length === 2 && r.chance(0.6)) {
          args.push(
            V(r.chance(0.1) ? r.pick([0, NaN, Infinity]) : r.pick([1, 2, -1, 0.5, -0.75, 3])),
          );
        }
        if (args.length === 3 && r.chance(0.3)) args.push(V({ dtype: g.dtype(0.5) }));
        return args;
      },
      run: (a) => (arange as (...x: unknown[]) => Tensor)(...a),
      ref: (a) => {
        for (const v of a.slice(0, 3)) {
          if (v !== undefined && typeof v !== "number") {
            throw new Invalid("TypeError", "arange arg");
          }
        }
        let [start, end, step] = a as [number, number | undefined, number | undefined];
        if (end === undefined) [start, end] = [0, start];
        step ??= 1;
        if (![start, end, step].every(Number.isFinite)) {
          throw new Invalid("RangeError", "non-finite");
        }
        if (step === 0) throw new Invalid("RangeError", "zero step");
        if ((end - start) * step < 0) throw new Invalid("RangeError", "step sign");
        const dt = dtypeOf(a[3]);
        const n = Math.ceil((end - start) / step);
        return R.make(
          [n],
          dt,
          (
            [i],
          ) => (dt === "int32" ? Math.trunc(start + i * step!) : Math.fround(start + i * step!)),
        );
      },
      show: (a) => `arange(${a.join(", ")})`,
    },
    {
      name: "tensor",
      gen: (g) => {
        const r = g.rng, s = g.shape(r.int(0, 3)), dt = g.dtype(0.3);
        const vals = Array.from({ length: s.reduce((p, v) => p * v, 1) }, () => g.value(dt));
        if (dt === "int32" && r.chance(0.1) && vals.length > 0) vals[0] = r.pick([2.5, 3e9, NaN]);
        const kind = r.next();
        if (kind < 0.2) {
          const typed = dt === "int32" ? Int32Array.from(vals) : Float32Array.from(vals);
          const opts: Record<string, unknown> = { shape: r.chance(0.8) ? s : g.shape() };
          if (r.chance(0.3)) opts.dtype = g.dtype(0.5);
          return [V(typed), V(opts)];
        }
        const nest = (d: number, at: { i: number }): unknown =>
          d === s.length ? vals[at.i++] : Array.from({ length: s[d] }, () => nest(d + 1, at));
        let data: unknown = nest(0, { i: 0 });
        if (r.chance(0.06) && Array.isArray(data) && data.length > 1) (data as unknown[]).pop();
        if (r.chance(0.05)) data = r.chance(0.5) ? [data, 1] : g.junk();
        if (r.chance(0.04) && Array.isArray(data)) (data as unknown[]).push("x");
        const opts = r.chance(0.5)
          ? undefined
          : { dtype: dt, ...(r.chance(0.2) ? { requiresGrad: r.chance(0.5) } : {}) };
        return opts ? [V(data), V(opts)] : [V(data)];
      },
      run: (a) => tensor(a[0] as number[], a[1] as never),
      ref: (a) => refTensor(a[0], a[1], dtypeOf),
      show: (a) => `tensor(${a.join(", ")})`,
    },
  ];
}

function refTensor(data: unknown, opts: unknown, dtypeOf: (o: unknown) => R.RDType): Ref {
  // Checked in order: the data, the options, the shape, the values.
  let values: number[], shape: number[];
  if (data instanceof Float32Array || data instanceof Int32Array) {
    values = [...data];
    shape = [data.length];
  } else if (typeof data === "number") {
    values = [data];
    shape = [];
  } else if (Array.isArray(data)) {
    shape = [];
    let probe: unknown = data;
    while (Array.isArray(probe)) {
      shape.push(probe.length);
      probe = probe[0];
    }
    values = [];
    const walk = (v: unknown, d: number): void => {
      if (typeof v !== "number" && !Array.isArray(v)) {
        throw new Invalid("TypeError", "element kind");
      }
      if (d === shape.length) {
        if (typeof v !== "number") throw new Invalid("RangeError", "ragged");
        values.push(v);
        return;
      }
      if (!Array.isArray(v) || v.length !== shape[d]) throw new Invalid("RangeError", "ragged");
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) throw new Invalid("TypeError", "hole");
        walk(v[i], d + 1);
      }
    };
    walk(data, 0);
  } else throw new Invalid("TypeError", "data kind");
  const int32Default = data instanceof Int32Array && opts !== null && typeof opts === "object" &&
    (opts as { dtype?: unknown }).dtype === undefined;
  const dt = opts === undefined && data instanceof Int32Array
    ? "int32"
    : dtypeOf(int32Default ? { ...(opts as object), dtype: "int32" } : opts);
  const o = opts as { shape?: unknown } | undefined;
  if (o?.shape !== undefined) shape = R.shapeOf(o.shape);
  if (R.numel(shape) !== values.length) throw new Invalid("RangeError", "size mismatch");
  if (!(data instanceof Int32Array)) { for (const v of values) intData(dt, v); }
  return new Ref(
    shape,
    Float64Array.from(values, (v) => (dt === "int32" ? Math.trunc(v) | 0 : Math.fround(v))),
    dt,
  );
}
