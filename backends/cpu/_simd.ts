/**
 * Glue between the CPU op files and the Wasm runtime (private to `cpu/`):
 * heap allocation and the byte addresses of heap arrays. An op's SIMD path
 * serves the cases its kernel covers (float32 arrays in the shared Wasm
 * heap) and returns false otherwise, so the scalar loops, which stay the
 * reference, take the rest.
 *
 * @module
 */
import type { TypedArray } from "../backend.ts";
import * as K from "./wasm/mod.ts";

/** True when this engine runs the SIMD kernels. */
export const simdAvailable: boolean = K.wasmSimdAvailable;

/** Below this many elements a kernel call's overhead beats the SIMD gain. */
export const MIN_SIMD_ELEMS = 64;

/** Allocates `n` elements in the shared Wasm heap. */
export function simdAlloc(n: number, int: boolean): TypedArray {
  const ptr = K.alloc(Math.max(n, 1) * 4);
  return int ? K.i32view(ptr, n) : K.f32view(ptr, n);
}

/** Returns a heap allocation to the free lists. */
export function simdFree(a: TypedArray): void {
  K.free(a.byteOffset);
}

/** The class of the heap's (shared) buffer, or null without SIMD. */
const HEAP_BUFFER = (K.memory?.buffer.constructor ?? null) as
  | (new (n: number) => ArrayBufferLike)
  | null;

/** True for an array in the Wasm heap (the kernels can read it). */
export function inHeap(a: TypedArray): boolean {
  // Only the Wasm heap hands out arrays over shared memory here. (The
  // class comes from the heap: a page that is not cross-origin isolated
  // has shared Wasm memory but no `SharedArrayBuffer` global.)
  return HEAP_BUFFER !== null && a.buffer instanceof HEAP_BUFFER;
}

/** Byte address of element `i` of a heap array. */
export function heapPtr(a: TypedArray, i: number): number {
  return a.byteOffset + i * 4;
}
