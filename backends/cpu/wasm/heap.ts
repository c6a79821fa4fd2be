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
 * Guarded boundary: a request that is not a non-negative safe integer, or
 * that would pass the heap's limit, is a `RangeError` thrown before any
 * state changes, so a bad size can never move the top (a NaN top would hand
 * every later block the reserved bytes at address 0). {@link
 * WasmHeap.checkInvariants} verifies the whole layout (tests call it).
 *
 * @module
 */

/** Bytes at the bottom of memory kept for the runtime (null page, control). */
export const RESERVED_BYTES = 4096;
const PAGE = 65536;
const ALIGN = 64;
/** The most a 32-bit Wasm memory can address: 65,536 pages of 64 KiB. */
export const MAX_HEAP_BYTES = 2 ** 32;

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
  #top = RESERVED_BYTES;
  #limit = MAX_HEAP_BYTES;
  #freeLists = new Map<number, number[]>();
  #sizes = new Map<number, number>();
  #inUse = new Set<number>();

  /** Creates the heap with `initialPages` 64 KiB pages (max 4 GiB). */
  constructor(initialPages = 64) {
    this.memory = new WebAssembly.Memory({
      initial: initialPages,
      maximum: MAX_HEAP_BYTES / PAGE,
      shared: true,
    });
  }

  /** Bytes currently addressable. */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** The first byte above every block ever handed out. */
  get top(): number {
    return this.#top;
  }

  /** The most bytes the heap may span (4 GiB unless lowered). */
  get limit(): number {
    return this.#limit;
  }

  /**
   * Lowers (or restores) the heap's limit; requests past it fail cleanly.
   * Tests use it to exhaust the heap without allocating gigabytes.
   *
   * @throws {RangeError} for a limit that is not a safe integer in
   *   [current top, 4 GiB].
   */
  setLimit(bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < this.#top || bytes > MAX_HEAP_BYTES) {
      throw new RangeError(
        `wasm heap: limit must be an integer in [${this.#top}, ${MAX_HEAP_BYTES}], got ${bytes}`,
      );
    }
    this.#limit = bytes;
  }

  /**
   * Allocates `bytes` (≥ 0) and returns a 64-byte aligned pointer.
   *
   * @throws {RangeError} for a size that is not a non-negative safe integer,
   *   or when the heap cannot hold it; nothing changes then.
   */
  alloc(bytes: number): number {
    if (typeof bytes !== "number" || !Number.isSafeInteger(bytes) || bytes < 0) {
      throw new RangeError(
        `wasm heap: allocation size must be a non-negative safe integer, got ${String(bytes)}`,
      );
    }
    if (bytes > this.#limit) throw this.#exhausted(bytes);
    const size = sizeClass(Math.max(1, bytes));
    const list = this.#freeLists.get(size);
    let ptr = list?.pop();
    if (ptr === undefined) {
      ptr = this.#top;
      const end = ptr + size;
      if (end > this.#limit) throw this.#exhausted(bytes);
      const have = this.byteLength;
      if (end > have) {
        // Grow geometrically to amortise; at least what is needed.
        const need = Math.ceil((end - have) / PAGE);
        const pages = Math.min(
          Math.max(need, Math.ceil(have / PAGE / 2)),
          (this.#limit - have) / PAGE | 0,
        );
        try {
          this.memory.grow(Math.max(need, pages));
        } catch (e) {
          try {
            this.memory.grow(need); // the geometric step may be what failed
          } catch {
            throw this.#exhausted(bytes, e);
          }
        }
      }
      this.#top = end;
      this.#sizes.set(ptr, size);
    }
    this.#inUse.add(ptr);
    return ptr;
  }

  #exhausted(bytes: number, cause?: unknown): RangeError {
    const why = cause instanceof Error ? ` (${cause.message})` : "";
    return new RangeError(
      `wasm heap exhausted: cannot allocate ${bytes} bytes with ${this.#top} of ` +
        `${this.#limit} bytes spanned${why}; free tensors or use smaller ones`,
    );
  }

  /** Returns a block to its free list; freeing 0 is a no-op. */
  free(ptr: number): void {
    if (ptr === 0) return;
    if (!this.#inUse.delete(ptr)) {
      throw new Error(`wasm heap: free of unknown or freed pointer ${ptr}`);
    }
    const size = this.#sizes.get(ptr)!;
    let list = this.#freeLists.get(size);
    if (!list) this.#freeLists.set(size, list = []);
    list.push(ptr);
  }

  /** The usable size of an allocated block. */
  sizeOf(ptr: number): number {
    return this.#sizes.get(ptr) ?? 0;
  }

  /** Blocks handed out and not yet freed. */
  get blocksInUse(): number {
    return this.#inUse.size;
  }

  /**
   * Verifies the layout: the top is a finite, aligned address above the
   * reserved bytes and within the memory and the limit; every block (live
   * or free) is aligned, inside [reserved, top), of a known size class, in
   * exactly one state, and no two blocks overlap.
   *
   * @throws {Error} naming the first broken invariant.
   */
  checkInvariants(): void {
    const top = this.#top;
    const fail = (what: string): never => {
      throw new Error(`wasm heap invariant broken: ${what}`);
    };
    if (!Number.isSafeInteger(top) || top % ALIGN !== 0) fail(`top ${top} is not aligned`);
    if (top < RESERVED_BYTES) fail(`top ${top} is inside the reserved bytes`);
    if (top > this.byteLength || top > this.#limit) {
      fail(`top ${top} is past the memory (${this.byteLength}) or limit (${this.#limit})`);
    }
    const free = new Set<number>();
    for (const [size, list] of this.#freeLists) {
      for (const p of list) {
        if (this.#sizes.get(p) !== size) fail(`free block ${p} is in the wrong size list`);
        if (free.has(p) || this.#inUse.has(p)) fail(`block ${p} is listed twice`);
        free.add(p);
      }
    }
    if (free.size + this.#inUse.size !== this.#sizes.size) {
      fail(`${this.#sizes.size} blocks known but ${free.size} free + ${this.#inUse.size} in use`);
    }
    const blocks = [...this.#sizes].sort((a, b) => a[0] - b[0]);
    let end = RESERVED_BYTES;
    for (const [p, size] of blocks) {
      if (p % ALIGN !== 0 || size % ALIGN !== 0 || size !== sizeClass(size)) {
        fail(`block ${p} of ${size} bytes is misaligned or not a size class`);
      }
      if (p < end) fail(`block ${p} overlaps the block or reserved bytes below it (end ${end})`);
      end = p + size;
    }
    if (end > top) fail(`block ending at ${end} is past the top ${top}`);
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
