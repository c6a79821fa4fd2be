/**
 * Gaps found by hand mutation testing of `optim`: SGD's dampening (and that
 * PyTorch does not dampen the first momentum step), learning rates changed
 * between steps, and Adam's per-parameter step count. The reference numbers
 * come from PyTorch 1.13 in float64 (the call is quoted with each) and were
 * checked against the update rules worked by hand.
 */
import assert from "node:assert/strict";
import { assertClose, tensor } from "../../mod.ts";
import * as optim from "../../optim/mod.ts";
import { backendTest } from "../_backends.ts";

const A = [1, 2, 3];

/** Runs `steps` steps on loss = ½·Σ aᵢ·pᵢ² (so g = a·p) from p = [1, −2, 0.5]. */
async function quadratic(
  make: (p: ReturnType<typeof tensor>) => optim.Optimizer,
  steps: number,
  beforeStep: (opt: optim.Optimizer, i: number) => void = () => {},
): Promise<number[][]> {
  const p = tensor([1, -2, 0.5], { requiresGrad: true });
  const a = tensor(A);
  const opt = make(p);
  const out: number[][] = [];
  for (let i = 0; i < steps; i++) {
    beforeStep(opt, i);
    opt.zeroGrad();
    p.mul(p).mul(a).sum().mul(0.5).backward();
    opt.step();
    out.push(Array.from(await p.data()));
  }
  return out;
}

backendTest("SGD with momentum and dampening matches torch over 3 steps", async () => {
  // torch.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.3); buf₁ = g₁
  // (no dampening on the first step), bufₜ = 0.9·bufₜ₋₁ + 0.7·gₜ.
  const want = [
    [0.9, -1.6, 0.35],
    [0.747, -1.016, 0.1415],
    [0.55701, -0.34816, -0.075865],
  ];
  const got = await quadratic(
    (p) => new optim.SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.3 }),
    3,
  );
  for (let i = 0; i < 3; i++) await assertClose(tensor(got[i]), want[i], { atol: 1e-6 });
});

backendTest("SGD with momentum, dampening and weight decay matches torch", async () => {
  // torch.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.2)
  const want = [
    [0.88, -1.56, 0.34],
    [0.69808, -0.92376, 0.11984],
    [0.47571328, -0.20888496, -0.10514816],
  ];
  const got = await quadratic(
    (p) => new optim.SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.3, weightDecay: 0.2 }),
    3,
  );
  for (let i = 0; i < 3; i++) await assertClose(tensor(got[i]), want[i], { atol: 1e-6 });
});

backendTest("SGD reads `lr` at every step (a scheduler may change it)", async () => {
  // torch.optim.SGD([p], lr=0.1, momentum=0.9) with param_groups[0]["lr"]
  // set to 0.1, 0, 0.05 before steps 1, 2, 3.
  const lrs = [0.1, 0, 0.05];
  const want = [
    [0.9, -1.6, 0.35],
    [0.9, -1.6, 0.35],
    [0.774, -1.134, 0.1895],
  ];
  const got = await quadratic(
    (p) => new optim.SGD([p], { lr: 0.1, momentum: 0.9 }),
    3,
    (opt, i) => ((opt as optim.SGD).lr = lrs[i]),
  );
  for (let i = 0; i < 3; i++) await assertClose(tensor(got[i]), want[i], { atol: 1e-6 });
});

for (const Cls of [optim.Adam, optim.AdamW]) {
  backendTest(`${Cls.name} reads \`lr\` at every step`, async () => {
    // With a constant gradient g, m̂ = g and v̂ = g² exactly, so each step
    // moves p by −lr·g/(|g| + eps) ≈ −lr·sign(g) (weight decay 0).
    // torch.optim.{Adam,AdamW}([p], lr=…, weight_decay=0) with lr 0.1, 0,
    // 0.05 gives p = [0.9, −1.9], [0.9, −1.9], [0.85, −1.85].
    const p = tensor([1, -2], { requiresGrad: true });
    const c = tensor([0.5, -3]);
    const opt = new Cls([p], { lr: 0.1, weightDecay: 0 });
    const want = [[0.9, -1.9], [0.9, -1.9], [0.85, -1.85]];
    const lrs = [0.1, 0, 0.05];
    for (let i = 0; i < 3; i++) {
      opt.lr = lrs[i];
      opt.zeroGrad();
      p.mul(c).sum().backward();
      opt.step();
      await assertClose(p, want[i], { atol: 1e-6, rtol: 1e-6 });
    }
  });

  backendTest(`${Cls.name} counts steps per parameter, from its first gradient`, async () => {
    // q gets no gradient at the first step(), so its first update (at the
    // second step()) is a first Adam step: bias corrections 1 − β^1, and
    // with a constant gradient a move of lr·|g|/(|g| + eps) ≈ lr.
    // torch.optim.{Adam,AdamW}([p, q], lr=0.1, weight_decay=0): q = [3, 4] →
    // [2.9, 4.1] after the
    // step where it first has a gradient d = [2, −0.25].
    const p = tensor([1, -2], { requiresGrad: true });
    const q = tensor([3, 4], { requiresGrad: true });
    const c = tensor([0.5, -3]), d = tensor([2, -0.25]);
    const opt = new Cls([p, q], { lr: 0.1, weightDecay: 0 });
    opt.zeroGrad();
    p.mul(c).sum().backward();
    opt.step();
    assert.equal(q.grad, null);
    await assertClose(q, [3, 4], { atol: 0, rtol: 0 });
    opt.zeroGrad();
    p.mul(c).sum().add(q.mul(d).sum()).backward();
    opt.step();
    await assertClose(p, [0.8, -1.8], { atol: 1e-6, rtol: 1e-6 });
    await assertClose(q, [2.9, 4.1], { atol: 1e-6, rtol: 1e-6 });
  });
}
