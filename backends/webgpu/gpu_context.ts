/**
 * The command scheduler: pipelines, per-batch parameter arena, command
 * encoder batching, reads, writes and error/device-loss tracking.
 *
 * Compute calls record a compute pass into one `GPUCommandEncoder`; the
 * encoder is submitted when a value is read, on `sync`, or when a batch
 * holds {@link MAX_BATCH_DISPATCHES} dispatches, so compute calls never
 * wait on the GPU. Validation and out-of-memory errors are caught by error
 * scopes around each batch (and the `uncapturederror` event) and thrown by
 * the next call; a lost device is thrown by every later call, and a read in
 * flight rejects instead of hanging.
 *
 * @module
 */

import { BufferPool } from "./buffer_pool.ts";
import { DeviceErrors, ERROR_BYTES } from "./device_errors.ts";
import { MAX_BATCH_DISPATCHES, META_ARENA_BYTES } from "./limits.ts";
import { type Access, type Binding, compileKernel, type Kernel } from "./kernel.ts";
import { StagingPool } from "./staging.ts";

const MAP_READ = 0x01;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const STORAGE = 0x80;
/**
 * Bytes of the per-batch upload arena: small host writes into a buffer that
 * the pending batch already uses are staged here and copied in program
 * order, instead of submitting the batch first (a scalar operand reuses a
 * pooled buffer that an earlier command of the batch still reads).
 */
const UPLOAD_ARENA_BYTES = 64 * 1024;

/** Schedules and submits the work of one device. */
export class GpuContext {
  /** Storage pool of this device. */
  readonly pool: BufferPool;
  /** Device-side error flags and the sites that may set them. */
  readonly errors: DeviceErrors;
  /**
   * Workgroups per grid dimension, from the device's
   * `maxComputeWorkgroupsPerDimension`; larger grids are split (tests lower
   * it to exercise the split cheaply).
   */
  maxGroupsPerDim: number;
  /**
   * Bytes one binding may cover, from the device's
   * `maxStorageBufferBindingSize`. A buffer may be larger (up to
   * `maxBufferSize`); matmul, linear, row gathers and elementwise kernels
   * then bind windows of it, and any other kernel refuses with a
   * RangeError (tests lower it to exercise the windows cheaply).
   */
  maxBindingBytes: number;
  /** `minStorageBufferOffsetAlignment` in elements (a window's start). */
  readonly offsetAlignElements: number;
  /**
   * Loop iterations one invocation may run before the adapter cuts its
   * loops short without an error: 65,535 on Mesa's software rasterizer
   * (llvmpipe, under Vulkan and GL; its loop limiter counts every loop of
   * an invocation together), unlimited elsewhere. Kernels whose loops grow
   * with the data check against it and refuse with a RangeError.
   */
  loopIterationLimit = Infinity;
  #encoder: GPUCommandEncoder | null = null;
  #dispatches = 0;
  #totalDispatches = 0;
  #submits = 0;
  #pendingUse = new Set<GPUBuffer>();
  #pendingDestroy: GPUBuffer[] = [];
  #meta = new Uint32Array(META_ARENA_BYTES / 4);
  #metaWords = 0;
  #metaBuffer: GPUBuffer;
  #upload = new Uint8Array(UPLOAD_ARENA_BYTES);
  #uploadBytes = 0;
  #uploadBuffer: GPUBuffer;
  #alignWords: number;
  #kernels = new Map<string, Kernel>();
  #checks = new Set<Promise<void>>();
  #error: Error | null = null;
  #lost: Error | null = null;
  #lostRejection: Promise<never>;
  #staging: StagingPool;

  /**
   * A scheduler for `device`.
   *
   * @param device the device to schedule on
   */
  constructor(readonly device: GPUDevice) {
    this.pool = new BufferPool(device, (b) => this.destroyLater(b));
    this.errors = new DeviceErrors(device);
    this.#staging = new StagingPool(device);
    this.maxGroupsPerDim = device.limits.maxComputeWorkgroupsPerDimension;
    this.maxBindingBytes = device.limits.maxStorageBufferBindingSize;
    this.offsetAlignElements = device.limits.minStorageBufferOffsetAlignment / 4;
    this.#alignWords = Math.max(64, device.limits.minStorageBufferOffsetAlignment) / 4;
    this.#metaBuffer = device.createBuffer({ size: META_ARENA_BYTES, usage: STORAGE | COPY_DST });
    this.#uploadBuffer = device.createBuffer({
      size: UPLOAD_ARENA_BYTES,
      usage: COPY_SRC | COPY_DST,
    });
    this.#lostRejection = device.lost.then((info) => {
      throw this.#lost ??= lostError(info);
    });
    this.#lostRejection.catch(() => {});
    device.addEventListener("uncapturederror", (event) => {
      this.#record((event as GPUUncapturedErrorEvent).error);
    });
  }

  /**
   * Compute dispatches recorded and command buffers submitted since the
   * context was made (monotonic; benchmarks difference two snapshots to
   * report them per training step).
   */
  get counters(): { dispatches: number; submits: number } {
    return { dispatches: this.#totalDispatches, submits: this.#submits };
  }

  /** True once the device was lost (or destroyed). */
  get deviceLost(): boolean {
    return this.#lost !== null;
  }

  /** Throws the device loss (every time) or a recorded error (once). */
  check(): void {
    if (this.#lost) throw this.#lost;
    const err = this.#error;
    if (err) {
      this.#error = null;
      throw err;
    }
  }

  /** The cached kernel `key`, compiling `build()` on first use. */
  kernel(key: string, build: () => { code: string; access: Access[] }): Kernel {
    const hit = this.#kernels.get(key);
    if (hit) return hit;
    this.#ensureBatch(); // compile errors land in this batch's error scope
    const { code, access } = build();
    const kernel = compileKernel(this.device, key, code, access);
    this.#kernels.set(key, kernel);
    return kernel;
  }

  /**
   * Records one dispatch of `kernel` with parameter words `meta`, buffers
   * `binds` and a workgroup grid. A read binding that aliases a written one
   * is first snapshotted into a temporary, so kernels see the old values.
   */
  dispatch(
    kernel: Kernel,
    meta: Uint32Array,
    binds: readonly Binding[],
    groups: readonly [number, number, number],
  ): void {
    this.check();
    if (binds.length !== kernel.access.length) {
      throw new Error(
        `webgpu: kernel expects ${kernel.access.length} buffers, got ${binds.length}`,
      );
    }
    const slotWords = Math.ceil(Math.max(1, meta.length) / this.#alignWords) * this.#alignWords;
    if (slotWords > this.#meta.length) throw new Error("webgpu: kernel parameters too large");
    if (this.#metaWords + slotWords > this.#meta.length) this.flush();
    const encoder = this.#ensureBatch();
    const slot = this.#metaWords;
    this.#meta.set(meta, slot);
    this.#metaWords += slotWords;

    for (const b of binds) {
      if (b.bytes > this.maxBindingBytes) {
        throw new RangeError(
          `webgpu: kernel ${kernel.key} would bind ${b.bytes} bytes of one tensor, over this ` +
            `device's maxStorageBufferBindingSize (${this.maxBindingBytes} bytes); only matmul, ` +
            `linear, row gathers and elementwise kernels bind windows of larger tensors`,
        );
      }
    }
    const written = binds.filter((_, i) => kernel.access[i] === "read_write").map((b) => b.gpu);
    if (new Set(written).size !== written.length) {
      throw new Error("webgpu: one buffer is bound twice for writing in a single kernel");
    }
    const temps: GPUBuffer[] = [];
    const entries: GPUBindGroupEntry[] = [{
      binding: 0,
      resource: { buffer: this.#metaBuffer, offset: slot * 4, size: slotWords * 4 },
    }];
    binds.forEach((b, i) => {
      let gpu = b.gpu, offset = b.offset ?? 0;
      if (kernel.access[i] === "read" && written.includes(gpu)) {
        const tmp = this.pool.acquire(b.bytes);
        encoder.copyBufferToBuffer(gpu, offset, tmp, 0, b.bytes);
        temps.push(tmp);
        gpu = tmp;
        offset = 0;
      }
      this.#pendingUse.add(gpu);
      entries.push({ binding: i + 1, resource: { buffer: gpu, offset, size: b.bytes } });
    });
    const bindGroup = this.device.createBindGroup({ layout: kernel.layout, entries });
    const pass = encoder.beginComputePass();
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    pass.end();
    for (const t of temps) this.pool.release(t); // reuse comes later in program order
    this.#totalDispatches++;
    if (++this.#dispatches >= MAX_BATCH_DISPATCHES) this.flush();
  }

  /** Records a buffer-to-buffer copy in program order. */
  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number): void {
    this.check();
    const encoder = this.#ensureBatch();
    this.#pendingUse.add(src);
    this.#pendingUse.add(dst);
    encoder.copyBufferToBuffer(src, 0, dst, 0, bytes);
  }

  /**
   * Writes host data at offset 0, after any pending command using `gpu`:
   * directly when the pending batch does not touch `gpu`, else (small
   * writes) as a copy from the upload arena recorded into the batch, else
   * after submitting the batch.
   */
  write(gpu: GPUBuffer, data: Float32Array | Int32Array): void {
    this.check();
    if (data.length === 0) return;
    if (this.#pendingUse.has(gpu)) {
      const bytes = data.byteLength; // a multiple of 4, as copies need
      if (this.#uploadBytes + bytes <= this.#upload.length) {
        const at = this.#uploadBytes;
        this.#upload.set(new Uint8Array(data.buffer, data.byteOffset, bytes), at);
        this.#uploadBytes += bytes;
        this.#ensureBatch().copyBufferToBuffer(this.#uploadBuffer, at, gpu, 0, bytes);
        return;
      }
      this.flush(); // keep program order
    }
    this.device.queue.writeBuffer(
      gpu,
      0,
      data.buffer as ArrayBuffer,
      data.byteOffset,
      data.byteLength,
    );
  }

  /** Submits the pending batch (no waiting). */
  flush(): void {
    const encoder = this.#encoder;
    if (!encoder) return;
    this.#encoder = null;
    const queue = this.device.queue;
    if (this.#metaWords > 0) queue.writeBuffer(this.#metaBuffer, 0, this.#meta, 0, this.#metaWords);
    if (this.#uploadBytes > 0) {
      queue.writeBuffer(this.#uploadBuffer, 0, this.#upload, 0, this.#uploadBytes);
    }
    queue.submit([encoder.finish()]);
    this.#submits++;
    this.errors.submitted();
    const check = Promise.all([this.device.popErrorScope(), this.device.popErrorScope()])
      .then((errors) => errors.forEach((e) => this.#record(e)), () => {});
    this.#checks.add(check);
    check.then(() => this.#checks.delete(check));
    this.#dispatches = 0;
    this.#metaWords = 0;
    this.#uploadBytes = 0;
    this.#pendingUse.clear();
    for (const b of this.#pendingDestroy) b.destroy();
    this.#pendingDestroy = [];
  }

  /**
   * Copies `bytes` bytes of `gpu` to the host once queued work is done.
   * Throws a device-side error a kernel recorded before it (see
   * `device_errors.ts`).
   */
  async read(gpu: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    this.check();
    const staging = this.#staging.take(bytes);
    this.#ensureBatch().copyBufferToBuffer(gpu, 0, staging, 0, bytes);
    this.#pendingUse.add(gpu);
    const flags = this.#copyFlags();
    this.flush();
    let out: ArrayBuffer;
    try {
      out = await this.#map(staging, bytes);
    } finally {
      if (flags) {
        this.errors.settle(
          new Uint32Array(await this.#map(flags.staging, ERROR_BYTES)),
          flags.mark,
        );
      }
    }
    return out;
  }

  /** Resolves once all submitted work is done; throws recorded errors. */
  async sync(): Promise<void> {
    this.check();
    const flags = this.#copyFlags();
    this.flush();
    if (flags) {
      this.errors.settle(new Uint32Array(await this.#map(flags.staging, ERROR_BYTES)), flags.mark);
    } else {
      await Promise.race([this.device.queue.onSubmittedWorkDone(), this.#lostRejection]);
    }
    await this.#settle();
    this.check();
  }

  /** Records a copy of the error flags when a checking kernel may have run. */
  #copyFlags(): { staging: GPUBuffer; mark: number } | null {
    if (!this.errors.pending) return null;
    const staging = this.#staging.take(ERROR_BYTES);
    this.#ensureBatch().copyBufferToBuffer(this.errors.buffer, 0, staging, 0, ERROR_BYTES);
    return { staging, mark: this.errors.mark };
  }

  /** Maps a submitted staging copy and returns its bytes (then recycles it). */
  async #map(staging: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    try {
      await Promise.race([staging.mapAsync(MAP_READ, 0, bytes), this.#lostRejection]);
    } catch (err) {
      await this.#settle();
      this.check();
      throw err;
    }
    const out = staging.getMappedRange(0, bytes).slice(0);
    staging.unmap();
    this.#staging.release(staging);
    await this.#settle();
    this.check();
    return out;
  }

  /** Destroys `gpu` now, or after the pending batch is submitted. */
  destroyLater(gpu: GPUBuffer): void {
    if (this.#encoder) this.#pendingDestroy.push(gpu);
    else gpu.destroy();
  }

  /** Submits pending work, drops pools and destroys the device. */
  dispose(): void {
    if (!this.#lost) this.flush();
    this.pool.trim();
    this.#staging.destroy();
    this.#metaBuffer.destroy();
    this.#uploadBuffer.destroy();
    this.errors.destroy();
    this.device.destroy();
  }

  #ensureBatch(): GPUCommandEncoder {
    if (this.#lost) throw this.#lost;
    if (!this.#encoder) {
      this.device.pushErrorScope("validation");
      this.device.pushErrorScope("out-of-memory");
      this.#encoder = this.device.createCommandEncoder();
    }
    return this.#encoder;
  }

  async #settle(): Promise<void> {
    await Promise.race([Promise.all([...this.#checks]), this.#lostRejection]);
  }

  #record(error: GPUError | null): void {
    if (!error || this.#error) return;
    const kind = error.constructor?.name ?? "GPUError";
    this.#error = new Error(`webgpu: ${kind}: ${error.message.trim()}`);
  }
}

function lostError(info: GPUDeviceLostInfo): Error {
  return new Error(
    `webgpu: the GPU device was lost (${info.reason ?? "unknown"}): ${info.message}; ` +
      `create a new backend to continue`,
  );
}
