/**
 * The fuzzed surface: every function and method of the API's Tensors,
 * Autograd and Memory sections (plus the documented extras: narrow,
 * indexSelect, clone, contiguous, float, int, assign), the transformer ops of
 * `nn` (`_ops_nn.ts`) and `linalg.svd` / `linalg.qr` (`_ops_linalg.ts`). Each entry generates
 * arguments (mostly valid, sometimes not), calls the library, computes the
 * reference, and prints itself as code for a reproduction.
 *
 * @module
 */
import {
  arange,
  cat,
  full,
  manualSeed,
  noGrad,
  ones,
  rand,
  randn,
  stack,
  type Tensor,
  tensor,
  where,
  zeros,
} from "../../mod.ts";
import { normalArray, uniformArray } from "../../tensor/random.ts";
import { nnOps } from "./_ops_nn.ts";
import { linalgOps } from "./_ops_linalg.ts";
import { type Arg, type Case, type Gen, T, type TSpec, V } from "./_gen.ts";
import * as R from "./_ref.ts";
import { Invalid, Ref } from "./_ref.ts";

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

const t0 = (a: unknown[]) => a[0] as Tensor;
const rf = (a: unknown[]) => a[0] as Ref;
const away = (eps: number) => (args: Ref[]) =>
  args.every((r) => r.data.every((v) => Math.abs(v) > eps));
const distinct = (args: Ref[]) => args.every((r) => new Set(r.data).size === r.data.length);

function optsArg(g: Gen): unknown {
  const r = g.rng;
  if (r.chance(0.5)) return undefined;
  if (r.chance(0.06)) return g.junk();
  if (r.chance(0.06)) return { keepdim: r.pick(["yes", 1, null]) };
  return { keepdim: r.chance(0.5) };
}

function dimsArg(g: Gen, nd: number): unknown {
  const r = g.rng;
  if (r.chance(0.3)) return undefined;
  if (r.chance(0.5)) return g.dim(nd);
  const n = Math.max(nd, 1);
  const list: unknown[] = r.shuffle([...Array(n).keys()]).slice(0, r.int(0, n)).map((d) =>
    r.chance(0.4) ? d - n : d
  );
  if (r.chance(0.08) && list.length > 0) list.push(list[0]);
  if (r.chance(0.05)) list.push(g.junk());
  if (r.chance(0.03)) list.length += 1; // a hole
  return list;
}

function binaryOp(name: string, grad: boolean): OpSpec {
  return {
    name,
    grad,
    gen(g) {
      const r = g.rng, s = g.shape(), dt = g.dtype();
      const x = T(g.tensor(s, dt));
      const pick = r.next();
      if (pick < 0.6) {
        return [x, T(g.tensor(g.partner(s, r.chance(0.08)), r.chance(0.8) ? dt : g.dtype(0.5)))];
      }
      if (pick < 0.93) return [x, V(r.chance(0.5) ? r.int(-3, 3) : g.value("float32"))];
      return [x, V(g.junk())];
    },
    run: (a) => (t0(a) as unknown as Record<string, (y: unknown) => Tensor>)[name](a[1]),
    ref: (a) => R.binary(name, rf(a), a[1]),
    show: (a) => `${a[0]}.${name}(${a[1]})`,
    gradOk: name === "pow"
      ? (args) =>
        args[0].data.every((v) => v > 0.2) && (args[1]?.data.every((v) => Math.abs(v) < 3) ?? true)
      : name === "div"
      ? (args) => args.length < 2 || args[1].data.every((v) => Math.abs(v) > 0.2)
      : undefined,
  };
}

function unaryOp(name: string): OpSpec {
  return {
    name,
    grad: true,
    gen: (g) => [T(g.tensor(g.shape(), g.dtype(0.15)))],
    run: (a) => (t0(a) as unknown as Record<string, () => Tensor>)[name](),
    ref: (a) => R.unary(name, rf(a)),
    show: (a) => `${a[0]}.${name}()`,
    gradOk: name === "abs" || name === "relu"
      ? away(0.05)
      : name === "log" || name === "sqrt"
      ? (args) => args[0].data.every((v) => v > 0.2)
      : undefined,
  };
}

function reduceOp(name: "sum" | "mean" | "max"): OpSpec {
  return {
    name,
    grad: true,
    atol: 1e-4,
    gen(g) {
      const s = g.shape(), x = T(g.tensor(s, g.dtype(name === "mean" ? 0.1 : 0.2)));
      const dims = dimsArg(g, s.length), opts = optsArg(g);
      return opts === undefined && g.rng.chance(0.5) ? [x, V(dims)] : [x, V(dims), V(opts)];
    },
    run: (a) =>
      (t0(a) as unknown as Record<string, (d: unknown, o: unknown) => Tensor>)[name](a[1], a[2]),
    ref: (a) => R[name](rf(a), a[1], a[2]),
    show: (a) => `${a[0]}.${name}(${a.slice(1).join(", ")})`,
    gradOk: name === "max" ? distinct : undefined,
  };
}

function softmaxOp(name: "softmax" | "logSoftmax"): OpSpec {
  return {
    name,
    grad: true,
    gen: (g) => {
      const s = g.shape();
      return [T(g.tensor(s, g.dtype(0.1))), V(g.dim(s.length))];
    },
    run: (
      a,
    ) => (name === "softmax" ? t0(a).softmax(a[1] as number) : t0(a).logSoftmax(a[1] as number)),
    ref: (a) => R.softmax(rf(a), a[1], name === "logSoftmax"),
    show: (a) => `${a[0]}.${name}(${a[1]})`,
  };
}

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

function viewOps(): OpSpec[] {
  return [
    {
      name: "reshape",
      grad: true,
      gen: (g) => {
        const s = g.shape();
        return [T(g.tensor(s, g.dtype())), V(reshapeTarget(g, s))];
      },
      run: (a) => t0(a).reshape(a[1] as number[]),
      ref: (a) => R.reshape(rf(a), a[1]),
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
      ref: (a) => R.transpose(rf(a), a[1], a[2]),
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
      ref: (a) => R.permute(rf(a), a[1]),
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
      ref: (a) => R.unsqueeze(rf(a), a[1]),
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
      ref: (a) => R.squeeze(rf(a), a[1]),
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
      ref: (a) => R.expand(rf(a), a[1]),
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
      ref: (a) => R.narrow(rf(a), a[1], a[2], a[3]),
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
      ref: (a) => R.indexSelect(rf(a), a[1], a[2]),
      show: (a) => `${a[0]}.indexSelect(${a[1]}, ${a[2]})`,
    },
  ];
}

function copyOps(): OpSpec[] {
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
    mk("float", (t) => t.float(), (x) => R.castTo(x, "float32"), true),
    mk("int", (t) => t.int(), (x) => R.castTo(x, "int32"), false),
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

function joinOps(): OpSpec[] {
  return [
    {
      name: "cat",
      grad: true,
      gen: (g) => {
        const { list, nd } = listArg(g, false);
        return [list, V(g.dim(nd))];
      },
      run: (a) => cat(a[0] as Tensor[], a[1] as number),
      ref: (a) => R.cat(a[0], a[1]),
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
      ref: (a) => R.stack(a[0], a[1]),
      show: (a) => `stack(${a[0]}, ${a[1]})`,
    },
    {
      name: "where",
      grad: true,
      gen: (g) => {
        const r = g.rng, s = g.shape();
        const cond = g.tensor(g.partner(s), g.dtype(0.3));
        cond.values = cond.values.map((v) => (r.chance(0.5) ? 0 : v === 0 ? 1 : v));
        const side = (): Arg =>
          r.chance(0.65)
            ? T(g.tensor(g.partner(s, r.chance(0.05)), g.dtype(0.2)))
            : r.chance(0.9)
            ? V(r.chance(0.5) ? r.int(-2, 2) : g.value("float32"))
            : V(g.junk());
        return [r.chance(0.03) ? V(g.junk()) : T(cond), side(), side()];
      },
      run: (a) => where(a[0] as Tensor, a[1] as Tensor, a[2] as Tensor),
      ref: (a) => R.where(a[0], a[1], a[2]),
      show: (a) => `where(${a.join(", ")})`,
    },
    {
      name: "matmul",
      grad: true,
      atol: 1e-4,
      gen: (g) => {
        const r = g.rng;
        const M = r.int(0, 4), K = r.int(0, 4), N = r.int(0, 4);
        const batch = g.shape(r.int(0, 2));
        const ra = r.pick([1, 2, 2, 3]), rb = r.pick([1, 2, 2, 3]);
        const sa = ra === 1 ? [K] : [...(ra === 3 ? batch : []), M, K];
        const sb = rb === 1 ? [K] : [...(rb === 3 ? g.partner(batch, r.chance(0.1)) : []), K, N];
        if (r.chance(0.08)) sb[sb.length - (rb === 1 ? 1 : 2)] += 1;
        const a = T(g.tensor(r.chance(0.03) ? [] : sa, r.chance(0.04) ? "int32" : "float32"));
        return [
          a,
          r.chance(0.04) ? V(g.junk()) : T(g.tensor(sb, r.chance(0.04) ? "int32" : "float32")),
        ];
      },
      run: (a) => t0(a).matmul(a[1] as Tensor),
      ref: (a) => R.matmul(rf(a), a[1]),
      show: (a) => `${a[0]}.matmul(${a[1]})`,
    },
    {
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
      ref: (a) => R.assign(rf(a), a[1], rf(a).overlapping),
      show: (a) => `${a[0]}.assign(${a[1]})`,
    },
  ];
}

function intData(dtype: unknown, v: number): void {
  if (
    dtype === "int32" &&
    (!Number.isFinite(v) || Math.trunc(v) < -2147483648 || Math.trunc(v) > 2147483647)
  ) {
    throw new Invalid("RangeError", "int32 value out of range");
  }
}

function factoryOps(): OpSpec[] {
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

function readOps(): OpSpec[] {
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

function autogradOps(): OpSpec[] {
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
          : r.chance(0.2) && R.numel(s) === 1
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
        return R.binary("mul", rf(a), 2);
      },
      show: (a) => `noGrad(${a[1] === '"fn"' ? `() => ${a[0]}.mul(2)` : a[1]})`,
    },
  ];
}

/** Every fuzzed op, by name. */
export const OPS: ReadonlyMap<string, OpSpec> = new Map(
  [
    ...["add", "sub", "mul", "div", "pow"].map((n) => binaryOp(n, true)),
    ...["eq", "lt", "gt"].map((n) => binaryOp(n, false)),
    ...["neg", "exp", "log", "sqrt", "abs", "relu", "gelu", "tanh", "sigmoid"].map(unaryOp),
    reduceOp("sum"),
    reduceOp("mean"),
    reduceOp("max"),
    {
      name: "argmax",
      gen: (g: Gen) => {
        const s = g.shape();
        return [T(g.tensor(s, g.dtype())), V(g.rng.chance(0.05) ? undefined : g.dim(s.length))];
      },
      run: (a: unknown[]) => t0(a).argmax(a[1] as number),
      ref: (a: unknown[]) => R.argmax(rf(a), a[1]),
      show: (a: string[]) => `${a[0]}.argmax(${a[1]})`,
    },
    softmaxOp("softmax"),
    softmaxOp("logSoftmax"),
    ...viewOps(),
    ...copyOps(),
    ...joinOps(),
    ...factoryOps(),
    ...readOps(),
    ...autogradOps(),
    ...nnOps(),
    ...linalgOps(),
  ].map((o) => [o.name, o as OpSpec]),
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
