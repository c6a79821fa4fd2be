/**
 * A central finite-difference check of every differentiable op's gradient
 * rule: for L = Σ f(x)·w with a fixed random w, the analytic ∂L/∂x from
 * `backward(w)` must match (L(x+ε) − L(x−ε)) / 2ε for every element of every
 * input. Computed in float32 with ε = 1e-2, so the tolerance is loose
 * (1e-2 absolute + 1e-2 relative); L itself is summed in float64 here.
 * Inputs sit in each op's smooth domain (no kinks within ε).
 */
import assert from "node:assert/strict";
import { cat, linear, noGrad, stack, type Tensor, tensor, where } from "../../mod.ts";

const EPS = 1e-2;
const TOL = { atol: 1e-2, rtol: 1e-2 };

type Kind = "any" | "nz" | "pos" | "distinct" | "mask";

/** mulberry32: a tiny seeded PRNG, independent of the library's. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gen(shape: readonly number[], kind: Kind, r: () => number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (kind === "distinct") {
    // A shuffled ladder 0.3 apart: max never has a tie within ε.
    const idx = [...Array(n).keys()].sort(() => r() - 0.5);
    idx.forEach((v, i) => (out[i] = (v - n / 2) * 0.3 + r() * 0.05));
    return out;
  }
  for (let i = 0; i < n; i++) {
    const u = r();
    if (kind === "any") out[i] = u * 3 - 1.5;
    else if (kind === "pos") out[i] = 0.5 + 1.5 * u;
    else if (kind === "mask") out[i] = u < 0.5 ? 0 : 1;
    else out[i] = (0.3 + 1.2 * u) * (r() < 0.5 ? -1 : 1);
  }
  return out;
}

interface FdCase {
  name: string;
  inputs: [number[], Kind][];
  /** Which inputs to differentiate (default: all but "mask" inputs). */
  wrt?: number[];
  f: (xs: Tensor[]) => Tensor;
}

const A23: [number[], Kind] = [[2, 3], "any"];
const A234: [number[], Kind] = [[2, 3, 4], "any"];

const CASES: FdCase[] = [
  { name: "`add()`", inputs: [A23, [[3], "any"]], f: ([a, b]) => a.add(b) },
  {
    name: "`sub()`",
    inputs: [[[2, 1], "any"], [[3], "any"]],
    f: ([a, b]) => a.sub(b),
  },
  { name: "`mul()`", inputs: [A23, [[3], "any"]], f: ([a, b]) => a.mul(b) },
  { name: "`mul()` by a number", inputs: [A23], f: ([a]) => a.mul(-2.5) },
  { name: "`div()`", inputs: [A23, [[2, 1], "nz"]], f: ([a, b]) => a.div(b) },
  { name: "`div()` by a number", inputs: [A23], f: ([a]) => a.div(0.7) },
  {
    name: "`pow()` tensor exponent",
    inputs: [[[2, 3], "pos"], [[3], "any"]],
    f: ([a, b]) => a.pow(b),
  },
  { name: "`pow()` number exponent 3", inputs: [A23], f: ([a]) => a.pow(3) },
  {
    name: "`pow()` number exponent 0.5",
    inputs: [[[2, 3], "pos"]],
    f: ([a]) => a.pow(0.5),
  },
  { name: "`neg()`", inputs: [A23], f: ([a]) => a.neg() },
  { name: "`exp()`", inputs: [A23], f: ([a]) => a.exp() },
  { name: "`log()`", inputs: [[[2, 3], "pos"]], f: ([a]) => a.log() },
  { name: "`sqrt()`", inputs: [[[2, 3], "pos"]], f: ([a]) => a.sqrt() },
  { name: "`abs()`", inputs: [[[2, 3], "nz"]], f: ([a]) => a.abs() },
  { name: "`relu()`", inputs: [[[2, 3], "nz"]], f: ([a]) => a.relu() },
  { name: "`gelu()`", inputs: [A23], f: ([a]) => a.gelu() },
  { name: "`tanh()`", inputs: [A23], f: ([a]) => a.tanh() },
  { name: "`sigmoid()`", inputs: [A23], f: ([a]) => a.sigmoid() },
  {
    name: "`matmul()` 2-D",
    inputs: [[[3, 4], "any"], [[4, 2], "any"]],
    f: ([a, b]) => a.matmul(b),
  },
  {
    name: "`matmul()` broadcast batch",
    inputs: [[[2, 1, 2, 3], "any"], [[3, 3, 2], "any"]],
    f: ([a, b]) => a.matmul(b),
  },
  {
    name: "`matmul()` 1-D @ 2-D",
    inputs: [[[3], "any"], [[3, 2], "any"]],
    f: ([a, b]) => a.matmul(b),
  },
  {
    name: "`matmul()` 2-D @ 1-D",
    inputs: [[[2, 3], "any"], [[3], "any"]],
    f: ([a, b]) => a.matmul(b),
  },
  {
    name: "`matmul()` transposed operand",
    inputs: [[[3, 2], "any"], [[3, 4], "any"]],
    f: ([a, b]) => a.transpose(0, 1).matmul(b),
  },
  { name: "`sum()` all", inputs: [A234], f: ([a]) => a.sum() },
  { name: "`sum()` dim -1", inputs: [A234], f: ([a]) => a.sum(-1) },
  {
    name: "`sum()` dims [0,2] keepdim",
    inputs: [A234],
    f: ([a]) => a.sum([0, 2], { keepdim: true }),
  },
  { name: "`mean()` all", inputs: [A234], f: ([a]) => a.mean() },
  { name: "`mean()` dim 1", inputs: [A234], f: ([a]) => a.mean(1) },
  { name: "`mean()` dims [0,-1]", inputs: [A234], f: ([a]) => a.mean([0, -1]) },
  {
    name: "`max()` all",
    inputs: [[[2, 3, 4], "distinct"]],
    f: ([a]) => a.max(),
  },
  {
    name: "`max()` dim 1",
    inputs: [[[2, 3, 4], "distinct"]],
    f: ([a]) => a.max(1),
  },
  {
    name: "`max()` dims [0,2] keepdim",
    inputs: [[[2, 3, 4], "distinct"]],
    f: ([a]) => a.max([0, 2], { keepdim: true }),
  },
  { name: "`softmax()` dim -1", inputs: [A234], f: ([a]) => a.softmax(-1) },
  { name: "`softmax()` middle dim", inputs: [A234], f: ([a]) => a.softmax(1) },
  {
    name: "`logSoftmax()` dim -1",
    inputs: [A234],
    f: ([a]) => a.logSoftmax(-1),
  },
  { name: "`logSoftmax()` dim 0", inputs: [A234], f: ([a]) => a.logSoftmax(0) },
  {
    name: "`reshape()`",
    inputs: [A234],
    f: ([a]) => a.reshape([4, 6]).mul(a.reshape([4, 6])),
  },
  {
    name: "`reshape()` of a non-contiguous view",
    inputs: [A234],
    f: ([a]) => a.transpose(0, 2).reshape([24]).exp(),
  },
  {
    name: "`transpose()`",
    inputs: [A234],
    f: ([a]) => a.transpose(0, -1).exp(),
  },
  {
    name: "`permute()`",
    inputs: [A234],
    f: ([a]) => a.permute([2, 0, 1]).tanh(),
  },
  {
    name: "`unsqueeze()`",
    inputs: [A23],
    f: ([a]) => a.unsqueeze(1).sigmoid(),
  },
  {
    name: "`squeeze()`",
    inputs: [[[1, 3, 1], "any"]],
    f: ([a]) => a.squeeze().exp(),
  },
  {
    name: "`squeeze()` one dim",
    inputs: [[[1, 3, 1], "any"]],
    f: ([a]) => a.squeeze(-1).exp(),
  },
  {
    name: "`expand()`",
    inputs: [[[3, 1], "any"]],
    f: ([a]) => a.expand([2, 3, 4]).exp(),
  },
  {
    name: "`cat()`",
    inputs: [A23, [[2, 2], "any"]],
    f: ([a, b]) => cat([a, b], 1).exp(),
  },
  {
    name: "`stack()`",
    inputs: [A23, A23],
    f: ([a, b]) => stack([a, b], -1).exp(),
  },
  {
    name: "`where()`",
    inputs: [[[2, 3], "mask"], A23, [[3], "any"]],
    wrt: [1, 2],
    f: ([c, a, b]) => where(c, a, b),
  },
  {
    name: "`linear()`",
    inputs: [[[2, 3], "any"], [[4, 3], "any"], [[4], "any"]],
    f: ([x, w, b]) => linear(x, w, b),
  },
  {
    name: "`narrow()`",
    inputs: [[[3, 4], "any"]],
    f: ([a]) => a.narrow(1, 1, 2).exp(),
  },
  { name: "`clone()`", inputs: [A23], f: ([a]) => a.clone().mul(a) },
  {
    name: "a composed chain (softmax · matmul · gelu)",
    inputs: [[[2, 3], "any"], [[3, 3], "any"]],
    f: ([a, b]) => a.matmul(b).gelu().softmax(-1).log().mean(0),
  },
];

/** L = Σ out·w in float64. */
async function loss(out: Tensor, w: Float32Array): Promise<number> {
  const d = await out.data();
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i] * w[i];
  return s;
}

async function check(c: FdCase, seed: number): Promise<string[]> {
  const r = rng(seed);
  const datas = c.inputs.map(([shape, kind]) => gen(shape, kind, r));
  const wrt = c.wrt ?? c.inputs.map((_, i) => i);
  const make = (ds: Float32Array[], grad: boolean) =>
    ds.map((d, i) =>
      tensor(d, {
        shape: c.inputs[i][0],
        requiresGrad: grad && wrt.includes(i),
      })
    );
  const leaves = make(datas, true);
  const out = c.f(leaves);
  const w = gen(out.shape, "any", r);
  out.backward(tensor(w, { shape: out.shape }));
  const bad: string[] = [];
  for (const i of wrt) {
    const g = leaves[i].grad;
    if (g === null) {
      bad.push(`input ${i}: grad is null`);
      continue;
    }
    assert.deepEqual(g.shape, c.inputs[i][0], `grad ${i} shape`);
    const analytic = await g.data();
    for (let j = 0; j < datas[i].length; j++) {
      const plus = datas.map((d) => d.slice());
      const minus = datas.map((d) => d.slice());
      plus[i][j] += EPS;
      minus[i][j] -= EPS;
      const lp = await loss(noGrad(() => c.f(make(plus, false))), w);
      const lm = await loss(noGrad(() => c.f(make(minus, false))), w);
      const numeric = (lp - lm) / (plus[i][j] - minus[i][j]);
      const a = analytic[j];
      if (!(Math.abs(a - numeric) <= TOL.atol + TOL.rtol * Math.abs(numeric))) {
        bad.push(`input ${i}[${j}]: analytic ${a}, numeric ${numeric}`);
      }
    }
  }
  return bad;
}

CASES.forEach((c, k) => {
  Deno.test(`${c.name} gradient matches central finite differences`, async () => {
    const bad = await check(c, 1000 + k);
    assert.equal(bad.length, 0, "\n" + bad.slice(0, 8).join("\n"));
  });
});
