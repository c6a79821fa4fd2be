/**
 * GPU buffer handles and the size-bucketed, byte-capped pool behind them.
 *
 * `alloc` hands out a {@link GpuBuffer} wrapping a pooled `GPUBuffer`; `free`
 * returns the storage to the pool. Reuse is safe without waiting for the GPU
 * because every use is recorded in program order into one queue: a reused
 * buffer's new contents are written by commands that come after its last
 * read. (Host writes through `queue.writeBuffer` jump that order, so the
 * scheduler records a write into a buffer that pending commands touch as a
 * copy from its upload arena, or submits those commands first.)
 *
 * @module
 */

import type { DType } from "../backend.ts";
import { checkAllocSize } from "../alloc_size.ts";
import { bindingBytes, bucketBytes, checkBufferSize, POOL_CAP_BYTES } from "./limits.ts";

/** The backend's buffer handle: one `alloc`, freed at most once. */
export class GpuBuffer {
  /** True once `free` released the storage. */
  freed = false;
  /**
   * Wraps pooled storage.
   *
   * @param gpu the (possibly pooled) storage
   * @param bytes bytes in use: elements × 4, at least 4
   * @param dtype the dtype it was allocated for
   */
  constructor(
    readonly gpu: GPUBuffer,
    readonly bytes: number,
    readonly dtype: DType,
  ) {}
}

/**
 * Usage flags of every storage buffer the pool makes: STORAGE (0x80) |
 * COPY_SRC (0x04) | COPY_DST (0x08). Spelled as numbers so importing this
 * module works where the `GPUBufferUsage` global is missing.
 */
const STORAGE_USAGE = 0x80 | 0x04 | 0x08;

/** Size-bucketed free lists of storage buffers. */
export class BufferPool {
  #free = new Map<number, GPUBuffer[]>();
  #pooledBytes = 0;
  #liveBuffers = 0;
  #liveBytes = 0;

  /**
   * An empty pool.
   *
   * @param device the device that makes the buffers
   * @param destroy destroys a buffer once no pending command uses it
   * @param capBytes bytes kept in free lists at most
   */
  constructor(
    readonly device: GPUDevice,
    readonly destroy: (buffer: GPUBuffer) => void,
    readonly capBytes = POOL_CAP_BYTES,
  ) {}

  /** A buffer handle for `size` elements of `dtype`. */
  alloc(size: number, dtype: DType): GpuBuffer {
    checkAllocSize("webgpu", size, dtype, Number.MAX_SAFE_INTEGER / 4);
    const bytes = bindingBytes(size);
    const gpu = this.acquire(bytes);
    this.#liveBuffers++;
    this.#liveBytes += bytes;
    return new GpuBuffer(gpu, bytes, dtype);
  }

  /** Returns a handle's storage to the pool (a second free is ignored). */
  free(handle: GpuBuffer): void {
    if (handle.freed) return;
    handle.freed = true;
    this.#liveBuffers--;
    this.#liveBytes -= handle.bytes;
    this.release(handle.gpu);
  }

  /** Raw storage of at least `bytes` bytes (internal temporaries). */
  acquire(bytes: number): GPUBuffer {
    checkBufferSize(bytes, this.device.limits);
    const size = bucketBytes(bytes, this.device.limits.maxBufferSize);
    const list = this.#free.get(size);
    const hit = list?.pop();
    if (hit) {
      this.#pooledBytes -= size;
      return hit;
    }
    return this.device.createBuffer({ size, usage: STORAGE_USAGE });
  }

  /** Puts raw storage back, or destroys it when the pool is full. */
  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    if (this.#pooledBytes + size > this.capBytes) {
      this.destroy(buffer);
      return;
    }
    let list = this.#free.get(size);
    if (!list) this.#free.set(size, list = []);
    list.push(buffer);
    this.#pooledBytes += size;
  }

  /** Live (allocated, not freed) handles and their bytes. */
  stats(): { buffers: number; bytes: number } {
    return { buffers: this.#liveBuffers, bytes: this.#liveBytes };
  }

  /** Bytes sitting in the free lists. */
  get pooledBytes(): number {
    return this.#pooledBytes;
  }

  /** Destroys every pooled buffer. */
  trim(): void {
    for (const list of this.#free.values()) for (const b of list) this.destroy(b);
    this.#free.clear();
    this.#pooledBytes = 0;
  }
}
