/**
 * The gradient table: one rule per differentiable op (primitives and fused
 * ops alike). A rule gets the upstream gradient and returns one gradient per
 * input (null where not needed); the engine sums broadcast gradients back to
 * each input's shape, so rules may return a broadcast-shaped gradient. Rules
 * run under `noGrad` inside a scope, so their temporaries are freed.
 *
 * @module
 */
import type { Tensor } from "./tensor.ts";
import { zeros } from "./factories.ts";
import { where } from "./ops.ts";
import { sumToShape } from "./autograd.ts";
import { _oneHot } from "./fused.ts";

/** What a rule sees of the op it differentiates. */
export interface GradContext {
  /** The op's tensor inputs. */
  readonly inputs: readonly Tensor[];
  /** The op's output. */
  readonly out: Tensor;
  /** The op's saved values. */
  readonly saved: Record<string, unknown>;
  /** Which inputs need a gradient (no work for the others). */
  readonly needs: readonly boolean[];
}

/** A gradient rule. */
export type GradRule = (g: Tensor, ctx: GradContext) => (Tensor | null)[];

/** The second operand: a tensor input or a saved number. */
function rhs(ctx: GradContext): Tensor | number {
  return ctx.saved.scalar !== undefined ? ctx.saved.scalar as number : ctx.inputs[1];
}

function t2(x: Tensor): Tensor {
  return x.transpose(-1, -2);
}

/** The table, keyed by the op name ops record. */
export const GRAD_RULES: Record<string, GradRule> = {
  alias: (g) => [g],
  add: (g) => [g, g],
  sub: (g, c) => [g, c.needs[1] ? g.neg() : null],
  mul: (g, c) => [c.needs[0] ? g.mul(rhs(c)) : null, c.needs[1] ? g.mul(c.inputs[0]) : null],
  div: (g, c) => {
    const b = rhs(c);
    return [
      c.needs[0] ? g.div(b) : null,
      c.needs[1] ? g.mul(c.out).div(b).neg() : null,
    ];
  },
  pow: (g, c) => {
    // An int32 base (promoted for the op) is read as float32 here too.
    const a = c.inputs[0].dtype === "int32" ? c.inputs[0].float() : c.inputs[0], b = rhs(c);
    const ga = c.needs[0] ? g.mul(b).mul(a.pow(typeof b === "number" ? b - 1 : b.sub(1))) : null;
    let gb: Tensor | null = null;
    if (c.needs[1]) {
      // d/db a^b = a^b·ln a, defined as 0 where a = 0 and b ≥ 0 (PyTorch).
      const raw = g.mul(c.out).mul(a.log());
      gb = where(a.eq(0).mul((b as Tensor).lt(0).neg().add(1)), 0, raw);
    }
    return [ga, gb];
  },
  neg: (g) => [g.neg()],
  exp: (g, c) => [g.mul(c.saved.out as Tensor)],
  log: (g, c) => [g.div(c.inputs[0])],
  sqrt: (g, c) => [g.div((c.saved.out as Tensor).mul(2))],
  abs: (g, c) => [g.mul(c.inputs[0]._unary("sign"))],
  relu: (g, c) => [g.mul(c.inputs[0].gt(0))],
  tanh: (g, c) => {
    const y = c.saved.out as Tensor;
    return [g.mul(y.mul(y).neg().add(1))];
  },
  sigmoid: (g, c) => {
    const y = c.saved.out as Tensor;
    return [g.mul(y.mul(y.neg().add(1)))];
  },
  gelu: (g, c) => [g.mul(c.inputs[0]._unary("geluGrad"))],
  matmul: (g, c) => {
    const [a, b] = c.inputs;
    // Undo torch.matmul's lift of 1-D operands to a row / column.
    const a2 = a.ndim === 1 ? a.unsqueeze(0) : a, b2 = b.ndim === 1 ? b.unsqueeze(1) : b;
    const g2 = a.ndim === 1 && b.ndim === 1
      ? g.reshape([1, 1])
      : a.ndim === 1
      ? g.unsqueeze(-2)
      : b.ndim === 1
      ? g.unsqueeze(-1)
      : g;
    const back = (x: Tensor, like: Tensor, orig: Tensor) =>
      sumToShape(x, like.shape).reshape(orig.shape);
    return [
      c.needs[0] ? back(g2.matmul(t2(b2)), a2, a) : null,
      c.needs[1] ? back(t2(a2).matmul(g2), b2, b) : null,
    ];
  },
  sum: (g, c) => {
    const { axes, keepdim } = c.saved as { axes: number[]; keepdim: boolean };
    const x = c.inputs[0];
    const kept = x.shape.map((s, d) => (axes.includes(d) ? 1 : s));
    return [(keepdim ? g : g.reshape(kept)).expand(x.shape)];
  },
  max: (g, c) => {
    const { axes, keptShape, out } = c.saved as {
      axes: number[];
      keptShape: number[];
      out: Tensor;
    };
    const x = c.inputs[0];
    const mask = x.eq(out.reshape(keptShape));
    const count = mask.sum(axes, { keepdim: true });
    return [g.reshape(keptShape).mul(mask).div(count)];
  },
  softmax: (g, c) => {
    const { dim, out } = c.saved as { dim: number; out: Tensor };
    const dot = g.mul(out).sum(dim, { keepdim: true });
    return [g.sub(dot).mul(out)];
  },
  logSoftmax: (g, c) => {
    const { dim, out } = c.saved as { dim: number; out: Tensor };
    return [g.sub(out.exp().mul(g.sum(dim, { keepdim: true })))];
  },
  reshape: (g, c) => [g.reshape(c.saved.shape as number[])],
  permute: (g, c) => {
    const dims = c.saved.dims as number[];
    const inv = new Array<number>(dims.length);
    dims.forEach((d, i) => (inv[d] = i));
    return [g.permute(inv)];
  },
  expand: (g) => [g],
  narrow: (g, c) => {
    const { dim, start, shape } = c.saved as { dim: number; start: number; shape: number[] };
    const z = zeros(shape, { backend: g.backend });
    z.narrow(dim, start, g.shape[dim]).assign(g);
    return [z];
  },
  cat: (g, c) => {
    const { dim, sizes } = c.saved as { dim: number; sizes: number[] };
    let at = 0;
    return sizes.map((n, i) => {
      const part = c.needs[i] ? g.narrow(dim, at, n) : null;
      at += n;
      return part;
    });
  },
  where: (g, c) => {
    const { aIsTensor, bIsTensor } = c.saved as { aIsTensor: boolean; bIsTensor: boolean };
    const cond = c.inputs[0];
    const out: (Tensor | null)[] = [null];
    let i = 1;
    if (aIsTensor) out.push(c.needs[i++] ? g.mul(cond.eq(0).neg().add(1)) : null);
    if (bIsTensor) out.push(c.needs[i++] ? g.mul(cond.eq(0)) : null);
    return out;
  },
  indexSelect: (g, c) => {
    const { dim, index, shape } = c.saved as { dim: number; index: Tensor; shape: number[] };
    const src = dim === 0 ? g : g.transpose(0, dim);
    const rows = dim === 0 ? shape : src.shape.map((s, i) => (i === 0 ? shape[dim] : s));
    const acc = zeros(rows, { backend: g.backend });
    acc._scatterAdd(index, src);
    return [dim === 0 ? acc : acc.transpose(0, dim)];
  },
  loraLinear: (g, c) => {
    // inputs: x, W, A, B[, bias]; gradients only where needed (a frozen W
    // costs nothing), and B·A is never formed.
    const [x, w, a, bUp] = c.inputs;
    const { down, scaling } = c.saved as { down: Tensor; scaling: number };
    const K = x.shape[x.ndim - 1], N = w.shape[0];
    const g2 = g.reshape([-1, N]), x2 = x.reshape([-1, K]);
    const gd = c.needs[0] || c.needs[2] ? g2.matmul(bUp).mul(scaling) : null;
    return [
      c.needs[0] ? g2.matmul(w).add(gd!.matmul(a)).reshape(x.shape) : null,
      c.needs[1] ? t2(g2).matmul(x2) : null,
      c.needs[2] ? t2(gd!).matmul(x2) : null,
      c.needs[3] ? t2(g2).matmul(down).mul(scaling) : null,
      c.needs[4] ? g2.sum(0) : null,
    ];
  },
  crossEntropy: (g, c) => {
    const { probs, targets } = c.saved as { probs: Tensor; targets: Tensor };
    const hot = _oneHot(targets, probs.shape[1]);
    return [probs.sub(hot).mul(g.unsqueeze(1))];
  },
  linear: (g, c) => {
    const [x, w] = c.inputs;
    const K = x.shape[x.ndim - 1], N = w.shape[0];
    const g2 = g.reshape([-1, N]);
    const x2 = c.needs[1] ? x.reshape([-1, K]) : null;
    return [
      c.needs[0] ? g2.matmul(w).reshape(x.shape) : null,
      x2 ? t2(g2).matmul(x2) : null,
      c.needs[2] ? g2.sum(0) : null,
    ];
  },
};
