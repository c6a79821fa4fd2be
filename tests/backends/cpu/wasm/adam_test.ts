import assert from "node:assert/strict";
import * as K from "../../../../backends/cpu/wasm/mod.ts";

/** Float64 reference of PyTorch's single-tensor Adam/AdamW step. */
function ref(
  p: number,
  g: number,
  m: number,
  v: number,
  o: { lr: number; b1: number; b2: number; eps: number; wd: number; dd: number },
  t: number,
) {
  const bias1 = 1 - o.b1 ** t, bias2 = 1 - o.b2 ** t;
  g = g + o.wd * p;
  m = o.b1 * m + (1 - o.b1) * g;
  v = o.b2 * v + (1 - o.b2) * g * g;
  p = p * (1 - o.lr * o.dd);
  p -= (o.lr / bias1) * m / (Math.sqrt(v) / Math.sqrt(bias2) + o.eps);
  return [p, m, v];
}

for (
  const o of [
    { lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0, dd: 0 },
    { lr: 1e-2, b1: 0.8, b2: 0.99, eps: 1e-6, wd: 0.1, dd: 0 },
    { lr: 3e-4, b1: 0.9, b2: 0.95, eps: 1e-8, wd: 0, dd: 0.01 },
  ]
) {
  Deno.test(`adam matches the formula (wd=${o.wd}, dd=${o.dd})`, async () => {
    await K.threadsReady();
    for (const n of [0, 1, 3, 17, 1023, 300_001]) {
      const ptrs = [0, 1, 2, 3].map(() => K.alloc(n * 4 + 8) + 4);
      const [P, G, M, V] = ptrs.map((p) => K.f32view(p, n));
      for (let i = 0; i < n; i++) {
        P[i] = Math.sin(i), G[i] = Math.cos(i * 0.7), M[i] = 0, V[i] = 0;
      }
      const exp = Array.from(P, (p) => [p, 0, 0]);
      for (let t = 1; t <= 3; t++) {
        const bias1 = 1 - o.b1 ** t, bias2 = 1 - o.b2 ** t;
        const [param, grad, m, v] = ptrs;
        K.adam({ param, grad, m, v }, n, {
          lr: o.lr,
          beta1: o.b1,
          beta2: o.b2,
          eps: o.eps,
          weightDecay: o.wd,
          decoupledDecay: o.dd,
          bias1,
          bias2,
        });
        for (let i = 0; i < n; i++) {
          const [p, m, v] = exp[i];
          exp[i] = ref(p, G[i], m, v, o, t);
        }
      }
      for (let i = 0; i < n; i += n > 2000 ? 37 : 1) {
        assert.ok(Math.abs(P[i] - exp[i][0]) < 1e-6, `p[${i}]`);
        assert.ok(Math.abs(M[i] - exp[i][1]) < 1e-6, `m[${i}]`);
        assert.ok(Math.abs(V[i] - exp[i][2]) < 1e-6, `v[${i}]`);
      }
      ptrs.forEach((p) => K.free(p - 4));
    }
  });
}

Deno.test("adam is bit-exact vs f32 emulation of PyTorch's op order", () => {
  const f = Math.fround;
  const n = 1027, lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.05;
  const dd = 0.01, bias1 = 1 - b1 ** 2, bias2 = 1 - b2 ** 2;
  const ptrs = [0, 1, 2, 3].map(() => K.alloc(n * 4));
  const [P, G, M, V] = ptrs.map((p) => K.f32view(p, n));
  for (let i = 0; i < n; i++) {
    P[i] = Math.sin(i), G[i] = Math.cos(i), M[i] = 0.1, V[i] = 0.01;
  }
  const [p0, m0, v0] = [P.slice(), M.slice(), V.slice()];
  const [param, grad, m, v] = ptrs;
  K.adam({ param, grad, m, v }, n, {
    lr,
    beta1: b1,
    beta2: b2,
    eps,
    weightDecay: wd,
    decoupledDecay: dd,
    bias1,
    bias2,
  });
  const [cwd, cb1, comb1, cb2, comb2] = [wd, b1, 1 - b1, b2, 1 - b2].map(f);
  const decay = f(1 - lr * dd), negStep = f(-(lr / bias1));
  const sq2 = f(Math.sqrt(bias2)), ceps = f(eps);
  for (let i = 0; i < n; i++) {
    const g = f(G[i] + f(cwd * p0[i]));
    const m = f(f(m0[i] * cb1) + f(comb1 * g));
    const v = f(f(v0[i] * cb2) + f(f(comb2 * g) * g));
    const denom = f(f(f(Math.sqrt(v)) / sq2) + ceps);
    const p = f(f(p0[i] * decay) + f(f(negStep * m) / denom));
    assert.equal(M[i], m);
    assert.equal(V[i], v);
    assert.equal(P[i], p);
  }
  ptrs.forEach((p) => K.free(p));
});
