/**
 * LoRA with dropout in training mode, numerically: with a fixed seed the
 * layer must compute `x·Wᵀ + b + s·((m⊙x/(1−p))·Aᵀ)·Bᵀ`, where m is the
 * keep mask the seeded generator draws (`rand(x.shape) > p`, the layer's
 * only draw), and its gradients for x, A and B must be that expression's.
 * The expected values are built here on the host in float64.
 */
import assert from "node:assert/strict";
import { assertClose, manualSeed, rand, randn, type Tensor, tensor } from "../../mod.ts";
import * as nn from "../../nn/mod.ts";
import * as lora from "../../lora/mod.ts";
import { backendTest } from "../_backends.ts";

type M = number[][];
const mat = (d: ArrayLike<number>, r: number, c: number): M =>
  Array.from({ length: r }, (_, i) => Array.from({ length: c }, (_, j) => d[i * c + j]));
const mm = (a: M, b: M): M =>
  a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
const tr = (a: M): M => a[0].map((_, j) => a.map((row) => row[j]));
const zip = (a: M, b: M, f: (x: number, y: number) => number): M =>
  a.map((r, i) => r.map((v, j) => f(v, b[i][j])));
const scale = (a: M, s: number): M => a.map((r) => r.map((v) => v * s));

async function host(t: Tensor, r: number, c: number): Promise<M> {
  return mat(await t.data(), r, c);
}

backendTest(
  "LoRA dropout in training mode: values and gradients equal the masked formula",
  async () => {
    const [M, K, N, r, p, alpha] = [5, 7, 6, 3, 0.3, 9];
    manualSeed(11);
    const layer = new lora.LoraLinear(new nn.Linear(K, N), { rank: r, alpha, dropout: p });
    layer.loraB.assign(randn([N, r]));
    layer.base.weight.requiresGrad = false; // frozen, as lora.wrap leaves it
    layer.base.bias!.requiresGrad = false;
    const x = randn([M, K], { requiresGrad: true });
    const g = randn([M, N]);
    const s = layer.scaling;
    assert.equal(s, alpha / r);

    // The keep mask the layer will draw: the seeded generator's next uniforms.
    manualSeed(1234);
    const u = rand([M, K]);
    const mask = (await host(u, M, K)).map((row) => row.map((v) => (v > p ? 1 : 0)));
    u.dispose();
    assert.ok(mask.flat().some((v) => v === 0) && mask.flat().some((v) => v === 1));

    manualSeed(1234);
    layer.train();
    const y = layer.forward(x);
    y.backward(g);

    const [X, W, A, B, G] = [
      await host(x, M, K),
      await host(layer.base.weight, N, K),
      await host(layer.loraA, r, K),
      await host(layer.loraB, N, r),
      await host(g, M, N),
    ];
    const bias = [...await layer.base.bias!.data()];
    const h = zip(mask, X, (m, v) => (m * v) / (1 - p));
    const down = mm(h, tr(A));
    const want = zip(mm(X, tr(W)), scale(mm(down, tr(B)), s), (a, b) => a + b).map((row) =>
      row.map((v, j) => v + bias[j])
    );
    await assertClose(y, want, { atol: 1e-5, rtol: 1e-5 });

    const dDown = scale(mm(G, B), s);
    const dB = scale(mm(tr(G), down), s);
    const dA = mm(tr(dDown), h);
    const dx = zip(mm(G, W), zip(mm(dDown, A), mask, (v, m) => (v * m) / (1 - p)), (a, b) => a + b);
    await assertClose(layer.loraB.grad!, dB, { atol: 1e-5, rtol: 1e-5 });
    await assertClose(layer.loraA.grad!, dA, { atol: 1e-5, rtol: 1e-5 });
    await assertClose(x.grad!, dx, { atol: 1e-5, rtol: 1e-5 });
    assert.equal(layer.base.weight.grad, null, "the frozen weight gets no gradient");

    // In eval mode the same layer skips dropout: the unmasked formula.
    layer.eval();
    const yEval = layer.forward(tensor(X.flat(), { shape: [M, K] }));
    const full = zip(mm(X, tr(W)), scale(mm(mm(X, tr(A)), tr(B)), s), (a, b) => a + b).map((row) =>
      row.map((v, j) => v + bias[j])
    );
    await assertClose(yEval, full, { atol: 1e-5, rtol: 1e-5 });
  },
);
