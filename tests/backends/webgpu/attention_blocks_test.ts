/**
 * The blocked WebGPU attention (a workgroup per 64 query or key rows, keys
 * or query rows staged in tiles of workgroup memory) against the CPU's
 * fused attention, which the torch fixtures hold: shapes whose rows and
 * keys are not multiples of the block or the tile, several blocks per head,
 * causal limits that end inside and between blocks (offsets of both signs),
 * an additive mask with hidden keys, grouped-query heads and head dims up
 * to 256 (the smallest tiles). Values and the gradients of q, k and v.
 * Also: rows that see no key (NaN, as the composed product gives it) and
 * the refusal of an attention that would pass the adapter's loop limit
 * (Mesa's llvmpipe silently ends an invocation's loops after 65,535
 * iterations: the D256 case used to lose every key past that point).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  assertClose,
  manualSeed,
  nn,
  randn,
  registerBackend,
  type Tensor,
  tensor,
} from "../../../mod.ts";
import { initBackend } from "../../../backends/mod.ts";
import { createWebGpuBackend } from "../../../backends/webgpu/mod.ts";
import { backend, gpuTest } from "./helpers.ts";

interface Case {
  B: number;
  H: number;
  Hkv: number;
  T: number;
  S: number;
  D: number;
  Dv: number;
  causal?: number;
  mask?: boolean;
}

const CASES: Case[] = [
  { B: 1, H: 2, Hkv: 2, T: 1, S: 1, D: 8, Dv: 8 },
  { B: 2, H: 4, Hkv: 2, T: 70, S: 70, D: 16, Dv: 16, causal: 0 },
  { B: 1, H: 3, Hkv: 1, T: 130, S: 97, D: 8, Dv: 12, mask: true },
  { B: 1, H: 2, Hkv: 1, T: 65, S: 200, D: 32, Dv: 32, causal: 135 },
  { B: 1, H: 2, Hkv: 2, T: 150, S: 40, D: 64, Dv: 64, causal: -70 },
  { B: 1, H: 1, Hkv: 1, T: 66, S: 129, D: 256, Dv: 256, causal: 63, mask: true },
  { B: 2, H: 2, Hkv: 1, T: 5, S: 0, D: 8, Dv: 8 },
];

/** The host data of one case (same seed on both backends). */
function caseData(c: Case) {
  manualSeed(1234);
  const data = (t: Tensor) => t.dataSync() as Float32Array;
  const q = data(randn([c.B, c.H, c.T, c.D]));
  const k = data(randn([c.B, c.Hkv, c.S, c.D]));
  const v = data(randn([c.B, c.Hkv, c.S, c.Dv]));
  const g = data(randn([c.B, c.H, c.T, c.Dv]));
  const mask = new Float32Array(c.T * c.S);
  if (c.mask) {
    for (let i = 0; i < mask.length; i++) mask[i] = i % 7 === 3 ? -Infinity : ((i * 37) % 11) / 10;
  }
  return { q, k, v, g, mask };
}

async function run(c: Case, be: string, d: ReturnType<typeof caseData>) {
  const opts = { backend: be, requiresGrad: true };
  const q = tensor(d.q, { ...opts, shape: [c.B, c.H, c.T, c.D] });
  const k = tensor(d.k, { ...opts, shape: [c.B, c.Hkv, c.S, c.D] });
  const v = tensor(d.v, { ...opts, shape: [c.B, c.Hkv, c.S, c.Dv] });
  const g = tensor(d.g, { backend: be, shape: [c.B, c.H, c.T, c.Dv] });
  const mask = c.mask ? tensor(d.mask, { backend: be, shape: [c.T, c.S] }) : undefined;
  const y = nn.scaledDotProductAttention(q, k, v, {
    isCausal: c.causal !== undefined,
    causalOffset: c.causal,
    mask,
  });
  y.mul(g).sum().backward();
  const out = {
    y: await y.data(),
    dq: await q.grad!.data(),
    dk: await k.grad!.data(),
    dv: await v.grad!.data(),
  };
  for (const t of [q, k, v, g, y, ...(mask ? [mask] : [])]) t.dispose();
  return out;
}

for (const c of CASES) {
  const name = `B${c.B} H${c.H}/${c.Hkv} T${c.T} S${c.S} D${c.D}/${c.Dv}` +
    (c.causal !== undefined ? ` causal ${c.causal}` : "") + (c.mask ? " mask" : "");
  gpuTest(`blocked attention equals the CPU's, values and gradients: ${name}`, async () => {
    if (!backend) return;
    const d = caseData(c);
    const want = await run(c, "cpu", d);
    const got = await run(c, "webgpu", d);
    for (const key of ["y", "dq", "dk", "dv"] as const) {
      await assertClose(got[key], want[key], { atol: 2e-5, rtol: 2e-4 });
    }
  });
}

Deno.test("fused attention's gradients equal the composed product's where rows see no key", async () => {
  // A negative causal offset leaves the first rows with no visible key: the
  // softmax of a row of −∞ is NaN, and its NaN probabilities reach dq of
  // that row and dk, dv of every key. A mask that needs a gradient takes the
  // composed path (matmul, softmax, matmul), the reference here.
  const c = { B: 1, H: 2, Hkv: 1, T: 80, S: 30, D: 8, Dv: 8 };
  const d = caseData({ ...c, mask: false });
  const grads = async (composed: boolean) => {
    const opts = { requiresGrad: true };
    const q = tensor(d.q, { ...opts, shape: [c.B, c.H, c.T, c.D] });
    const k = tensor(d.k, { ...opts, shape: [c.B, c.Hkv, c.S, c.D] });
    const v = tensor(d.v, { ...opts, shape: [c.B, c.Hkv, c.S, c.Dv] });
    const mask = composed
      ? tensor(new Float32Array(c.T * c.S), { ...opts, shape: [c.T, c.S] })
      : undefined;
    const y = nn.scaledDotProductAttention(q, k, v, { isCausal: true, causalOffset: -5, mask });
    y.mul(tensor(d.g, { shape: [c.B, c.H, c.T, c.Dv] })).sum().backward();
    return [await y.data(), await q.grad!.data(), await k.grad!.data(), await v.grad!.data()];
  };
  const [fused, composed] = [await grads(false), await grads(true)];
  for (let i = 0; i < 4; i++) await assertClose(fused[i], composed[i], { atol: 1e-5, rtol: 1e-4 });
  assert.ok(Number.isNaN(fused[2][0]) && Number.isNaN(fused[3][c.S * c.Dv - 1]));
});

gpuTest(
  "attention refuses, naming the limit, what would pass the adapter's loop limit",
  async () => {
    const be = await createWebGpuBackend({ name: "webgpu-looplimit" });
    be.ctx.loopIterationLimit = 3000;
    registerBackend("webgpu-looplimit", () => Promise.resolve(be));
    await initBackend("webgpu-looplimit");
    const where = { backend: "webgpu-looplimit" };
    const q = randn([1, 1, 4, 64], where);
    const short = randn([1, 1, 16, 64], where), long = randn([1, 1, 400, 64], where);
    const y = nn.scaledDotProductAttention(q, short, short);
    assert.equal((await y.data()).length, 4 * 64);
    assert.throws(
      () => nn.scaledDotProductAttention(q, long, long),
      (e: Error) => e instanceof RangeError && /400 keys/.test(e.message) && /3000/.test(e.message),
    );
    for (const t of [q, short, long, y]) t.dispose();
  },
);
