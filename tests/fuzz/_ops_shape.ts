/**
 * The fuzzed shape ops: the views (`reshape`, `transpose`, `permute`,
 * `unsqueeze`, `squeeze`, `expand`, `narrow`), `indexSelect`, the copies
 * (`detach`, `clone`, `contiguous`, `float`, `int`), the joins (`cat`,
 * `stack`) and `assign` into a possibly overlapping view.
 *
 * @module
 */
import { cat, stack, type Tensor } from "../../mod.ts";
import { type Arg, type Gen, T, type TSpec, V } from "./_gen.ts";
import { type OpSpec, rf, t0 } from "./_op_spec.ts";
import { castTo, type Ref } from "./_ref.ts";
import * as S from "./_ref_shape.ts";

/** A shape with the same element count as `s`, sometimes with a −1. */
function reshapeTarget(g: Gen, s: readonly number[]): unknown {
  const r = g.rng;
  if (r.chance(0.06)) return g.junk();
  if (r.chance(0.1)) return g.shape(); // usually a mismatch
  const out = r.shuffle([...s]);
  if (r.chance(0.3)) out.splice(r.int(0, out.length), 0, 1);
  if (r.chance(0.2) && out.length >= 2) {
    const i = r.int(0, out.length - 2);
    out.splice(i, 2, out[i] * out[i + 1]);
  }
  if (r.chance(0.3) && out.length > 0) out[r.int(0, out.length - 1)] = -1;
  if (r.chance(0.04)) out.push(r.pick([-1, 0.5, NaN, -2]));
  if (r.chance(0.03)) out.length += 1;
  return out;
}

function expandTarget(g: Gen, s: readonly number[]): unknown {
  const r = g.rng;
  if (r.chance(0.05)) return g.junk();
  const lead = r.chance(0.3) ? Array.from({ length: r.int(1, 2) }, () => r.int(0, 3)) : [];
  if (r.chance(0.05)) lead.push(-1);
  const rest = s.map((
    v,
  ) => (v === 1 ? r.int(0, 3) : r.chance(0.3) ? -1 : r.chance(0.06) ? v + 1 : v));
  const out = [...lead, ...rest];
  return r.chance(0.05) ? out.slice(1) : out;
}

export function viewOps(): OpSpec[] {
  return [
    {
      name: "reshape",
      grad: true,
      gen: (g) => {
        const s = g.shape();
        return [T(g.tensor(s, g.dtype())), V(reshapeTarget(g, s))];
      },
      run: (a) => t0(a).reshape(a[1] as number[]),
      ref: (a) => S.reshape(rf(a), a[1]),
      show: (a) => `${a[0]}.reshape(${a[1]})`,
    },
    {
      name: "transpose",
      grad: true,
      gen: (g) => {
        const s = g.shape();
        return [T(g.tensor(s, g.dtype())), V(g.dim(s.length)), V(g.dim(s.length))];
      },
      run: (a) => t0(a).transpose(a[1] as number, a[2] as number),
      ref: (a) => S.transpose(rf(a), a[1], a[2]),
      show: (a) => `${a[0]}.transpose(${a[1]}, ${a[2]})`,
    },
    {
      name: "permute",
      grad: true,
      gen: (g) => {
        const r = g.rng, s = g.shape();
        let dims: unknown[] = r.shuffle([...s.keys()]).map((
          d,
        ) => (r.chance(0.3) ? d - s.length : d));
        if (r.chance(0.08)) dims = dims.slice(1);
        if (r.chance(0.05)) dims.push(0);
        if (r.chance(0.05)) dims = [g.junk()];
        return [T(g.tensor(s, g.dtype())), V(r.chance(0.03) ? g.junk() : dims)];
      },
      run: (a) => t0(a).permute(a[1] as number[]),
      ref: (a) => S.permute(rf(a), a[1]),
      show: (a) => `${a[0]}.permute(${a[1]})`,
    },
    {
      name: "unsqueeze",
      grad: true,
      gen: (g) => {
        const s = g.shape(g.rng.int(0, 5));
        return [T(g.tensor(s, g.dtype())), V(g.dim(s.length + 1))];
      },
      run: (a) => t0(a).unsqueeze(a[1] as number),
      ref: (a) => S.unsqueeze(rf(a), a[1]),
      show: (a) => `${a[0]}.unsqueeze(${a[1]})`,
    },
    {
      name: "squeeze",
      grad: true,
      gen: (g) => {
        const s = g.shape().map((v) => (g.rng.chance(0.4) ? 1 : v));
        const x = T(g.tensor(s, g.dtype()));
        return g.rng.chance(0.3) ? [x] : [x, V(g.dim(s.length))];
      },
      run: (a) => (a.length > 1 ? t0(a).squeeze(a[1] as number) : t0(a).squeeze()),
      ref: (a) => S.squeeze(rf(a), a[1]),
      show: (a) => `${a[0]}.squeeze(${a.slice(1).join(", ")})`,
    },
    {
      name: "expand",
      grad: true,
      gen: (g) => {
        const s = g.shape(g.rng.int(0, 4)).map((v) => (g.rng.chance(0.5) ? 1 : v));
        return [T(g.tensor(s, g.dtype())), V(expandTarget(g, s))];
      },
      run: (a) => t0(a).expand(a[1] as number[]),
      ref: (a) => S.expand(rf(a), a[1]),
      show: (a) => `${a[0]}.expand(${a[1]})`,
    },
    {
      name: "narrow",
      grad: true,
      gen: (g) => {
        const r = g.rng, s = g.shape(r.int(0, 4));
        const dim = g.dim(s.length);
        const n = typeof dim === "number" && Number.isInteger(dim) ? s.at(dim) ?? 1 : 2;
        const start = r.chance(0.05) ? g.junk() : r.int(-n - 1, n);
        const length = r.chance(0.05) ? r.pick([-1, 0.5, "1"]) : r.int(0, n + 1);
        return [T(g.tensor(s, g.dtype())), V(dim), V(start), V(length)];
      },
      run: (a) => t0(a).narrow(a[1] as number, a[2] as number, a[3] as number),
      ref: (a) => S.narrow(rf(a), a[1], a[2], a[3]),
      show: (a) => `${a[0]}.narrow(${a.slice(1).join(", ")})`,
    },
    {
      name: "indexSelect",
      grad: true,
      gen: (g) => {
        const r = g.rng, s = g.shape(r.int(1, 4));
        const dim = g.dim(s.length, 0.04);
        const n = typeof dim === "number" && Number.isInteger(dim) ? s.at(dim) ?? 1 : 1;
        const len = r.int(0, 4);
        const idx: TSpec = {
          shape: [len],
          dtype: "int32",
          base: [len],
          values: Array.from(
            { length: len },
            () => (r.chance(0.05) ? r.pick([n, -1]) : r.int(0, Math.max(n - 1, 0))),
          ),
          view: null,
        };
        if (r.chance(0.05)) idx.dtype = "float32";
        return [T(g.tensor(s, g.dtype())), V(dim), r.chance(0.04) ? V(g.junk()) : T(idx)];
      },
      run: (a) => t0(a).indexSelect(a[1] as number, a[2] as Tensor),
      ref: (a) => S.indexSelect(rf(a), a[1], a[2]),
      show: (a) => `${a[0]}.indexSelect(${a[1]}, ${a[2]})`,
    },
  ];
}

export function copyOps(): OpSpec[] {
  const same = (x: Ref) => x;
  const mk = (
    name: string,
    run: (t: Tensor) => Tensor,
    ref: (x: Ref) => Ref,
    grad: boolean,
  ): OpSpec => ({
    name,
    grad,
    gen: (g) => [T(g.tensor(g.shape(), g.dtype(0.3)))],
    run: (a) => run(t0(a)),
    ref: (a) => ref(rf(a)),
    show: (a) => `${a[0]}.${name}()`,
  });
  return [
    mk("detach", (t) => t.detach(), same, false),
    mk("clone", (t) => t.clone(), same, true),
    mk("contiguous", (t) => t.contiguous(), same, true),
    mk("float", (t) => t.float(), (x) => castTo(x, "float32"), true),
    mk("int", (t) => t.int(), (x) => castTo(x, "int32"), false),
  ];
}

function listArg(g: Gen, forStack: boolean): { list: Arg; nd: number } {
  const r = g.rng;
  const s = g.shape(r.chance(0.08) ? 0 : r.int(forStack ? 0 : 1, 4));
  const d = s.length > 0 ? r.int(0, s.length - 1) : 0;
  const dt = g.dtype();
  const items: Arg[] = Array.from({ length: r.int(1, 3) }, () => {
    const sh = [...s];
    if (!forStack && sh.length > 0) sh[d] = r.int(0, 3);
    if (r.chance(0.05) && sh.length > 0) sh[r.int(0, sh.length - 1)] += 1;
    if (r.chance(0.04)) return V(g.junk());
    return T(g.tensor(sh, r.chance(0.05) ? g.dtype(0.5) : dt));
  });
  if (r.chance(0.03)) return { list: V(r.chance(0.5) ? [] : g.junk()), nd: s.length };
  return { list: { k: "list", items }, nd: s.length };
}

/** `cat` and `stack`. */
export function joinOps(): OpSpec[] {
  return [
    {
      name: "cat",
      grad: true,
      gen: (g) => {
        const { list, nd } = listArg(g, false);
        return [list, V(g.dim(nd))];
      },
      run: (a) => cat(a[0] as Tensor[], a[1] as number),
      ref: (a) => S.cat(a[0], a[1]),
      show: (a) => `cat(${a[0]}, ${a[1]})`,
    },
    {
      name: "stack",
      grad: true,
      gen: (g) => {
        const { list, nd } = listArg(g, true);
        return [list, V(g.dim(nd + 1))];
      },
      run: (a) => stack(a[0] as Tensor[], a[1] as number),
      ref: (a) => S.stack(a[0], a[1]),
      show: (a) => `stack(${a[0]}, ${a[1]})`,
    },
  ];
}

export function assignOp(): OpSpec {
  return {
    name: "assign",
    gen: (g) => {
      const r = g.rng, s = g.shape();
      const dst = g.tensor(s, g.dtype(), 0.3);
      const src = r.chance(0.7)
        ? T(g.tensor(g.partner(s, r.chance(0.1)), g.dtype()))
        : V(r.chance(0.9) ? g.value("float32") : g.junk());
      return [T(dst), src];
    },
    // The target is the call's output, not an input that must stay unchanged.
    run: (a) => t0(a).assign(a[1] as Tensor),
    ref: (a) => S.assign(rf(a), a[1], rf(a).overlapping),
    show: (a) => `${a[0]}.assign(${a[1]})`,
  };
}
