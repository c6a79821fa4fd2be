/**
 * `Module`: discovery of children and parameters, modes, state dicts.
 */
import assert from "node:assert/strict";
import { assertClose, type Tensor, zeros } from "../../mod.ts";
import * as nn from "../../nn/mod.ts";
import { backendTest } from "../_backends.ts";

class Block extends nn.Module {
  q_proj = new nn.Linear(4, 4);
  norm = new nn.LayerNorm(4);
  override forward(x: Tensor): Tensor {
    return this.norm.forward(this.q_proj.forward(x));
  }
}

class Net extends nn.Module {
  embed = new nn.Embedding(10, 4);
  layers = [new Block(), new Block()];
  drop = new nn.Dropout(0.1);
  head = new nn.Linear(4, 3, { bias: false });
  _cache: Tensor | null = null;
  override forward(ids: Tensor): Tensor {
    let h = this.embed.forward(ids);
    for (const b of this.layers) h = b.forward(h);
    return this.head.forward(this.drop.forward(h));
  }
}

backendTest("`namedParameters()` lists dotted names in declaration order", () => {
  const net = new Net();
  assert.deepEqual([...net.namedParameters().keys()], [
    "embed.weight",
    "layers.0.q_proj.weight",
    "layers.0.q_proj.bias",
    "layers.0.norm.weight",
    "layers.0.norm.bias",
    "layers.1.q_proj.weight",
    "layers.1.q_proj.bias",
    "layers.1.norm.weight",
    "layers.1.norm.bias",
    "head.weight",
  ]);
  assert.equal(net.parameters().length, 10);
  assert.ok(net.parameters().every((p) => p.requiresGrad));
});

backendTest('`namedModules()` includes the root as "" in pre-order', () => {
  const net = new Net();
  assert.deepEqual([...net.namedModules().keys()], [
    "",
    "embed",
    "layers.0",
    "layers.0.q_proj",
    "layers.0.norm",
    "layers.1",
    "layers.1.q_proj",
    "layers.1.norm",
    "drop",
    "head",
  ]);
  assert.equal(net.namedModules().get(""), net);
});

backendTest("`Sequential` names its children 0, 1, … as PyTorch", () => {
  const seq = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU(), new nn.Linear(3, 1));
  assert.deepEqual([...seq.namedParameters().keys()], ["0.weight", "0.bias", "2.weight", "2.bias"]);
  assert.equal(seq.length, 3);
  assert.throws(() => new nn.Sequential({} as nn.Module), TypeError);
});

backendTest("a shared parameter is listed once", () => {
  class Tied extends nn.Module {
    a = new nn.Linear(3, 3);
    b = this.a;
    forward(x: Tensor): Tensor {
      return this.b.forward(this.a.forward(x));
    }
  }
  const t = new Tied();
  assert.deepEqual([...t.namedParameters().keys()], ["a.weight", "a.bias"]);
});

backendTest("`train()` and `eval()` set `training` on every module", () => {
  const net = new Net();
  assert.equal(net.training, true);
  net.eval();
  assert.ok([...net.namedModules().values()].every((m) => !m.training));
  net.train();
  assert.ok([...net.namedModules().values()].every((m) => m.training));
});

backendTest("`setModule()` replaces a child by dotted name, arrays included", () => {
  const net = new Net();
  const lin = new nn.Linear(4, 4);
  net.setModule("layers.1.q_proj", lin);
  assert.equal(net.layers[1].q_proj, lin);
  const blk = new Block();
  net.setModule("layers.0", blk);
  assert.equal(net.layers[0], blk);
  assert.throws(() => net.setModule("layers.5.q_proj", lin), /layers\.5\.q_proj/);
  assert.throws(() => net.setModule("nope", lin), /"nope"/);
  assert.equal(net.getModule("layers.1.q_proj"), lin);
});

backendTest("`stateDict()` → `loadStateDict()` round-trips values", async () => {
  const a = new Net(), b = new Net();
  const sd = a.stateDict();
  assert.deepEqual(Object.keys(sd), [...a.namedParameters().keys()]);
  b.loadStateDict(sd);
  for (const [k, p] of b.namedParameters()) await assertClose(p, sd[k], { atol: 0, rtol: 0 });
  assert.notEqual(b.stateDict()["head.weight"], sd["head.weight"]); // copied, not shared
});

async function snapshot(m: nn.Module): Promise<Float32Array[]> {
  return await Promise.all(m.parameters().map(async (p) => (await p.data()) as Float32Array));
}

backendTest(
  "`loadStateDict()` with an unknown key throws naming it and loads nothing",
  async () => {
    const a = new Net(), b = new Net();
    const before = await snapshot(b);
    const sd = { ...a.stateDict(), "head.bias": zeros([3]) };
    assert.throws(() => b.loadStateDict(sd), /unknown key.*"head\.bias"/);
    assert.deepEqual(await snapshot(b), before);
  },
);

backendTest("`loadStateDict()` with a missing key throws naming it and loads nothing", async () => {
  const a = new Net(), b = new Net();
  const before = await snapshot(b);
  const sd = a.stateDict();
  delete sd["layers.1.norm.bias"];
  assert.throws(() => b.loadStateDict(sd), /missing key.*"layers\.1\.norm\.bias"/);
  assert.deepEqual(await snapshot(b), before);
});

backendTest(
  "`loadStateDict()` with a wrong shape throws naming key and shapes, loads nothing",
  async () => {
    const a = new Net(), b = new Net();
    const before = await snapshot(b);
    const sd = { ...a.stateDict(), "layers.0.q_proj.weight": zeros([4, 5]) };
    assert.throws(
      () => b.loadStateDict(sd),
      (e: Error) =>
        e instanceof RangeError && e.message.includes('"layers.0.q_proj.weight"') &&
        e.message.includes("[4,5]") && e.message.includes("[4,4]"),
    );
    assert.deepEqual(await snapshot(b), before);
  },
);

backendTest("`zeroGrad()` sets gradients to null", () => {
  const lin = new nn.Linear(2, 2);
  lin.forward(zeros([1, 2])).sum().backward();
  assert.ok(lin.weight.grad !== null);
  lin.zeroGrad();
  assert.equal(lin.weight.grad, null);
  assert.equal(lin.bias!.grad, null);
});
