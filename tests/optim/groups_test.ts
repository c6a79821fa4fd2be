/**
 * Parameter groups as PyTorch's: two groups with different lr, weight decay
 * and one more value each, against PyTorch 1.13 over 4 steps for SGD, Adam
 * and AdamW; the resolved `paramGroups`, `lr` across groups,
 * `addParamGroup`, values changed between steps, and the errors.
 */
import assert from "node:assert/strict";
import { assertClose, linear, type Tensor, tensor } from "../../mod.ts";
import * as nn from "../../nn/mod.ts";
import * as optim from "../../optim/mod.ts";
import { backendTest } from "../_backends.ts";
import type { Json } from "../nn/_fixture.ts";
import { camel, torchGroups } from "./_groups_fixture.ts";

const G = torchGroups;

function params(): Record<string, Tensor> {
  return Object.fromEntries(
    Object.entries(G.init as Record<string, Json>).map((
      [k, v],
    ) => [k, tensor(v, { requiresGrad: true })]),
  );
}

function make(name: string, ps: Record<string, Tensor>): optim.Optimizer {
  const run = G.groups[name];
  const groups = [
    { params: [ps.w1, ps.b1], ...camel(run.groups[0]) },
    { params: [ps.w2, ps.b2], ...camel(run.groups[1]) },
  ];
  const defaults = camel(run.defaults);
  if (name === "sgd") return new optim.SGD(groups, defaults);
  return name === "adam" ? new optim.Adam(groups, defaults) : new optim.AdamW(groups, defaults);
}

function loss(ps: Record<string, Tensor>, x: Tensor, y: Tensor): Tensor {
  const h = linear(x, ps.w1, ps.b1).tanh();
  return nn.mseLoss(linear(h, ps.w2, ps.b2), y);
}

for (const name of Object.keys(G.groups)) {
  backendTest(`\`${name}\` with two parameter groups matches torch over 4 steps`, async () => {
    const ps = params();
    const x = tensor(G.x), y = tensor(G.y);
    const opt = make(name, ps);
    for (const want of G.groups[name].steps as Json[]) {
      opt.zeroGrad();
      loss(ps, x, y).backward();
      opt.step();
      for (const k of Object.keys(ps)) {
        await assertClose(ps[k], want[k], { atol: 1e-5, rtol: 1e-5 });
      }
    }
  });
}

backendTest("`paramGroups` holds every value, resolved from the options", () => {
  const ps = params();
  const opt = new optim.AdamW(
    [{ params: [ps.w1] }, { params: ps.b1, lr: 0.5, betas: [0.5, 0.6] }],
    {
      lr: 0.1,
      eps: 1e-6,
    },
  );
  assert.deepEqual(opt.paramGroups.map(({ params, ...h }) => ({ n: params.length, ...h })), [
    { n: 1, lr: 0.1, betas: [0.9, 0.999], eps: 1e-6, weightDecay: 0.01 },
    { n: 1, lr: 0.5, betas: [0.5, 0.6], eps: 1e-6, weightDecay: 0.01 },
  ]);
  assert.deepEqual(opt.defaults, { lr: 0.1, betas: [0.9, 0.999], eps: 1e-6, weightDecay: 0.01 });
  assert.deepEqual(opt.params, [ps.w1, ps.b1]);
  const sgd = new optim.SGD([{ params: [ps.w2], lr: 0.3 }, { params: [ps.b2], lr: 0.2 }]);
  assert.deepEqual(sgd.paramGroups.map((g) => [g.lr, g.momentum, g.nesterov]), [
    [0.3, 0, false],
    [0.2, 0, false],
  ]);
  assert.ok(Object.isFrozen(sgd.paramGroups[0].params));
});

backendTest("`lr` is shared by all groups, or an error says to use paramGroups", () => {
  const ps = params();
  const same = new optim.SGD([{ params: [ps.w1] }, { params: [ps.b1], weightDecay: 0.1 }], {
    lr: 0.1,
  });
  assert.equal(same.lr, 0.1);
  same.lr = 0.05;
  assert.deepEqual(same.paramGroups.map((g) => g.lr), [0.05, 0.05]);
  const mixed = new optim.Adam([{ params: [ps.w2], lr: 0.1 }, { params: [ps.b2], lr: 0.2 }]);
  assert.throws(
    () => mixed.lr,
    (e: Error) => e instanceof RangeError && /0\.1, 0\.2/.test(e.message),
  );
  assert.throws(() => (mixed.lr = 0.3), RangeError);
  assert.deepEqual(mixed.paramGroups.map((g) => g.lr), [0.1, 0.2], "unchanged after the error");
  assert.throws(() => (same.lr = -1), RangeError);
  assert.equal(same.lr, 0.05);
});

backendTest("a group's values are read at every step: lr 0 holds that group still", async () => {
  const ps = params();
  const x = tensor(G.x), y = tensor(G.y);
  const opt = new optim.SGD([{ params: [ps.w1, ps.b1] }, { params: [ps.w2, ps.b2] }], {
    lr: 0.1,
    momentum: 0.9,
  });
  opt.paramGroups[1].lr = 0;
  loss(ps, x, y).backward();
  opt.step();
  await assertClose(ps.w2, G.init.w2, { atol: 0, rtol: 0 });
  await assertClose(ps.b2, G.init.b2, { atol: 0, rtol: 0 });
  assert.notDeepEqual(Array.from(await ps.w1.data()), G.init.w1.flat());
  // A bad value set between steps throws at the next step, before any update.
  opt.paramGroups[0].lr = NaN;
  const w1 = Array.from(await ps.w1.data());
  assert.throws(
    () => opt.step(),
    (e: Error) => e instanceof RangeError && /paramGroups\[0\]\.lr/.test(e.message),
  );
  assert.deepEqual(Array.from(await ps.w1.data()), w1);
});

backendTest("`addParamGroup()` adds a group with the defaults, once per tensor", () => {
  const ps = params();
  const opt = new optim.Adam([ps.w1, ps.b1], { lr: 0.01 });
  opt.addParamGroup({ params: [ps.w2, ps.b2], weightDecay: 0.5 });
  assert.deepEqual(opt.paramGroups.map((g) => [g.lr, g.weightDecay, g.params.length]), [
    [0.01, 0, 2],
    [0.01, 0.5, 2],
  ]);
  assert.throws(
    () => opt.addParamGroup({ params: [ps.b1] }),
    (e: Error) =>
      e instanceof RangeError &&
      /paramGroups\[2\]\.params\[0\].*paramGroups\[0\]\.params\[1\]/.test(e.message),
  );
  assert.throws(() => opt.addParamGroup({ params: [ps.w2], momentum: 1 } as never), /"momentum"/);
  assert.equal(opt.paramGroups.length, 2, "a failed add adds nothing");
});

backendTest("bad groups are errors that name the place", () => {
  const ps = params();
  const cases: [() => unknown, ErrorConstructor, RegExp][] = [
    [
      () => new optim.SGD([{ params: [ps.w1, ps.b1] }, { params: [ps.w2, ps.w1] }], { lr: 0.1 }),
      RangeError,
      /shape \[3,4\] at paramGroups\[1\]\.params\[1\] is also at paramGroups\[0\]\.params\[0\]/,
    ],
    [() => new optim.Adam([ps.w1, ps.b1, ps.w1]), RangeError, /params\[2\] is also at params\[0\]/],
    [
      () => new optim.AdamW([{ params: [ps.w1], lr: 0.1, momentum: 0.9 } as never]),
      TypeError,
      /paramGroups\[0\] has unknown key\(s\) "momentum"/,
    ],
    [
      () => new optim.Adam([{ params: [ps.w1] }, ps.b1] as never),
      TypeError,
      /params\[1\].*not both/,
    ],
    [
      () => new optim.Adam([ps.w1, { params: [ps.b1] }] as never),
      TypeError,
      /params\[1\] is not a Tensor/,
    ],
    [() => new optim.Adam([{ lr: 0.1 }] as never), TypeError, /paramGroups\[0\] has no "params"/],
    [
      () => new optim.Adam([{ params: [ps.w1, 3] }] as never),
      TypeError,
      /paramGroups\[0\]\.params\[1\] is not a Tensor/,
    ],
    [() => new optim.Adam([{ params: 3 }] as never), TypeError, /paramGroups\[0\]\.params must be/],
    [() => new optim.Adam([{ params: [tensor([1], { dtype: "int32" })] }]), TypeError, /int32/],
    [() => new optim.Adam(ps.w1 as never), TypeError, /params must be an iterable/],
    [
      () => new optim.SGD([{ params: [ps.w1] }, { params: [ps.b1], lr: 0.1 }]),
      TypeError,
      /paramGroups\[0\]\.lr must be a number/,
    ],
    [
      () => new optim.SGD([{ params: [ps.w1], lr: -0.1 }], { lr: 0.1 }),
      RangeError,
      /paramGroups\[0\]\.lr/,
    ],
    [
      () => new optim.SGD([{ params: [ps.w1], lr: 0.1 }], { lr: -1 }),
      RangeError,
      /SGD: lr must be/,
    ],
    [
      () => new optim.Adam([{ params: [ps.w1], betas: [0.9, 1] }]),
      RangeError,
      /paramGroups\[0\]\.betas\[1\]/,
    ],
    [
      () => new optim.Adam([{ params: [ps.w1], betas: 0.9 }] as never),
      TypeError,
      /betas must be a pair/,
    ],
    [
      () => new optim.SGD([{ params: [ps.w1], nesterov: true }], { lr: 0.1 }),
      RangeError,
      /paramGroups\[0\]\.Nesterov needs momentum/,
    ],
    [
      () => new optim.SGD([{ params: [ps.w1], nesterov: 1 }] as never, { lr: 0.1 }),
      TypeError,
      /nesterov must be a boolean/,
    ],
  ];
  for (const [f, kind, msg] of cases) {
    assert.throws(f, (e: Error) => e instanceof kind && msg.test(e.message), msg.source);
  }
});

backendTest("empty groups and an empty list are accepted, as in PyTorch", () => {
  const ps = params();
  const opt = new optim.AdamW([{ params: [] }, { params: [ps.w1] }]);
  assert.equal(opt.paramGroups.length, 2);
  opt.step();
  assert.equal(new optim.SGD([], { lr: 0.1 }).paramGroups.length, 1);
});
