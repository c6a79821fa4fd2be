/**
 * DoRA keeps ‖Wᵢ‖² of the frozen weight between steps (W does not change
 * while training). A write into W — an assign, a loaded state dict, a
 * merge and unmerge — bumps the weight's storage version, and the next
 * forward recomputes it: the output equals a freshly wrapped model's with
 * the same weights, never one computed from the old W.
 */
import { assertClose, lora, manualSeed, nn, noGrad, randn, type Tensor } from "../../mod.ts";
import { backendTest } from "../_backends.ts";

function doraModel(seed: number): nn.Sequential {
  manualSeed(seed);
  const m = new nn.Sequential(new nn.Linear(6, 5), new nn.Linear(5, 4));
  lora.wrap(m, ["0", "1"], 2, 4, { useDora: true, seed });
  // Non-zero B, so the adapter changes the output.
  noGrad(() => {
    for (const [k, p] of m.namedParameters()) if (k.endsWith("loraB")) p.assign(randn(p.shape));
  });
  return m;
}

/** A model with `m`'s current tensors, wrapped afresh (no cached norms). */
function copyOf(m: nn.Module): nn.Module {
  const fresh = doraModel(99);
  fresh.loadStateDict(m.stateDict());
  return fresh;
}

backendTest("DoRA's cached weight norms follow every write into W", async () => {
  const m = doraModel(1);
  const x = randn([3, 6]);
  const y0 = m.forward(x);
  await assertClose(y0, await copyOf(m).forward(x).toArray(), { atol: 1e-6, rtol: 1e-5 });
  // An assign into the frozen base weight.
  const w = m.stateDict()["0.base.weight"] as Tensor;
  noGrad(() => w.assign(w.mul(1.5)));
  const y1 = m.forward(x);
  await assertClose(y1, await copyOf(m).forward(x).toArray(), { atol: 1e-6, rtol: 1e-5 });
  // A state dict loaded over the whole model.
  const other = doraModel(2);
  m.loadStateDict(other.stateDict());
  await assertClose(m.forward(x), await other.forward(x).toArray(), { atol: 1e-6, rtol: 1e-5 });
  // Merge and unmerge rewrite W (to within rounding): still consistent.
  lora.merge(m);
  lora.unmerge(m);
  await assertClose(m.forward(x), await copyOf(m).forward(x).toArray(), { atol: 1e-6, rtol: 1e-5 });
});
