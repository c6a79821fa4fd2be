/**
 * Host-side packing of kernel parameters ("meta") and view helpers.
 *
 * Shapes, strides, offsets and scalars of a dispatch are packed into u32
 * words (i32 and f32 by bit pattern) that the kernel reads from binding 0,
 * so one compiled kernel serves every shape of a given rank. The strided
 * layout written by {@link Meta.strided} is read back by
 * `stridedOffsets` in `wgsl_common.ts`.
 *
 * @module
 */

import type { BufferHandle, View } from "../backend.ts";
import { GpuBuffer } from "./buffer_pool.ts";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Growable list of parameter words. */
export class Meta {
  #words: number[] = [];

  /** Index the next word lands at. */
  get length(): number {
    return this.#words.length;
  }

  /** Appends unsigned words. */
  u32(...values: number[]): this {
    for (const v of values) {
      if (!(v >= 0 && v <= 0xffffffff)) throw new Error(`webgpu: ${v} does not fit a u32`);
      this.#words.push(v >>> 0);
    }
    return this;
  }

  /** Appends signed words (two's complement). */
  i32(...values: number[]): this {
    for (const v of values) {
      if (!(v >= -0x80000000 && v <= 0x7fffffff)) {
        throw new Error(`webgpu: ${v} does not fit an i32`);
      }
      this.#words.push(v >>> 0);
    }
    return this;
  }

  /** Appends f32 values by bit pattern. */
  f32(...values: number[]): this {
    for (const v of values) {
      f32[0] = v;
      this.#words.push(u32[0]);
    }
    return this;
  }

  /**
   * Appends the strided layout of `views` over `shape` (already coalesced):
   * `shape[rank]`, then per view `offset, strides[rank]`.
   */
  strided(shape: readonly number[], views: readonly StridedPart[]): this {
    this.u32(...shape);
    for (const v of views) this.i32(v.offset, ...v.strides);
    return this;
  }

  /** The packed words. */
  finish(): Uint32Array {
    return Uint32Array.from(this.#words);
  }
}

/** Offset and strides of one operand of a strided loop. */
export interface StridedPart {
  /** First element. */
  readonly offset: number;
  /** Per-dimension steps. */
  readonly strides: readonly number[];
}

/** Checks that a handle is a live buffer of this backend. */
export function gpuBuffer(handle: BufferHandle): GpuBuffer {
  if (!(handle instanceof GpuBuffer)) {
    throw new Error("webgpu: buffer handle was not made by the webgpu backend");
  }
  if (handle.freed) throw new Error("webgpu: use of a freed buffer");
  return handle;
}

/** Result of {@link coalesce}. */
export interface Coalesced {
  /** Shape without size-1 dims, adjacent mergeable dims merged. */
  readonly shape: number[];
  /** Strides of each operand over that shape. */
  readonly strides: number[][];
}

/**
 * Drops size-1 dims and merges neighbours that every operand steps through
 * contiguously (`stride[d] == stride[d+1] * shape[d+1]`), so kernels loop
 * over as few dims as possible and fewer ranks get compiled.
 */
export function coalesce(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): Coalesced {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (
      last >= 0 &&
      strides.every((s, k) => outStrides[k][last] === s[d] * shape[d])
    ) {
      outShape[last] *= shape[d];
      strides.forEach((s, k) => outStrides[k][last] = s[d]);
    } else {
      outShape.push(shape[d]);
      strides.forEach((s, k) => outStrides[k].push(s[d]));
    }
  }
  return { shape: outShape, strides: outStrides };
}

/** Checks a view's rank and its dtype against an expectation. */
export function checkView(view: View, what: string, dtype?: View["dtype"]): GpuBuffer {
  if (view.shape.length !== view.strides.length) {
    throw new Error(
      `webgpu: ${what} has ${view.shape.length} dims but ${view.strides.length} strides`,
    );
  }
  if (dtype && view.dtype !== dtype) {
    throw new Error(`webgpu: ${what} must be ${dtype}, got ${view.dtype}`);
  }
  return gpuBuffer(view.buffer);
}

/** Checks that two shapes are equal. */
export function sameShape(a: readonly number[], b: readonly number[], what: string): void {
  if (a.length !== b.length || a.some((s, i) => s !== b[i])) {
    throw new Error(`webgpu: ${what}: shapes [${a}] and [${b}] differ`);
  }
}

/** Throws unless every element of `view` lies inside its buffer. */
export function checkBounds(view: View, handle: GpuBuffer, what: string): void {
  let lo = view.offset, hi = view.offset;
  for (let d = 0; d < view.shape.length; d++) {
    const span = (view.shape[d] - 1) * view.strides[d];
    if (view.shape[d] === 0) return;
    if (span < 0) lo += span;
    else hi += span;
  }
  if (!Number.isInteger(lo) || lo < 0 || hi * 4 >= Math.max(handle.bytes, 4)) {
    throw new Error(
      `webgpu: ${what} reaches elements [${lo}, ${hi}] outside its buffer of ` +
        `${handle.bytes / 4} elements`,
    );
  }
}

/** Throws unless `handle` holds at least `elements` elements. */
export function checkCapacity(handle: GpuBuffer, elements: number, what: string): void {
  if (elements * 4 > handle.bytes) {
    throw new Error(
      `webgpu: ${what} needs ${elements} elements but its buffer holds ${handle.bytes / 4}`,
    );
  }
}
