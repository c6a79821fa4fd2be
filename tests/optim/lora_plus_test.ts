/**
 * `optim.loraPlusGroups`: the groups of a LoRA-wrapped model worked out by
 * hand (names, learning rates, weight decays, defaults), AdamW over them
 * against PyTorch 1.13 for 3 steps (`gen_optim_groups.py`, which builds the
 * groups the way PEFT's `create_loraplus_optimizer` does), PEFT's
 * `lora_B` spelling, and the errors.
 */
import assert from "node:assert/strict";
import { assertClose, lora, type Tensor, tensor, zeros } from "../../mod.ts";
import * as nn from "../../nn/mod.ts";
import * as optim from "../../optim/mod.ts";
import { backendTest } from "../_backends.ts";
import type { Json } from "../nn/_fixture.ts";
import { torchGroups } from "./_groups_fixture.ts";

const F = torchGroups.loraplus;
const [NUM, DIM, OUT] = [5, 4, 3];

/** An embedding with adapters named as PEFT names them, on one-hot rows. */
class OneHotLoraEmbedding extends nn.Module {
  weight = nn.parameter(zeros([NUM, DIM]));
  lora_embedding_A = nn.parameter(zeros([F.rank, NUM]));
  lora_embedding_B = nn.parameter(zeros([DIM, F.rank]));
  forward(x: Tensor): Tensor {
    const low = x.matmul(this.lora_embedding_A.transpose(0, 1))
      .matmul(this.lora_embedding_B.transpose(0, 1));
    return x.matmul(this.weight).add(low.mul(F.alpha / F.rank));
  }
}

class Net extends nn.Module {
  emb = new OneHotLoraEmbedding();
  q: nn.Module = new nn.Linear(DIM, DIM);
  norm = new nn.LayerNorm(DIM);
  head = new nn.Linear(DIM, OUT);
  forward(x: Tensor): Tensor {
    return this.head.forward(this.norm.forward(this.q.forward(this.emb.forward(x))));
  }
}

/** The fixture's model: q wrapped, the embedding adapters, norm and head trainable. */
function model(): Net {
  const net = lora.wrap(new Net(), ["q"], F.rank, F.alpha);
  for (const p of [net.emb.lora_embedding_A, net.emb.lora_embedding_B]) p.requiresGrad = true;
  for (const p of [...net.norm.parameters(), ...net.head.parameters()]) p.requiresGrad = true;
  net.loadStateDict(
    Object.fromEntries(
      Object.entries(F.init as Record<string, Json>).map(([k, v]) => [k, tensor(v)]),
    ),
  );
  return net;
}

function namesOf(net: nn.Module, groups: optim.LoraPlusGroup[]): string[][] {
  const byTensor = new Map([...net.namedParameters()].map(([k, p]) => [p, k]));
  return groups.map((g) => g.params.map((p) => byTensor.get(p)!));
}

backendTest("`loraPlusGroups()` makes PEFT's four groups (worked by hand)", () => {
  const net = model();
  const groups = optim.loraPlusGroups(net, {
    lr: 0.01,
    ratio: 4,
    embeddingLr: 0.002,
    weightDecay: 0.1,
  });
  assert.deepEqual(namesOf(net, groups), [
    ["q.loraA", "head.weight"],
    ["emb.lora_embedding_A", "emb.lora_embedding_B"],
    ["q.loraB"],
    ["norm.weight", "norm.bias", "head.bias"],
  ]);
  assert.deepEqual(groups.map((g) => [g.lr, g.weightDecay]), [[0.01, 0.1], [0.002, 0.1], [
    0.04,
    0.1,
  ], [0.04, 0]]);
  // The generator's groups (PEFT's rule written out in Python) agree.
  assert.deepEqual(namesOf(net, groups), F.groups.map((g: Json) => g.names));
  // Defaults: ratio 16, embeddingLr 1e-6, weightDecay 0; frozen tensors (the bases) in no group.
  const d = optim.loraPlusGroups(net, { lr: 0.5 });
  assert.deepEqual(d.map((g) => [g.lr, g.weightDecay]), [[0.5, 0], [1e-6, 0], [8, 0], [8, 0]]);
  const all = d.flatMap((g) => g.params);
  assert.equal(all.length, 8);
  assert.ok(!all.includes(net.emb.weight));
});

backendTest("AdamW over `loraPlusGroups()` matches torch over 3 steps", async () => {
  const net = model();
  const groups = optim.loraPlusGroups(net, {
    lr: F.lr,
    ratio: F.ratio,
    embeddingLr: F.embeddingLr,
    weightDecay: F.weightDecay,
  });
  const opt = new optim.AdamW(groups, { lr: F.lr, weightDecay: F.weightDecay });
  const x = tensor(F.onehot), y = tensor(F.target);
  const params = net.namedParameters();
  for (const want of F.steps as Json[]) {
    opt.zeroGrad();
    nn.mseLoss(net.forward(x), y).backward();
    opt.step();
    for (const [k, v] of Object.entries(want as Record<string, Json>)) {
      await assertClose(params.get(k)!, v, { atol: 1e-5, rtol: 1e-5 });
    }
  }
  await assertClose(params.get("emb.weight")!, F.init["emb.weight"], { atol: 0, rtol: 0 });
});

backendTest("`loraPlusGroups()` knows PEFT's lora_B and loraEmbedding spellings", () => {
  class Peft extends nn.Module {
    lora_A = nn.parameter(zeros([2, 3]));
    lora_B = nn.parameter(zeros([3, 2]));
    loraEmbeddingA = nn.parameter(zeros([2, 5]));
    loraBias = nn.parameter(zeros([2, 2])); // not a B matrix: no "loraB" segment
    forward(x: Tensor): Tensor {
      return x;
    }
  }
  const net = new Peft();
  const groups = optim.loraPlusGroups(net, { lr: 1 });
  assert.deepEqual(namesOf(net, groups), [
    ["lora_A", "loraBias"],
    ["loraEmbeddingA"],
    ["lora_B"],
    [],
  ]);
});

backendTest("`loraPlusGroups()` rejects bad input naming it", () => {
  const net = model();
  const plain = new nn.Sequential(new nn.Linear(2, 2));
  const frozen = lora.wrap(new nn.Sequential(new nn.Linear(2, 2)), ["0"], 1, 1);
  for (const p of frozen.parameters()) p.requiresGrad = false;
  const cases: [() => unknown, ErrorConstructor, RegExp][] = [
    [() => optim.loraPlusGroups({} as nn.Module, { lr: 1 }), TypeError, /nn\.Module/],
    [() => optim.loraPlusGroups(net, null as never), TypeError, /options must be an object/],
    [() => optim.loraPlusGroups(net, {} as never), TypeError, /lr must be a number/],
    [() => optim.loraPlusGroups(net, { lr: -1 }), RangeError, /lr must be in/],
    [() => optim.loraPlusGroups(net, { lr: 1, ratio: Infinity }), RangeError, /ratio/],
    [
      () => optim.loraPlusGroups(net, { lr: 1, embeddingLr: "1" } as never),
      TypeError,
      /embeddingLr/,
    ],
    [
      () => optim.loraPlusGroups(net, { lr: 1, loraplusLrRatio: 2 } as never),
      TypeError,
      /"loraplusLrRatio"/,
    ],
    [() => optim.loraPlusGroups(plain, { lr: 1 }), RangeError, /no trainable LoRA B matrix/],
    [() => optim.loraPlusGroups(frozen, { lr: 1 }), RangeError, /lora\.wrap/],
  ];
  for (const [f, kind, msg] of cases) {
    assert.throws(f, (e: Error) => e instanceof kind && msg.test(e.message), msg.source);
  }
});
