/**
 * Host side of the elementwise kernels: validation, dimension coalescing,
 * parameter packing and dispatch of unary, binary, where, cast, copy and
 * the fused Adam update.
 *
 * @module
 */

import type {
  BinaryOp,
  BufferHandle,
  DeferredCheck,
  DType,
  FusedArgs,
  UnaryOp,
  View,
} from "../backend.ts";
import type { GpuBuffer } from "./buffer_pool.ts";
import type { GpuContext } from "./gpu_context.ts";
import type { Binding, Kernel } from "./kernel.ts";
import { numel } from "../layout.ts";
import { ERROR_BYTES } from "./device_errors.ts";
import { grid2d, windowOf, WORKGROUP_SIZE } from "./limits.ts";
import {
  checkBounds,
  checkCapacity,
  checkView,
  coalesce,
  gpuBuffer,
  Meta,
  sameShape,
} from "./meta.ts";
import {
  ADAM_SCALARS,
  adamSource,
  binarySource,
  castSource,
  copySource,
  finiteCheckSource,
  unarySource,
  whereSource,
} from "./wgsl_elementwise.ts";

/** Binding of a whole handle. */
function bind(h: GpuBuffer) {
  return { gpu: h.gpu, bytes: h.bytes };
}

/** Grid of a 1-D kernel over `n` invocations. */
export function grid1d(ctx: GpuContext, n: number): [number, number, number] {
  const [x, y] = grid2d(Math.ceil(n / WORKGROUP_SIZE), ctx.maxGroupsPerDim);
  return [x, y, 1];
}

/**
 * Dispatches an elementwise kernel over `shape` reading `views` (in the
 * order the kernel names them) and writing contiguous `out`, or strided
 * `outView` when given (copy).
 */
function runStrided(
  ctx: GpuContext,
  kernelFor: (rank: number) => Kernel,
  shape: readonly number[],
  views: readonly View[],
  out: GpuBuffer,
  outView?: View,
  extra: readonly Binding[] = [],
): void {
  const n = numel(shape);
  if (n === 0) return;
  const all = outView ? [...views, outView] : views;
  const handles = all.map((v, i) => {
    const h = checkView(v, `operand ${i}`);
    sameShape(v.shape, shape, "elementwise operands");
    checkBounds(v, h, `operand ${i}`);
    return h;
  });
  if (!outView) checkCapacity(out, n, "output");
  const c = coalesce(shape, all.map((v) => v.strides));
  const kernel = kernelFor(c.shape.length);
  if ([...handles, out].every((h) => h.bytes <= ctx.maxBindingBytes)) {
    const meta = new Meta().u32(n).strided(
      c.shape,
      all.map((v, i) => ({ offset: v.offset, strides: c.strides[i] })),
    );
    const binds = handles.map(bind);
    if (!outView) binds.push(bind(out));
    binds.push(...extra);
    ctx.dispatch(kernel, meta.finish(), binds, grid1d(ctx, n));
    return;
  }
  // A tensor over one binding: runs of whole outer rows, each operand bound
  // as the window those rows cover (a contiguous output's window starts
  // exactly at its first element, so the kernel's out[idx] needs no offset).
  const align = ctx.offsetAlignElements;
  const limit = Math.floor(ctx.maxBindingBytes / 4) - align;
  const [outer, ...rest] = c.shape;
  const inner = n / outer;
  const innerSpan = c.strides.map((st) => rest.reduce((acc, e, d) => acc + (e - 1) * st[d + 1], 1));
  const fits = (rows: number) =>
    c.strides.every((st, i) => (rows - 1) * st[0] + innerSpan[i] <= limit) &&
    (outView !== undefined || rows * inner <= limit);
  const step = outView ? 1 : align / gcd(inner, align);
  let rows = Math.floor(outer / step) * step || step;
  while (rows > step && !fits(rows)) rows = Math.max(step, Math.floor(rows / 2 / step) * step);
  if (c.strides.some((st) => st.some((x) => x < 0)) || !fits(rows)) {
    throw new RangeError(
      `webgpu: an elementwise kernel over [${shape}] cannot be split into bindings of ` +
        `${ctx.maxBindingBytes} bytes`,
    );
  }
  for (let r0 = 0; r0 < outer; r0 += rows) {
    const rc = Math.min(rows, outer - r0);
    const binds: Binding[] = [];
    const operands = all.map((v, i) => {
      const first = v.offset + r0 * c.strides[i][0];
      const w = windowOf(first, first + (rc - 1) * c.strides[i][0] + innerSpan[i], align);
      binds.push({ gpu: handles[i].gpu, bytes: w.bytes, offset: w.offset });
      return { offset: first - w.base, strides: c.strides[i] };
    });
    if (!outView) {
      const w = windowOf(r0 * inner, (r0 + rc) * inner, align);
      binds.push({ gpu: out.gpu, bytes: w.bytes, offset: w.offset });
    }
    binds.push(...extra);
    const meta = new Meta().u32(rc * inner).strided([rc, ...rest], operands);
    ctx.dispatch(kernel, meta.finish(), binds, grid1d(ctx, rc * inner));
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** `out = op(x)`. */
export function unary(ctx: GpuContext, op: UnaryOp, x: View, out: BufferHandle): void {
  runStrided(
    ctx,
    (r) => ctx.kernel(`unary:${op}:${x.dtype}:${r}`, () => unarySource(op, x.dtype, r)),
    x.shape,
    [x],
    gpuBuffer(out),
  );
}

/** `out = op(a, b)`. */
export function binary(ctx: GpuContext, op: BinaryOp, a: View, b: View, out: BufferHandle): void {
  if (a.dtype !== b.dtype) throw new Error(`webgpu: binary ${op} of ${a.dtype} and ${b.dtype}`);
  runStrided(
    ctx,
    (r) => ctx.kernel(`binary:${op}:${a.dtype}:${r}`, () => binarySource(op, a.dtype, r)),
    a.shape,
    [a, b],
    gpuBuffer(out),
  );
}

/** `out = cond != 0 ? a : b`. */
export function where(ctx: GpuContext, cond: View, a: View, b: View, out: BufferHandle): void {
  if (a.dtype !== b.dtype) throw new Error(`webgpu: where of ${a.dtype} and ${b.dtype}`);
  runStrided(
    ctx,
    (r) =>
      ctx.kernel(
        `where:${cond.dtype}:${a.dtype}:${r}`,
        () => whereSource(cond.dtype, a.dtype, r),
      ),
    cond.shape,
    [cond, a, b],
    gpuBuffer(out),
  );
}

/** `out = dtype(x)`. */
export function cast(ctx: GpuContext, x: View, dtype: DType, out: BufferHandle): void {
  runStrided(
    ctx,
    (r) => ctx.kernel(`cast:${x.dtype}:${dtype}:${r}`, () => castSource(x.dtype, dtype, r)),
    x.shape,
    [x],
    gpuBuffer(out),
  );
}

/**
 * Strided copy `out[...] = x[...]`; a `guarded` copy writes nothing once a
 * transaction's check has failed (see `checkedAssign`).
 */
export function copy(ctx: GpuContext, x: View, out: View, guarded = false): void {
  runStrided(
    ctx,
    (r) =>
      ctx.kernel(
        `copy:${x.dtype}:${out.dtype}:${r}:${guarded}`,
        () => copySource(x.dtype, out.dtype, r, guarded),
      ),
    x.shape,
    [x],
    gpuBuffer(out.buffer),
    out,
    guarded ? [{ gpu: ctx.errors.buffer, bytes: ERROR_BYTES }] : [],
  );
}

/**
 * Writes `src[i]` into `dst[i]` for every pair, all or none: each source is
 * checked on the device first, and when one holds a non-finite value no
 * pair is written and the next read or sync throws `check.error(i)` for the
 * first such pair, after `check.onFail()`.
 */
export function checkedAssign(
  ctx: GpuContext,
  pairs: readonly (readonly [View, View])[],
  check: DeferredCheck,
): void {
  const onFail = () => check.onFail();
  pairs.forEach(([src], i) => {
    const n = numel(src.shape);
    if (n === 0) return;
    const h = checkView(src, "checkedAssign source", "float32");
    checkBounds(src, h, "checkedAssign source");
    const site = ctx.errors.site(null, () => ({
      op: check.op,
      error: () => check.error(i),
      onFail,
      txn: true,
    }));
    const c = coalesce(src.shape, [src.strides]);
    const meta = new Meta().u32(n, site).strided(c.shape, [{
      offset: src.offset,
      strides: c.strides[0],
    }]);
    const rank = c.shape.length;
    ctx.dispatch(
      ctx.kernel(`finiteCheck:${rank}`, () => finiteCheckSource(rank)),
      meta.finish(),
      [bind(h), { gpu: ctx.errors.buffer, bytes: ERROR_BYTES }],
      grid1d(ctx, n),
    );
  });
  for (const [src, dst] of pairs) copy(ctx, src, dst, true);
}

/** In-place Adam/AdamW on contiguous param, m, v and a strided grad. */
export function adam(
  ctx: GpuContext,
  ...[param, grad, m, v, size, args]: FusedArgs<"adam">
): void {
  if (size === 0) return;
  const [p, mb, vb] = [param, m, v].map(gpuBuffer);
  const g = checkView(grad, "adam grad", "float32");
  if (numel(grad.shape) !== size) {
    throw new Error(`webgpu: adam grad has ${numel(grad.shape)} elements, expected ${size}`);
  }
  checkBounds(grad, g, "adam grad");
  for (const [h, what] of [[p, "param"], [mb, "m"], [vb, "v"]] as const) {
    checkCapacity(h, size, `adam ${what}`);
  }
  const c = coalesce(grad.shape, [grad.strides]);
  const meta = new Meta().u32(size).f32(
    args.beta1,
    args.beta2,
    args.eps,
    args.weightDecay,
    1 - args.lr * args.decoupledDecay,
    args.lr / args.bias1,
    Math.sqrt(args.bias2),
  );
  if (meta.length !== ADAM_SCALARS) throw new Error("webgpu: adam parameter layout");
  meta.strided(c.shape, [{ offset: grad.offset, strides: c.strides[0] }]);
  const r = c.shape.length;
  const kernel = ctx.kernel(`adam:${r}`, () => adamSource(r));
  ctx.dispatch(kernel, meta.finish(), [bind(p), bind(g), bind(mb), bind(vb)], grid1d(ctx, size));
}
