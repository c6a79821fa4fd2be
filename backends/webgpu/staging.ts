/**
 * Mappable staging buffers for readback, reused by size bucket up to a byte
 * cap (a read maps one, copies its bytes out and gives it back).
 *
 * @module
 */

import { bucketBytes } from "./limits.ts";

const MAP_READ = 0x01;
const COPY_DST = 0x08;
/** Bytes of idle staging buffers kept for reuse; more are destroyed. */
const STAGING_CAP_BYTES = 64 * 1024 * 1024;

/** Idle staging buffers of one device, by size. */
export class StagingPool {
  #free = new Map<number, GPUBuffer[]>();
  #bytes = 0;

  /**
   * A pool for `device`.
   *
   * @param device the device whose buffers it holds
   */
  constructor(readonly device: GPUDevice) {}

  /** An idle staging buffer of at least `bytes`, or a new one. */
  take(bytes: number): GPUBuffer {
    const size = bucketBytes(bytes, Number.MAX_SAFE_INTEGER);
    const staging = this.#free.get(size)?.pop();
    if (staging) {
      this.#bytes -= size;
      return staging;
    }
    return this.device.createBuffer({ size, usage: MAP_READ | COPY_DST });
  }

  /** Gives an unmapped staging buffer back (destroyed past the cap). */
  release(staging: GPUBuffer): void {
    if (this.#bytes + staging.size > STAGING_CAP_BYTES) {
      staging.destroy();
      return;
    }
    let list = this.#free.get(staging.size);
    if (!list) this.#free.set(staging.size, list = []);
    list.push(staging);
    this.#bytes += staging.size;
  }

  /** Destroys every idle buffer. */
  destroy(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    this.#free.clear();
    this.#bytes = 0;
  }
}
