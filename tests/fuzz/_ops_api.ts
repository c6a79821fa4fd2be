/**
 * The fuzzed API surface around the ops: reading a tensor back (`item`,
 * `toArray`, `data`, `dataSync`, `to`) and autograd itself
 * (`requiresGrad`, `backward` with and without a gradient, `noGrad`).
 *
 * @module
 */
import { noGrad, type Tensor } from "../../mod.ts";
import { type Arg, type Gen, T, V } from "./_gen.ts";
import { type OpSpec, rf, t0 } from "./_op_spec.ts";
import { Invalid, numel, Ref } from "./_ref.ts";
import { binary } from "./_ref_math.ts";

export function readOps(): OpSpec[] {
  const gen = (g: Gen) => [T(g.tensor(g.shape(g.rng.int(0, 3)), g.dtype(0.3)))];
  return [
    {
      name: "item",
      gen: (
        g,
      ) => [
        T(g.tensor(g.shape(g.rng.int(0, 2)).map((v) => (g.rng.chance(0.7) ? 1 : v)), g.dtype(0.3))),
      ],
      run: (a) => t0(a).item(),
      ref: (a) => {
        if (rf(a).size !== 1) throw new Invalid("RangeError", "item of many");
        return rf(a).data[0];
      },
      show: (a) => `await ${a[0]}.item()`,
    },
    {
      name: "toArray",
      gen,
      run: (a) => t0(a).toArray(),
      ref: (a) => nestRef(rf(a)),
      show: (a) => `await ${a[0]}.toArray()`,
    },
    {
      name: "data",
      gen,
      run: (a) => t0(a).data(),
      ref: (a) => [...rf(a).data],
      show: (a) => `await ${a[0]}.data()`,
    },
    {
      name: "dataSync",
      gen,
      run: (a) => t0(a).dataSync(),
      ref: (a, ctx) => {
        if (ctx.backend.startsWith("webgpu")) {
          throw new Invalid("Error" as "TypeError", "dataSync on webgpu");
        }
        return [...rf(a).data];
      },
      show: (a) => `${a[0]}.dataSync()`,
    },
    {
      name: "to",
      gen,
      run: async (a) => {
        const c = await t0(a).to("cpu");
        try {
          return { shape: c.shape, dtype: c.dtype, data: [...c.dataSync()] };
        } finally {
          c.dispose();
        }
      },
      ref: (a) => ({ shape: rf(a).shape, dtype: rf(a).dtype, data: [...rf(a).data] }),
      show: (a) => `await ${a[0]}.to("cpu")`,
    },
  ];
}

function nestRef(r: Ref): unknown {
  if (r.ndim === 0) return r.data[0];
  let i = 0;
  const build = (d: number): unknown[] =>
    Array.from({ length: r.shape[d] }, () => (d === r.ndim - 1 ? r.data[i++] : build(d + 1)));
  return build(0);
}

export function autogradOps(): OpSpec[] {
  return [
    {
      name: "requiresGrad",
      gen: (
        g,
      ) => [
        T(g.tensor(g.shape(), g.dtype(0.3))),
        V(g.rng.chance(0.1) ? g.junk() : g.rng.chance(0.5)),
      ],
      run: (a) => {
        const t = t0(a);
        t.requiresGrad = a[1] as boolean;
        return t.requiresGrad;
      },
      ref: (a) => {
        if (typeof a[1] !== "boolean") throw new Invalid("TypeError", "requiresGrad kind");
        if (a[1] && rf(a).dtype !== "float32") throw new Invalid("TypeError", "requiresGrad int32");
        return a[1];
      },
      show: (a) => `(${a[0]}.requiresGrad = ${a[1]})`,
    },
    {
      name: "backward",
      names: ["backward"],
      gen: (g) => {
        const r = g.rng, s = g.shape(r.int(0, 3));
        const x = g.tensor(s, "float32", 0.2);
        x.requiresGrad = true;
        const gs = r.chance(0.85) ? s : g.shape();
        const gout: Arg = r.chance(0.05)
          ? V(g.junk())
          : r.chance(0.2) && numel(s) === 1
          ? V(undefined)
          : T(g.tensor(gs, r.chance(0.05) ? "int32" : "float32"));
        return [T(x), V(r.int(-3, 3)), gout];
      },
      // y = x·c; y.backward(g) leaves c·g in the leaf's grad.
      run: (a) => {
        const y = t0(a).mul(a[1] as number);
        try {
          y.backward(a[2] as Tensor);
          return y.requiresGrad;
        } finally {
          y.dispose();
        }
      },
      ref: (a) => {
        const x = rf(a), g = a[2];
        if (g === undefined) {
          if (x.size !== 1) throw new Invalid("RangeError", "non-scalar");
          return true;
        }
        if (!(g instanceof Ref)) throw new Invalid("TypeError", "gradOutput kind");
        if (g.dtype !== "float32") throw new Invalid("TypeError", "gradOutput int32");
        if (g.ndim !== x.ndim || g.shape.some((v, i) => v !== x.shape[i])) {
          throw new Invalid("RangeError", "gradOutput shape");
        }
        return true;
      },
      show: (a) => `${a[0]}.mul(${a[1]}).backward(${a[2]})`,
    },
    {
      name: "noGrad",
      gen: (g) => [T(g.tensor(g.shape(), "float32")), V(g.rng.chance(0.85) ? "fn" : g.junk())],
      run: (a) => {
        const x = t0(a);
        x.requiresGrad = true;
        const fn = a[1] === "fn" ? () => x.mul(2) : a[1];
        return noGrad(fn as () => Tensor);
      },
      ref: (a) => {
        if (typeof a[1] === "function") return a[1]();
        if (a[1] !== "fn") throw new Invalid("TypeError", "noGrad fn");
        return binary("mul", rf(a), 2);
      },
      show: (a) => `noGrad(${a[1] === '"fn"' ? `() => ${a[0]}.mul(2)` : a[1]})`,
    },
  ];
}
