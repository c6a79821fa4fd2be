/**
 * A small allocator over one shared `WebAssembly.Memory`.
 *
 * Blocks are 64-byte aligned and rounded up to size classes (four classes
 * per power of two, at least 64 bytes); freed blocks go to a per-class free
 * list and are reused first, otherwise the heap bumps its top, growing the
 * memory when needed. Memory is never returned. Because the memory is
 * shared, its `buffer` keeps its identity-independent validity: views made
 * before a grow stay valid, but cover only the old length, so make views per
 * allocation ({@link WasmHeap.f32view}).
 *
 * @module
 */

/** Bytes at the bottom of memory kept for the runtime (null page, control). */
export const RESERVED_BYTES = 4096;
const PAGE = 65536;
const ALIGN = 64;

/** The size class (bytes) used for a request of `bytes`. */
export function sizeClass(bytes: number): number {
  if (bytes <= ALIGN) return ALIGN;
  const pow = 2 ** Math.floor(Math.log2(bytes - 1));
  const step = Math.max(ALIGN, pow / 4);
  return Math.ceil(bytes / step) * step;
}

/** A size-class allocator inside a shared wasm memory. */
export class WasmHeap {
  /** The memory every pointer refers to. */
  readonly memory: WebAssembly.Memory;
  private top = RESERVED_BYTES;
  private freeLists = new Map<number, number[]>();
  private sizes = new Map<number, number>();
  private inUse = new Set<number>();

  /** Creates the heap with `initialPages` 64 KiB pages (max 4 GiB). */
  constructor(initialPages = 64) {
    this.memory = new WebAssembly.Memory({
      initial: initialPages,
      maximum: 65536,
      shared: true,
    });
  }

  /** Bytes currently addressable. */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Allocates `bytes` (≥ 0) and returns a 64-byte aligned pointer. */
  alloc(bytes: number): number {
    const size = sizeClass(Math.max(1, bytes));
    const list = this.freeLists.get(size);
    let ptr = list?.pop();
    if (ptr === undefined) {
      ptr = this.top;
      const end = ptr + size;
      if (end > 2 ** 32) throw new RangeError("wasm heap exhausted (4 GiB)");
      const have = this.byteLength;
      if (end > have) {
        // Grow geometrically to amortise; at least what is needed.
        const need = Math.ceil((end - have) / PAGE);
        const pages = Math.min(
          Math.max(need, Math.ceil(have / PAGE / 2)),
          65536 - have / PAGE,
        );
        this.memory.grow(Math.max(need, pages));
      }
      this.top = end;
      this.sizes.set(ptr, size);
    }
    this.inUse.add(ptr);
    return ptr;
  }

  /** Returns a block to its free list; freeing 0 is a no-op. */
  free(ptr: number): void {
    if (ptr === 0) return;
    if (!this.inUse.delete(ptr)) {
      throw new Error(`wasm heap: free of unknown or freed pointer ${ptr}`);
    }
    const size = this.sizes.get(ptr)!;
    let list = this.freeLists.get(size);
    if (!list) this.freeLists.set(size, list = []);
    list.push(ptr);
  }

  /** The usable size of an allocated block. */
  sizeOf(ptr: number): number {
    return this.sizes.get(ptr) ?? 0;
  }

  /** A Float32Array over `n` floats at `ptr` (make one per use). */
  f32view(ptr: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, n);
  }

  /** An Int32Array over `n` ints at `ptr` (make one per use). */
  i32view(ptr: number, n: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, n);
  }
}
