/**
 * The fuzzed math ops: the elementwise unary and binary methods (with
 * broadcasting, promotion and number operands), `where`, `matmul`, the
 * reductions (`sum`, `mean`, `max` over dims with `keepdim`, `argmax`) and
 * `softmax` / `logSoftmax`.
 *
 * @module
 */
import { type Tensor, where } from "../../mod.ts";
import { type Arg, type Gen, T, V } from "./_gen.ts";
import { away, distinct, type OpSpec, rf, t0 } from "./_op_spec.ts";
import * as E from "./_ref_math.ts";
import * as Red from "./_ref_reduce.ts";

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
    ref: (a) => E.binary(name, rf(a), a[1]),
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
    ref: (a) => E.unary(name, rf(a)),
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
    ref: (a) => Red[name](rf(a), a[1], a[2]),
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
    ref: (a) => Red.softmax(rf(a), a[1], name === "logSoftmax"),
    show: (a) => `${a[0]}.${name}(${a[1]})`,
  };
}

export function argmaxOp(): OpSpec {
  return {
    name: "argmax",
    gen: (g: Gen) => {
      const s = g.shape();
      return [T(g.tensor(s, g.dtype())), V(g.rng.chance(0.05) ? undefined : g.dim(s.length))];
    },
    run: (a: unknown[]) => t0(a).argmax(a[1] as number),
    ref: (a: unknown[]) => Red.argmax(rf(a), a[1]),
    show: (a: string[]) => `${a[0]}.argmax(${a[1]})`,
  };
}

/** The elementwise, reduction and softmax ops, in the registry's order. */
export function elementwiseOps(): OpSpec[] {
  return [
    ...["add", "sub", "mul", "div", "pow"].map((n) => binaryOp(n, true)),
    ...["eq", "lt", "gt"].map((n) => binaryOp(n, false)),
    ...["neg", "exp", "log", "sqrt", "abs", "relu", "gelu", "tanh", "sigmoid"].map(unaryOp),
    reduceOp("sum"),
    reduceOp("mean"),
    reduceOp("max"),
    argmaxOp(),
    softmaxOp("softmax"),
    softmaxOp("logSoftmax"),
  ];
}

export function whereOp(): OpSpec {
  return {
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
    ref: (a) => E.where(a[0], a[1], a[2]),
    show: (a) => `where(${a.join(", ")})`,
  };
}

export function matmulOp(): OpSpec {
  return {
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
    ref: (a) => E.matmul(rf(a), a[1]),
    show: (a) => `${a[0]}.matmul(${a[1]})`,
  };
}
