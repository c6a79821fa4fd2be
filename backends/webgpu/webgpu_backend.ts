/**
 * The WebGPU backend.
 *
 * Contract: implements {@link Backend} (see `backends/backend.ts`) on a
 * WebGPU device with WGSL compute kernels.
 * - Compute calls validate their views, then only *record* a dispatch into
 *   the pending command encoder; work is submitted when a value is read
 *   (`read`), on `sync`, or every few dozen dispatches, so a training step
 *   never waits on the GPU unless it reads a value.
 * - Program order is kept: a `write` into a buffer that pending commands
 *   use is recorded as a copy after them (or submits them first if large); `free` returns storage to a size-bucketed pool
 *   whose reuse comes later in the same queue.
 * - Errors are never swallowed: `createWebGpuBackend` rejects when there is
 *   no adapter (it never falls back to another backend), validation and
 *   out-of-memory errors are thrown by the next call, and a lost device
 *   makes every later call (and any read in flight) throw.
 * - Numerics: float32 and int32; comparisons give 1/0 in the input dtype;
 *   float → int conversions truncate toward zero and map NaN to 0.
 *
 * @module
 */

import type {
  Backend,
  BinaryOp,
  BufferHandle,
  DeferredCheck,
  DType,
  FusedOps,
  ReduceOp,
  TypedArray,
  UnaryOp,
  View,
} from "../backend.ts";
import { GpuBuffer } from "./buffer_pool.ts";
import { GpuContext } from "./gpu_context.ts";
import { gpuBuffer } from "./meta.ts";
import { adam, binary, cast, checkedAssign, copy, unary, where } from "./ops_elementwise.ts";
import { gather, scatterAdd } from "./ops_index.ts";
import { linear, loraLinear } from "./ops_linear.ts";
import { matmul } from "./ops_matmul.ts";
import { crossEntropy, reduce, softmax } from "./ops_reduce.ts";
import { attention, attentionBackward } from "./ops_attention.ts";
import { tuneMatmul, type TuneOptions, type TuneResult } from "./matmul_tune.ts";

/** Hint printed when no adapter is found. */
export const NO_ADAPTER_HINT: string = "webgpu: no WebGPU adapter is available " +
  "(navigator.gpu is missing or requestAdapter() returned null). On Linux " +
  "without a GPU, install Mesa's software Vulkan driver (lavapipe) with " +
  "`apt-get install -y mesa-vulkan-drivers`; Deno picks the backend with " +
  'DENO_WEBGPU_BACKEND=vulkan|gl. Choose another backend (e.g. "cpu") ' +
  "explicitly if WebGPU is not wanted.";

/** Options of {@link createWebGpuBackend}. */
export interface WebGpuOptions {
  /** The WebGPU entry point; defaults to `navigator.gpu` (tests stub it). */
  gpu?: Pick<GPU, "requestAdapter"> | null;
  /** Adapter power preference. */
  powerPreference?: GPUPowerPreference;
  /** The name tensors report as `t.backend` (default `"webgpu"`). */
  name?: string;
  /**
   * Time the matmul kernel shapes on this adapter before returning (see
   * {@link WebGpuBackend.tuneMatmul}), so the first products already use
   * the winners. Default: true on a hardware adapter (tens of milliseconds),
   * false on a software one (llvmpipe, SwiftShader or any fallback adapter,
   * where it would cost seconds at every start and the defaults were tuned).
   * Every shape gives the same bits, so tuning changes speed only.
   */
  tuneMatmul?: boolean;
}

/**
 * `op` bound to `ctx`, throwing a recorded device error or loss first (as
 * every compute call does).
 */
function checkedFirst<A extends unknown[]>(
  ctx: GpuContext,
  op: (ctx: GpuContext, ...args: A) => void,
): (...args: A) => void {
  return (...args) => {
    ctx.check();
    op(ctx, ...args);
  };
}

/** A {@link Backend} running WGSL kernels on a WebGPU device. */
export class WebGpuBackend implements Backend {
  /** The scheduler (pipelines, batching, pool, errors). */
  readonly ctx: GpuContext;
  /** Fused fast paths: linear, loraLinear, softmax, logSoftmax, crossEntropy, adam. */
  readonly fused: FusedOps;

  /**
   * Wraps an open device; prefer {@link createWebGpuBackend}.
   *
   * @param device an open device (see {@link createWebGpuBackend})
   * @param adapterInfo description of the adapter, for reports
   * @param name registered name (what tensors report as `t.backend`)
   */
  constructor(readonly device: GPUDevice, readonly adapterInfo = "", readonly name = "webgpu") {
    const ctx = this.ctx = new GpuContext(device);
    // Parameter lists come from FusedOps (contextual typing), never retyped.
    this.fused = {
      linear: checkedFirst(ctx, linear),
      loraLinear: checkedFirst(ctx, loraLinear),
      softmax: checkedFirst(ctx, (ctx, x, out) => softmax(ctx, x, out, false)),
      logSoftmax: checkedFirst(ctx, (ctx, x, out) => softmax(ctx, x, out, true)),
      crossEntropy: checkedFirst(ctx, crossEntropy),
      adam: checkedFirst(ctx, adam),
      // The backward binds 10 storage buffers (the default limit is 8).
      ...(device.limits.maxStorageBuffersPerShaderStage >= 10
        ? {
          attention: checkedFirst(ctx, attention),
          attentionBackward: checkedFirst(ctx, attentionBackward),
        }
        : {}),
    };
  }

  /** True once the device was lost; every call then throws. */
  get deviceLost(): boolean {
    return this.ctx.deviceLost;
  }

  /** A buffer of `size` elements from the pool. */
  alloc(size: number, dtype: DType): BufferHandle {
    this.ctx.check();
    return this.ctx.pool.alloc(size, dtype);
  }

  /** Copies `data` to the buffer's start, in program order. */
  write(buffer: BufferHandle, data: TypedArray): void {
    const h = gpuBuffer(buffer);
    if (data.byteLength > h.bytes) {
      throw new Error(`webgpu: write of ${data.length} elements into a buffer of ${h.bytes / 4}`);
    }
    this.ctx.write(h.gpu, data);
  }

  /** Reads `size` elements after all queued work. */
  async read(buffer: BufferHandle, dtype: DType, size: number): Promise<TypedArray> {
    const h = gpuBuffer(buffer);
    if (size * 4 > h.bytes) {
      throw new Error(`webgpu: read of ${size} elements from a buffer of ${h.bytes / 4}`);
    }
    if (size === 0) {
      this.ctx.check();
      return dtype === "float32" ? new Float32Array(0) : new Int32Array(0);
    }
    const bytes = await this.ctx.read(h.gpu, size * 4);
    return dtype === "float32" ? new Float32Array(bytes) : new Int32Array(bytes);
  }

  /** Returns the buffer to the pool (later frees are ignored). */
  free(buffer: BufferHandle): void {
    if (!(buffer instanceof GpuBuffer)) gpuBuffer(buffer); // throws a clear error
    else this.ctx.pool.free(buffer);
  }

  /** Submits pending work and waits for the GPU. */
  sync(): Promise<void> {
    return this.ctx.sync();
  }

  /** Live buffers and bytes (pooled storage not counted). */
  stats(): { buffers: number; bytes: number } {
    return this.ctx.pool.stats();
  }

  /** Elementwise function of one argument. */
  unary(op: UnaryOp, x: View, out: BufferHandle): void {
    this.ctx.check();
    unary(this.ctx, op, x, out);
  }

  /** Elementwise function of two arguments. */
  binary(op: BinaryOp, a: View, b: View, out: BufferHandle): void {
    this.ctx.check();
    binary(this.ctx, op, a, b, out);
  }

  /** Elementwise select. */
  where(cond: View, a: View, b: View, out: BufferHandle): void {
    this.ctx.check();
    where(this.ctx, cond, a, b, out);
  }

  /** Dtype conversion. */
  cast(x: View, dtype: DType, out: BufferHandle): void {
    this.ctx.check();
    cast(this.ctx, x, dtype, out);
  }

  /** Sum, max or argmax over sorted axes. */
  reduce(op: ReduceOp, x: View, axes: readonly number[], out: BufferHandle): void {
    this.ctx.check();
    reduce(this.ctx, op, x, axes, out);
  }

  /** Strided copy. */
  copy(x: View, out: View): void {
    this.ctx.check();
    copy(this.ctx, x, out);
  }

  /** Batched matmul. */
  matmul(a: View, b: View, out: BufferHandle): void {
    this.ctx.check();
    matmul(this.ctx, a, b, out);
  }

  /** Row gather. */
  gather(x: View, index: View, out: BufferHandle): void {
    this.ctx.check();
    gather(this.ctx, x, index, out);
  }

  /** All-or-nothing copies, checked for non-finite values on the device. */
  checkedAssign(pairs: readonly (readonly [View, View])[], check: DeferredCheck): void {
    this.ctx.check();
    checkedAssign(this.ctx, pairs, check);
  }

  /** Deterministic row scatter-add. */
  scatterAdd(out: View, index: View, src: View): void {
    this.ctx.check();
    scatterAdd(this.ctx, out, index, src);
  }

  /**
   * Times a few shapes of the vec4 matmul kernel on this device (one probe
   * product per layout) and keeps the fastest for the backend's life; see
   * `matmul_tune.ts`. Results do not depend on the shape chosen.
   */
  tuneMatmul(opts?: TuneOptions): Promise<TuneResult[]> {
    this.ctx.check();
    return tuneMatmul(this.ctx, opts);
  }

  /** Releases pooled storage and destroys the device. */
  dispose(): void {
    this.ctx.dispose();
  }
}

/** Loop iterations per invocation on Mesa's llvmpipe (LP_MAX_TGSI_LOOP_ITERATIONS). */
export const LLVMPIPE_LOOP_LIMIT = 65535;

/**
 * Opens the default WebGPU adapter and device. Rejects with a clear error
 * (see {@link NO_ADAPTER_HINT}) when WebGPU or an adapter is missing; it
 * never falls back to another backend.
 */
export async function createWebGpuBackend(options: WebGpuOptions = {}): Promise<WebGpuBackend> {
  const gpu = "gpu" in options
    ? options.gpu
    : (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) throw new Error(NO_ADAPTER_HINT);
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
  if (!adapter) throw new Error(NO_ADAPTER_HINT);
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
      // Finer binding offsets: windows of tensors over one binding start
      // closer to the elements they need.
      minStorageBufferOffsetAlignment: limits.minStorageBufferOffsetAlignment,
    },
  });
  const info = adapter.info;
  const backend = new WebGpuBackend(
    device,
    `${info.description || info.vendor} (${info.architecture})`,
    options.name,
  );
  // Mesa's llvmpipe ends every invocation's loops after 65,535 iterations
  // in all (gallivm's loop limiter), silently: see GpuContext.
  if (/llvmpipe/i.test(`${info.description} ${info.device} ${info.architecture}`)) {
    backend.ctx.loopIterationLimit = LLVMPIPE_LOOP_LIMIT;
  }
  const software = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    /llvmpipe|swiftshader|lavapipe/i.test(`${info.description} ${info.device} ${info.vendor}`);
  if (options.tuneMatmul) await backend.tuneMatmul();
  else if (options.tuneMatmul === undefined && !software) {
    // Tuning only changes speed: if it fails here, the defaults stay.
    await backend.tuneMatmul().catch(() => {});
  }
  return backend;
}
