/**
 * The fuzzed transformer ops of `nn` (functional forms): `rmsNorm`,
 * `silu`, `geluTanh`, `applyRotaryEmbedding`, `scaledDotProductAttention`
 * and `crossEntropy`, with valid and invalid arguments.
 *
 * @module
 */
import { nn, type Tensor } from "../../mod.ts";
import { type Arg, type Gen, T, type TSpec, V } from "./_gen.ts";
import type { OpSpec } from "./_ops.ts";
import type { Ref } from "./_ref.ts";
import * as N from "./_ref_nn.ts";

const t0 = (a: unknown[]) => a[0] as Tensor;
const rf = (a: unknown[]) => a[0] as Ref;

function unaryNn(name: "silu" | "geluTanh", f: (t: Tensor) => Tensor, r: (x: Ref) => Ref): OpSpec {
  return {
    name,
    grad: true,
    gen: (g) => [T(g.tensor(g.shape(), g.dtype(0.1)))],
    run: (a) => f(t0(a)),
    ref: (a) => r(rf(a)),
    show: (a) => `nn.${name}(${a[0]})`,
  };
}

function attentionArgs(g: Gen): Arg[] {
  const r = g.rng;
  const lead = g.shape(r.int(0, 1)).map((v) => Math.max(v, 1));
  const Hkv = r.int(1, 2), grp = r.int(1, 3), Tq = r.int(1, 4), S = r.int(0, 4), D = r.int(1, 4);
  const H = Hkv * grp + (r.chance(0.06) ? 1 : 0);
  const Dk = r.chance(0.05) ? D + 1 : D;
  const q = g.tensor([...lead, H, Tq, D], r.chance(0.04) ? "int32" : "float32");
  const k = g.tensor([...lead, Hkv, S, Dk]);
  const v = g.tensor([...lead, r.chance(0.04) ? Hkv + 1 : Hkv, S, r.int(1, 3)]);
  const opts: Record<string, unknown> = {};
  if (r.chance(0.5)) opts.isCausal = true;
  if (opts.isCausal && r.chance(0.5)) opts.causalOffset = Math.max(0, S - Tq);
  if (r.chance(0.3)) opts.scale = r.pick([0.5, 1, 2]);
  // Finite inputs only: with ∞ or NaN in q, k or v the result depends on the
  // summation order (∞ − ∞), in PyTorch as here. Masks keep their −∞.
  for (const s of [q, k, v]) {
    s.values = s.values.map((x) => (Number.isFinite(x) && Math.abs(x) < 1e6 ? x : 0));
  }
  const args: Arg[] = [T(q), T(k), T(v)];
  if (r.chance(0.35)) {
    const int = r.chance(0.4);
    const m: TSpec = g.tensor(
      r.chance(0.5) ? [Tq, S] : [...lead, 1, Tq, S],
      int ? "int32" : "float32",
      0,
    );
    m.values = m.values.map((x) =>
      int ? (r.chance(0.25) ? 0 : 1) : r.chance(0.25) ? (r.chance(0.5) ? -Infinity : -1e4) : x
    );
    m.constant = true;
    args.push(T(m));
  }
  args.push(V(opts));
  return args;
}

/** The transformer ops. */
export function nnOps(): OpSpec[] {
  return [
    unaryNn("silu", nn.silu, N.silu),
    unaryNn("geluTanh", nn.geluTanh, N.geluTanh),
    {
      name: "rmsNorm",
      grad: true,
      gen: (g) => {
        const r = g.rng, s = g.shape(r.int(1, 3));
        const k = r.int(1, s.length);
        const norm = s.slice(s.length - k);
        const bad = r.chance(0.06) ? [...norm.slice(0, -1), norm[norm.length - 1] + 1] : norm;
        const w = r.chance(0.6) ? T(g.tensor(bad, "float32", 0)) : V(null);
        return [
          T(g.tensor(s, g.dtype(0.05))),
          V(bad),
          w,
          V(r.chance(0.05) ? -1 : r.pick([1e-6, 1e-3, 0.1])),
        ];
      },
      run: (a) => nn.rmsNorm(t0(a), a[1] as number[], a[2] as Tensor | null, a[3] as number),
      ref: (a) => N.rmsNorm(rf(a), a[1], a[2], a[3]),
      show: (a) => `nn.rmsNorm(${a.join(", ")})`,
      names: ["rmsNorm"],
    },
    {
      name: "rotary",
      grad: true,
      gen: (g) => {
        const r = g.rng;
        const Tn = r.int(1, 4), D = 2 * r.int(1, 3);
        const x = g.tensor(
          [...g.shape(r.int(0, 2)), Tn, r.chance(0.05) ? D + 1 : D],
          g.dtype(0.04),
        );
        const cs = () => T(g.tensor(r.chance(0.05) ? [Tn + 1, D] : [Tn, D]));
        return [T(x), cs(), cs()];
      },
      run: (a) => nn.applyRotaryEmbedding(t0(a), a[1] as Tensor, a[2] as Tensor),
      ref: (a) => N.rotary(rf(a), a[1], a[2]),
      show: (a) => `nn.applyRotaryEmbedding(${a.join(", ")})`,
      names: ["applyRotaryEmbedding"],
    },
    {
      name: "crossEntropy",
      grad: true,
      gen: (g) => {
        const r = g.rng;
        const lead = g.shape(r.int(0, 2)), C = r.int(1, 5);
        const logits = g.tensor([...lead, C], g.dtype(0.04));
        const targets = g.tensor(
          r.chance(0.05) ? [...lead, 2] : lead,
          r.chance(0.04) ? "float32" : "int32",
        );
        targets.values = targets.values.map(() =>
          r.chance(0.03) ? r.pick([-1, C, 2147483647]) : r.int(0, C - 1)
        );
        targets.constant = true;
        const reduction = r.pick([undefined, "mean", "sum", "none"]) ??
          (r.chance(0.1) ? "avg" : undefined);
        return [T(logits), T(targets), V(reduction === undefined ? {} : { reduction })];
      },
      run: (a) =>
        nn.crossEntropy(t0(a), a[1] as Tensor, a[2] as { reduction?: "mean" | "sum" | "none" }),
      ref: (a) => N.crossEntropy(a[0], a[1], a[2]),
      show: (a) => `nn.crossEntropy(${a.join(", ")})`,
      names: ["crossEntropy"],
    },
    {
      name: "attention",
      grad: true,
      atol: 1e-4,
      gen: attentionArgs,
      run: (a) => {
        const opts = { ...(a[a.length - 1] as object) } as nn.AttentionOptions;
        if (a.length === 5) opts.mask = a[3] as Tensor;
        return nn.scaledDotProductAttention(t0(a), a[1] as Tensor, a[2] as Tensor, opts);
      },
      ref: (a) => {
        const opts = { ...(a[a.length - 1] as object) } as N.AttnOpts;
        if (a.length === 5) opts.mask = a[3] as Ref;
        return N.attention(a[0], a[1], a[2], opts);
      },
      show: (a) =>
        a.length === 5
          ? `nn.scaledDotProductAttention(${a[0]}, ${a[1]}, ${a[2]}, { ...${a[4]}, mask: ${a[3]} })`
          : `nn.scaledDotProductAttention(${a.join(", ")})`,
      names: ["scaledDotProductAttention"],
    },
  ];
}
