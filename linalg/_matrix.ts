/**
 * What `linalg` shares: argument checks, reading a matrix to float64 on the
 * host, and uploading float64 results as float32 tensors on the input's
 * backend.
 *
 * @module
 */

import { Tensor, tensor } from "../tensor/mod.ts";

/** A value as a message quotes it. */
function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v === null || typeof v !== "object") return String(v);
  return Array.isArray(v) ? `[${v.map(show).join(",")}]` : (v.constructor?.name ?? "object");
}

/**
 * Throws unless `x` is a live 2-D float32 Tensor.
 *
 * @throws {TypeError} For a non-Tensor or an int32 tensor.
 * @throws {RangeError} For a tensor that is not 2-D.
 */
export function checkMatrix(who: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) {
    throw new TypeError(`${who}: expected a Tensor, got ${show(x)}`);
  }
  if (x.dtype !== "float32") {
    throw new TypeError(`${who}: expected a float32 tensor, got ${x.dtype} of shape [${x.shape}]`);
  }
  if (x.ndim !== 2) {
    throw new RangeError(`${who}: expected a 2-D tensor (a matrix), got shape [${x.shape}]`);
  }
  return x;
}

/**
 * Throws unless `opts` is undefined or an object whose keys are among
 * `allowed`; returns it as a record.
 *
 * @throws {TypeError} For a non-object or an unknown key.
 */
export function checkOptions(
  who: string,
  opts: unknown,
  allowed: readonly string[],
): Record<string, unknown> {
  if (opts === undefined) return {};
  if (opts === null || typeof opts !== "object" || Array.isArray(opts)) {
    throw new TypeError(`${who}: options must be an object, got ${show(opts)}`);
  }
  const unknown = Object.keys(opts).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw new TypeError(
      `${who}: unknown option(s) ${unknown.map(show).join(", ")} (known: ${
        allowed.map(show).join(", ")
      })`,
    );
  }
  return opts as Record<string, unknown>;
}

/**
 * The matrix's elements as float64, row-major.
 *
 * @throws {RangeError} For a NaN or infinite element, naming its place.
 */
export async function readMatrix(who: string, x: Tensor): Promise<Float64Array> {
  return toFloat64(who, x, await x.data());
}

/**
 * A result that is there at once where the input's backend reads back
 * synchronously (the CPU backends), and that can always be awaited (the
 * WebGPU backend reads back asynchronously): `const { U, S, Vh } =
 * linalg.svd(x)` on the CPU, `const { U, S, Vh } = await linalg.svd(x)`
 * on any backend.
 */
export type Settled<T> = T & PromiseLike<T>;

/**
 * Runs `compute` on the matrix now when its backend reads synchronously,
 * else when the result is awaited (once). Where it is not there yet, the
 * result's fields throw a TypeError that says to await it.
 *
 * @throws {RangeError} (now, or on await) For a NaN or infinite element.
 */
export function settle<T extends object>(
  who: string,
  x: Tensor,
  keys: readonly string[],
  compute: (a: Float64Array) => T,
): Settled<T> {
  const then = (value: () => Promise<T>) => ({
    value: <A = T, B = never>(
      ok?: ((v: T) => A | PromiseLike<A>) | null,
      bad?: ((e: unknown) => B | PromiseLike<B>) | null,
    ) => value().then(ok, bad),
  });
  if (x._backend.readSync) {
    const r = compute(toFloat64(who, x, x.dataSync()));
    // Awaiting it resolves to a plain copy (resolving to a thenable recurses).
    Object.defineProperty(r, "then", then(() => Promise.resolve({ ...r })));
    return r as Settled<T>;
  }
  let pending: Promise<T> | null = null;
  const out = {} as T;
  for (const k of keys) {
    Object.defineProperty(out, k, {
      enumerable: true,
      get() {
        throw new TypeError(
          `${who}: the ${x.backend} backend reads back asynchronously, so the result is a ` +
            `promise here: await it (const { ${keys.join(", ")} } = await ${who}(x))`,
        );
      },
    });
  }
  Object.defineProperty(out, "then", then(() => pending ??= readMatrix(who, x).then(compute)));
  return out as Settled<T>;
}

function toFloat64(who: string, x: Tensor, data: ArrayLike<number>): Float64Array {
  const out = new Float64Array(data.length);
  const cols = x.shape[1];
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) {
      const at = `[${Math.floor(i / cols)}, ${i % cols}]`;
      throw new RangeError(
        `${who}: the input of shape [${x.shape}] holds ${v} at ${at}; it needs finite values`,
      );
    }
    out[i] = v;
  }
  return out;
}

/** A float32 tensor of `shape` holding `values`, on `backend`. */
export function upload(values: Float64Array, shape: number[], backend: string): Tensor {
  return tensor(Float32Array.from(values), { shape, backend });
}
