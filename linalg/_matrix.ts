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
  const data = await x.data();
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
