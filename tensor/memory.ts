/**
 * Storage lifetime: reference-counted backend buffers shared by views,
 * `scope()` tracking, and `memory()` accounting.
 *
 * @module
 */
import type { Backend, BufferHandle, DType } from "../backends/backend.ts";
import { backendInstance, getBackend } from "../backends/registry.ts";

/** A backend buffer shared by every view of it. */
export class Storage {
  /** The backend that owns the buffer. */
  readonly backend: Backend;
  /** The backend's handle. */
  readonly buffer: BufferHandle;
  /** Element type. */
  readonly dtype: DType;
  /** Element count. */
  readonly size: number;
  #refs = 0;

  /** Wraps a freshly allocated buffer (no views yet). */
  constructor(backend: Backend, buffer: BufferHandle, dtype: DType, size: number) {
    this.backend = backend;
    this.buffer = buffer;
    this.dtype = dtype;
    this.size = size;
  }

  /**
   * Allocates a new buffer on `backend`.
   *
   * @throws {RangeError} for a size that is not a non-negative safe integer
   *   (checked before the backend is called).
   */
  static alloc(backend: Backend, size: number, dtype: DType): Storage {
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(
        `Storage.alloc: size must be a non-negative safe integer, got ${String(size)} (${dtype})`,
      );
    }
    // Zero-size tensors still get a 1-element buffer: no backend has to
    // handle an empty allocation.
    return new Storage(backend, backend.alloc(Math.max(size, 1), dtype), dtype, size);
  }

  /**
   * Counts writes into the buffer after it was made (as PyTorch's tensor
   * `_version`): every in-place op bumps it, so a value computed from the
   * buffer can be cached against it.
   */
  version = 0;

  /** A view starts using this storage. */
  retain(): void {
    this.#refs++;
  }

  /** A view stops using it; the buffer is freed with the last view. */
  release(): void {
    if (--this.#refs === 0) this.backend.free(this.buffer);
  }
}

/** Something that can be disposed by a scope. */
export interface Freeable {
  /** Frees it. */
  dispose(): void;
  /** True once freed. */
  readonly isDisposed: boolean;
  /** Tensors its autograd graph still needs (inputs and saved values). */
  _graphRefs(): Iterable<Freeable>;
  /** How many returned graphs a scope left this alive for. */
  _graphOwners: number;
  /** Holds `t` alive for this tensor's graph until backward() or dispose(). */
  _hold(t: Freeable): void;
}

const scopes: Set<Freeable>[] = [];
const kept = new WeakSet<Freeable>();
const liveTensors = new Map<string, number>();

/** Records a new tensor in the innermost scope and the live count. */
export function track(t: Freeable, backendName: string): void {
  liveTensors.set(backendName, (liveTensors.get(backendName) ?? 0) + 1);
  if (scopes.length > 0) scopes[scopes.length - 1].add(t);
}

/** Records a tensor's disposal in the live count. */
export function untrack(backendName: string): void {
  liveTensors.set(backendName, (liveTensors.get(backendName) ?? 0) - 1);
}

/**
 * Makes a tensor survive every enclosing `scope()` (for parameters, optimizer
 * state and other long-lived values made inside one).
 *
 * @param t The tensor to keep.
 * @returns `t`.
 * @example
 * ```ts
 * import { keep, scope, zeros } from "../mod.ts";
 * let state;
 * scope(() => { state = keep(zeros([2])); });
 * ```
 */
export function keep<T extends Freeable>(t: T): T {
  kept.add(t);
  for (const s of scopes) s.delete(t);
  return t;
}

/**
 * Runs `fn` with a fresh set collecting the tensors it creates; when `fn`
 * throws, frees them and rethrows.
 */
function tracked<T>(fn: () => T): [T, Set<Freeable>] {
  const mine = new Set<Freeable>();
  scopes.push(mine);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of mine) if (!t.isDisposed) t.dispose();
    throw e;
  }
  scopes.pop();
  return [result, mine];
}

/**
 * Runs one op's body: when it throws part-way (a backend that refuses an
 * operand after the output was allocated), every tensor it created is
 * freed, so a failed op leaks nothing; when it returns, those tensors
 * belong to the enclosing scope as if made there.
 */
export function failSafe<T>(fn: () => T): T {
  const [result, mine] = tracked(fn);
  const parent = scopes[scopes.length - 1];
  if (parent) { for (const t of mine) parent.add(t); }
  return result;
}

function collect(value: unknown, into: Set<unknown>, seen: Set<unknown>): void {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  if ("dispose" in value && "isDisposed" in value) {
    into.add(value);
    return;
  }
  if (value instanceof Map) {
    for (const v of value.values()) collect(v, into, seen);
  } else if (Array.isArray(value)) {
    for (const v of value) collect(v, into, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, into, seen);
  }
}

function graphReach(root: Freeable): Set<Freeable> {
  const seen = new Set<Freeable>();
  const stack = [root];
  while (stack.length > 0) {
    const t = stack.pop()!;
    for (const r of t._graphRefs()) {
      if (!seen.has(r)) {
        seen.add(r);
        stack.push(r);
      }
    }
  }
  return seen;
}

/**
 * Runs `fn` synchronously and frees every tensor made inside it except the
 * ones it returns (found in arrays, plain objects and Maps) and kept ones.
 * Intermediates that a returned tensor's autograd graph needs are freed by
 * its `backward()` instead (or by an enclosing scope, if that comes first).
 *
 * @param fn Synchronous work.
 * @returns What `fn` returned.
 * @throws {TypeError} when `fn` returns a Promise (scopes are synchronous).
 * @example
 * ```ts
 * import { scope, tensor } from "../mod.ts";
 * const y = scope(() => tensor([1, 2]).mul(2).add(1));
 * ```
 */
export function scope<T>(fn: () => T): T {
  if (typeof fn !== "function") {
    throw new TypeError(`scope(fn): fn must be a function, got ${typeof fn}`);
  }
  const [result, mine] = tracked(fn);
  if (result instanceof Promise) {
    throw new TypeError("scope(fn) is synchronous: fn returned a Promise");
  }
  const out = new Set<unknown>();
  collect(result, out, new Set());
  // Intermediates that a returned tensor's graph still needs stay alive,
  // counted per returned tensor: its backward() or dispose() lets them go.
  for (const root of out as Set<Freeable>) {
    for (const t of graphReach(root)) {
      if (mine.has(t) && !out.has(t) && !kept.has(t) && !t.isDisposed) root._hold(t);
    }
  }
  const parent = scopes[scopes.length - 1];
  for (const t of mine) {
    if (t.isDisposed || kept.has(t)) continue;
    if (out.has(t) || t._graphOwners > 0) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/**
 * Live tensors, buffers and bytes on a backend (the default one).
 *
 * @param backendName Which backend; the default when omitted.
 * @returns Counts: tensors (views included), buffers, bytes.
 * @example
 * ```ts
 * import { memory } from "../mod.ts";
 * console.log(memory().buffers);
 * ```
 */
export function memory(
  backendName: string = getBackend(),
): { tensors: number; buffers: number; bytes: number } {
  const { buffers, bytes } = backendInstance(backendName).stats();
  return { tensors: liveTensors.get(backendName) ?? 0, buffers, bytes };
}
