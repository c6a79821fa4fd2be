/**
 * Host side of the fused linear layer and the fused LoRA linear (three
 * dispatches into one encoder: the down projection, the base linear, then
 * the adapter product accumulated into the output), on `ops_matmul.ts`'s
 * products.
 *
 * @module
 */

import type { BufferHandle, FusedArgs, View } from "../backend.ts";
import type { GpuContext } from "./gpu_context.ts";
import { numel } from "../layout.ts";
import { checkBounds, checkCapacity, checkView, coalesce, gpuBuffer } from "./meta.ts";
import { type BiasOperand, NO_BATCH, type Operand, run } from "./ops_matmul.ts";

/** Validated operands of `x · wᵀ + bias`, ready for {@link run}. */
interface LinearPlan {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly x: Operand;
  readonly w: Operand;
  readonly bias: BiasOperand | null;
}

/** Checks x [..., K] (rows evenly spaced), w [N, K] and bias [N]. */
function planLinear(x: View, w: View, bias: View | null, what: string): LinearPlan {
  const xh = checkView(x, `${what} x`);
  const wh = checkView(w, `${what} w`, x.dtype);
  if (x.shape.length < 1 || w.shape.length !== 2) {
    throw new Error(`webgpu: ${what} needs x [..., K] and w [N, K]`);
  }
  const last = x.shape.length - 1;
  const k = x.shape[last];
  const [n, k2] = w.shape;
  if (k !== k2) throw new Error(`webgpu: ${what} K differs (${k} vs ${k2})`);
  const lead = coalesce(x.shape.slice(0, last), [x.strides.slice(0, last)]);
  if (lead.shape.length > 1) throw new Error(`webgpu: ${what} rows must be evenly spaced`);
  const m = numel(lead.shape);
  if (m * n > 0 && k > 0) {
    checkBounds(x, xh, `${what} x`);
    checkBounds(w, wh, `${what} w`);
  }
  let b = null;
  if (bias) {
    const bh = checkView(bias, `${what} bias`, x.dtype);
    if (bias.shape.length !== 1 || bias.shape[0] !== n) {
      throw new Error(`webgpu: ${what} bias must be [${n}], got [${bias.shape}]`);
    }
    if (m * n > 0) checkBounds(bias, bh, `${what} bias`);
    b = { handle: bh, offset: bias.offset, stride: bias.strides[0] };
  }
  return {
    m,
    n,
    k,
    x: { handle: xh, offset: x.offset, rs: lead.strides[0][0] ?? 0, cs: x.strides[last] },
    w: { handle: wh, offset: w.offset, rs: w.strides[1], cs: w.strides[0] },
    bias: b,
  };
}

/** `out = x · wᵀ + bias` for x [..., K] (rows evenly spaced), w [N, K]. */
export function linear(
  ctx: GpuContext,
  x: View,
  w: View,
  bias: View | null,
  out: BufferHandle,
): void {
  const p = planLinear(x, w, bias, "linear");
  const o = gpuBuffer(out);
  run(ctx, x.dtype, p, NO_BATCH, p.x, p.w, p.bias, o);
}

/**
 * The LoRA linear `out = x·Wᵀ + b + scaling·(x·Aᵀ)·Bᵀ`, also writing
 * `down = x·Aᵀ` [M, r]. Everything is checked before anything is recorded;
 * then three dispatches go into the pending encoder: the down projection
 * (the skinny kernel for r ≤ 16), the base linear with its bias, and the
 * accumulating matmul adding `(scaling·down)·Bᵀ` into `out` in place.
 */
export function loraLinear(
  ctx: GpuContext,
  ...[x, w, bias, a, bUp, scaling, out, down]: FusedArgs<"loraLinear">
): void {
  checkView(x, "loraLinear x", "float32");
  const base = planLinear(x, w, bias, "loraLinear");
  const dn = planLinear(x, a, null, "loraLinear down");
  const { m, n } = base, r = dn.n;
  const bh = checkView(bUp, "loraLinear B", "float32");
  if (bUp.shape.length !== 2 || bUp.shape[0] !== n || bUp.shape[1] !== r) {
    throw new Error(`webgpu: loraLinear B must be [${n}, ${r}], got [${bUp.shape}]`);
  }
  if (m * n > 0 && r > 0) checkBounds(bUp, bh, "loraLinear B");
  const o = gpuBuffer(out), d = gpuBuffer(down);
  if (o === d) throw new Error("webgpu: loraLinear out and down must be different buffers");
  checkCapacity(o, m * n, "loraLinear output");
  checkCapacity(d, m * r, "loraLinear down");
  for (const v of [x, w, a, bUp, ...(bias ? [bias] : [])]) {
    const h = gpuBuffer(v.buffer);
    if ((h === o && m * n > 0) || (h === d && m * r > 0)) {
      throw new Error("webgpu: loraLinear outputs must not alias its inputs");
    }
  }
  run(ctx, "float32", dn, NO_BATCH, dn.x, dn.w, null, d);
  run(ctx, "float32", base, NO_BATCH, base.x, base.w, base.bias, o);
  if (r === 0) return;
  run(
    ctx,
    "float32",
    { m, n, k: r },
    NO_BATCH,
    { handle: d, offset: 0, rs: r, cs: 1 },
    { handle: bh, offset: bUp.offset, rs: bUp.strides[1], cs: bUp.strides[0] },
    null,
    o,
    scaling,
  );
}
