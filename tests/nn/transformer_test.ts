/**
 * The transformer layers of `nn` against PyTorch 1.13 references that follow
 * transformers' modeling code (`tests/fixtures/gen_transformer.py`): RMS
 * norm, SiLU, the tanh GELU, rotary embeddings with default and llama3
 * frequencies, and scaled dot-product attention (grouped-query heads, a
 * causal rule with an offset, float and 0/1 masks, a sequence longer than
 * the CPU kernel's 64-row block), values and gradients on every backend.
 */
import assert from "node:assert/strict";
import { assertClose, nn, type Tensor, tensor } from "../../mod.ts";
import { backendTest } from "../_backends.ts";
import type { Json } from "./_fixture.ts";

const C: Json = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/torch_transformer.json", import.meta.url)),
).cases;
const TOL = { atol: 1e-5, rtol: 1e-4 };
const GTOL = { atol: 1e-4, rtol: 1e-3 };

const t = (a: Json, grad = false): Tensor => {
  const x = tensor(a);
  x.requiresGrad = grad;
  return x;
};

for (const name of ["rms_last", "rms_two"]) {
  backendTest(`\`rmsNorm\` and \`RMSNorm\` match LlamaRMSNorm (${name})`, async () => {
    const c = C[name];
    const x = t(c.x, true), w = t(c.w, true);
    const y = nn.rmsNorm(x, c.shape, w, c.eps);
    await assertClose(y, c.y, TOL);
    y.backward(t(c.g));
    await assertClose(x.grad!, c.dx, GTOL);
    await assertClose(w.grad!, c.dw, GTOL);
    const layer = new nn.RMSNorm(c.shape, { eps: c.eps });
    layer.loadStateDict({ weight: t(c.w) });
    await assertClose(layer.forward(t(c.x)), c.y, TOL);
  });
}

for (
  const [name, fn, layer] of [
    ["silu", nn.silu, () => new nn.SiLU()],
    ["gelu_tanh", nn.geluTanh, () => new nn.GELU({ approximate: "tanh" })],
  ] as const
) {
  backendTest(`\`${fn.name}\` matches torch, values and gradient`, async () => {
    const c = C[name];
    const x = t(c.x, true);
    const y = fn(x);
    await assertClose(y, c.y, TOL);
    y.backward(t(c.g));
    await assertClose(x.grad!, c.dx, GTOL);
    await assertClose(layer().forward(t(c.x)), c.y, TOL);
  });
}

for (const name of ["rope_default", "rope_llama3"]) {
  backendTest(`rotary embeddings match apply_rotary_pos_emb (${name})`, async () => {
    const c = C[name];
    const rope = new nn.RotaryEmbedding(c.d, { theta: c.theta, scaling: c.scaling });
    await assertClose(Array.from(rope.inverseFrequencies), c.inv, { atol: 0, rtol: 1e-6 });
    const { cos, sin } = rope.cosSin(c.start, 5);
    await assertClose(cos, c.cos, { atol: 2e-6, rtol: 1e-5 });
    await assertClose(sin, c.sin, { atol: 2e-6, rtol: 1e-5 });
    const x = t(c.x, true);
    const y = nn.applyRotaryEmbedding(x, cos, sin);
    await assertClose(y, c.y, TOL);
    y.backward(t(c.g));
    await assertClose(x.grad!, c.dx, GTOL);
  });
}

for (const name of ["attn_gqa_causal_long", "attn_offset_float_mask", "attn_bool_mask"]) {
  backendTest(`\`scaledDotProductAttention\` matches eager attention (${name})`, async () => {
    const c = C[name];
    const q = t(c.q, true), k = t(c.k, true), v = t(c.v, true);
    const opts: nn.AttentionOptions = {};
    if (c.causal_offset !== null) {
      opts.isCausal = true;
      opts.causalOffset = c.causal_offset;
    }
    if (c.scale !== null) opts.scale = c.scale;
    if (c.mask_kind === "bool") opts.mask = tensor(c.mask, { dtype: "int32" });
    if (c.mask_kind === "float") {
      // null marks a hidden key (−∞) in the fixture.
      opts.mask = tensor(c.mask.map((r: (number | null)[]) => r.map((v) => v ?? -Infinity)));
    }
    const y = nn.scaledDotProductAttention(q, k, v, opts);
    assert.deepEqual(y.shape, [q.shape[0], q.shape[1], q.shape[2], v.shape[3]]);
    await assertClose(y, c.y, { atol: 1e-5, rtol: 1e-4 });
    y.backward(t(c.g));
    await assertClose(q.grad!, c.dq, GTOL);
    await assertClose(k.grad!, c.dk, GTOL);
    await assertClose(v.grad!, c.dv, GTOL);
  });
}
