/**
 * `lora.routed` (PEFT's `adapter_names=`) and modules-to-save copies that
 * switch with their adapter: each routed row equals that adapter's own
 * output, and the refusals PEFT makes.
 */
import assert from "node:assert/strict";
import { assertClose, randn, scope, type Tensor } from "../../mod.ts";
import * as nn from "../../nn/mod.ts";
import * as lora from "../../lora/mod.ts";
import { backendTest } from "../_backends.ts";
import { perturbB, TinyNet } from "./_model.ts";

/** TinyNet with adapters "a" (default name), "b" and "c", heads copied for "a" and "b". */
function model(): TinyNet {
  const net = lora.wrap(new TinyNet(), ["q_proj", "v_proj"], 2, 4, {
    adapterName: "a",
    modulesToSave: ["lm_head"],
    seed: 1,
  });
  lora.addAdapter(net, "b", { targets: ["q_proj"], rank: 3, alpha: 3, modulesToSave: ["lm_head"] });
  lora.addAdapter(net, "c", { targets: ["v_proj"], rank: 2, alpha: 8 });
  perturbB(net, 3);
  for (const [k, p] of net.namedParameters()) {
    if (k.startsWith("lm_head.modulesToSave")) p.assign(randn([...p.shape]));
  }
  return net.eval() as TinyNet;
}

async function own(net: TinyNet, name: string, x: Tensor): Promise<Float32Array> {
  if (name === "__base__") {
    using _off = lora.disabled(net);
    return (await net.forward(x).data()) as Float32Array;
  }
  lora.setAdapter(net, name);
  return (await net.forward(x).data()) as Float32Array;
}

backendTest("each routed row equals its adapter's own output (heads included)", async () => {
  const net = model();
  const names = ["b", "a", "__base__", "c", "a"];
  const x = randn([5, 6]);
  let routed: Float32Array;
  {
    using _r = lora.routed(net, names);
    routed = (await net.forward(x).data()) as Float32Array;
  }
  const want: number[] = [];
  for (let i = 0; i < names.length; i++) {
    const row = await own(net, names[i], x);
    want.push(...row.slice(i * 4, i * 4 + 4));
  }
  await assertClose(routed, want, { atol: 1e-5, rtol: 1e-5 });
  assert.notDeepEqual(Array.from(routed.slice(0, 4)), Array.from(routed.slice(4, 8)));
});

backendTest("routing works on a leading batch dim of 3-D inputs and a single group", async () => {
  const net = model();
  const x = randn([2, 3, 6]);
  lora.setAdapter(net, "b");
  const want = await net.forward(x).data();
  lora.setAdapter(net, "a");
  using _r = lora.routed(net, ["b", "b"]);
  await assertClose(net.forward(x), want, { atol: 1e-5, rtol: 1e-5 });
});

backendTest("routing is refused in training mode, when merged, for DoRA and unknown names", () => {
  const net = model();
  assert.throws(() => lora.routed(net, ["a", "zz"]), /no adapter named "zz"/);
  assert.throws(() => lora.routed(net, []), TypeError);
  net.train();
  assert.throws(() => lora.routed(net, ["a"]), /training mode/);
  net.eval();
  lora.merge(net);
  assert.throws(() => lora.routed(net, ["a"]), /merged/);
  lora.unmerge(net);
  lora.addAdapter(net, "d", { targets: ["q_proj"], rank: 2, alpha: 2, useDora: true });
  assert.throws(() => lora.routed(net, ["a", "d"]), /DoRA/);
  using _r = lora.routed(net, ["a", "b"]);
  assert.throws(() => net.forward(randn([3, 6])), /2 adapter names/);
});

backendTest(
  "modules-to-save copies switch and train with their adapter; the original stays frozen",
  () => {
    const net = model().train() as TinyNet;
    const head = net.lm_head as unknown as lora.ModulesToSaveWrapper;
    assert.equal(head.activeAdapter, "a");
    lora.setAdapter(net, "b");
    assert.equal(head.activeAdapter, "b");
    scope(() => net.forward(randn([2, 6])).sum().backward());
    const grads = (name: string) => head.copy(name)!.parameters().map((p) => p.grad !== null);
    assert.deepEqual(grads("b"), [true, true]);
    assert.deepEqual(grads("a"), [false, false]);
    assert.ok(head.originalModule.parameters().every((p) => !p.requiresGrad && p.grad === null));
    lora.setAdapter(net, "c"); // "c" has no copy: the original computes
    assert.equal(head.activeAdapter, null);
    assert.throws(() => lora.setAdapter(net, ["a", "b"]), /modules-to-save copy/);
  },
);

backendTest("unwrap keeps the active adapter's head copy in the original module", async () => {
  const net = model();
  lora.setAdapter(net, "b");
  const x = randn([3, 6]);
  const want = await net.forward(x).data();
  lora.unwrap(net);
  assert.ok(net.lm_head instanceof nn.Linear);
  await assertClose(net.forward(x), want, { atol: 1e-5, rtol: 1e-5 });
  assert.ok(net.parameters().every((p) => p.requiresGrad));
});
