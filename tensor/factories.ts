/**
 * Making tensors: from data, constants, ranges and the seeded generator.
 *
 * @module
 */
import type { DType, TypedArray } from "../backends/backend.ts";
import { backendInstance } from "../backends/registry.ts";
import { fromData, full as fullOp } from "./ops.ts";
import { normalArray, uniformArray } from "./random.ts";
import { fmtShape, numel } from "./shape.ts";
import type { NestedArray, Tensor } from "./tensor.ts";

/** Options every factory takes. */
export interface TensorOptions {
  /** Shape (for `tensor()` from flat data; inferred from nesting otherwise). */
  shape?: readonly number[];
  /** Element type; float32 by default. */
  dtype?: DType;
  /** Track gradients (float32 only). */
  requiresGrad?: boolean;
  /** Backend name; the default backend when omitted. */
  backend?: string;
}

function checkShape(shape: readonly number[], what: string): void {
  if (!Array.isArray(shape) || shape.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new RangeError(`${what}: invalid shape ${JSON.stringify(shape)}`);
  }
}

function checkDtype(dtype: unknown): DType {
  if (dtype !== "float32" && dtype !== "int32") {
    throw new TypeError(`unknown dtype ${JSON.stringify(dtype)}: use "float32" or "int32"`);
  }
  return dtype;
}

function finish(t: Tensor, opts: TensorOptions): Tensor {
  if (opts.requiresGrad) {
    try {
      t.requiresGrad = true;
    } catch (e) {
      t.dispose();
      throw e;
    }
  }
  return t;
}

function inferNested(data: NestedArray): { values: number[]; shape: number[] } {
  const shape: number[] = [], values: number[] = [];
  // Walk the first path to fix the shape, then check every row against it.
  let probe: NestedArray = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
    if (probe === undefined) break;
  }
  flattenFixed(data, shape, values, 0);
  return { values, shape };
}

function flattenFixed(data: NestedArray, shape: number[], out: number[], depth: number): void {
  if (typeof data !== "number" && !Array.isArray(data)) {
    throw new TypeError(
      `tensor(): expected numbers or arrays, got ${typeof data} (${String(data)})`,
    );
  }
  if (depth === shape.length) {
    if (typeof data !== "number") {
      throw new RangeError(`tensor(): ragged nested array: expected a number at depth ${depth}`);
    }
    out.push(data);
    return;
  }
  if (!Array.isArray(data)) {
    throw new RangeError(
      `tensor(): ragged nested array: expected an array of length ${
        shape[depth]
      } at depth ${depth}, got ${typeof data}`,
    );
  }
  if (data.length !== shape[depth]) {
    throw new RangeError(
      `tensor(): ragged nested array: a row of length ${data.length} where ${
        shape[depth]
      } was expected (depth ${depth})`,
    );
  }
  for (const d of data) flattenFixed(d, shape, out, depth + 1);
}

/**
 * Makes a tensor from a number, nested arrays or a typed array.
 *
 * @param data The values.
 * @param opts Shape, dtype, requiresGrad, backend.
 * @returns A new tensor.
 * @throws {RangeError} for ragged arrays or data that does not fit `shape`.
 * @throws {TypeError} for requiresGrad on int32 or non-numeric data.
 * @example
 * ```ts
 * import { tensor } from "../mod.ts";
 * const t = tensor([[1, 2], [3, 4]]);
 * ```
 */
export function tensor(
  data: NestedArray | Float32Array | Int32Array,
  opts: TensorOptions = {},
): Tensor {
  let values: ArrayLike<number>, shape: readonly number[];
  if (data instanceof Float32Array || data instanceof Int32Array) {
    values = data;
    shape = opts.shape ?? [data.length];
  } else if (typeof data === "number") {
    values = [data];
    shape = opts.shape ?? [];
  } else if (Array.isArray(data)) {
    const nested = inferNested(data);
    values = nested.values;
    shape = opts.shape ?? nested.shape;
  } else {
    throw new TypeError(
      `tensor(): data must be a number, nested number arrays, Float32Array or Int32Array, got ${typeof data}`,
    );
  }
  checkShape(shape, "tensor()");
  if (numel(shape) !== values.length) {
    throw new RangeError(
      `tensor(): data has ${values.length} elements but shape ${fmtShape(shape)} needs ${
        numel(shape)
      }`,
    );
  }
  const dtype = checkDtype(opts.dtype ?? (data instanceof Int32Array ? "int32" : "float32"));
  if (opts.requiresGrad && dtype !== "float32") {
    throw new TypeError(`tensor(): requiresGrad needs float32, got ${dtype}`);
  }
  const arr: TypedArray = dtype === "int32"
    ? Int32Array.from(values, Math.trunc)
    : Float32Array.from(values);
  return finish(fromData(arr, shape, backendInstance(opts.backend)), opts);
}

/**
 * A tensor filled with one value.
 *
 * @param shape Sizes.
 * @param value The fill value.
 * @param opts dtype, requiresGrad, backend.
 * @returns A new tensor.
 * @example
 * ```ts
 * import { full } from "../mod.ts";
 * full([2, 2], 7);
 * ```
 */
export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor {
  checkShape(shape, "full()");
  const dtype = checkDtype(opts.dtype ?? "float32");
  const t = fullOp(shape, value, dtype, backendInstance(opts.backend));
  return finish(t, opts);
}

/**
 * Zeros.
 *
 * @param shape Sizes.
 * @param opts dtype, requiresGrad, backend.
 * @returns A new tensor.
 * @example
 * ```ts
 * import { zeros } from "../mod.ts";
 * zeros([2, 3]);
 * ```
 */
export function zeros(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return full(shape, 0, opts);
}

/**
 * Ones.
 *
 * @param shape Sizes.
 * @param opts dtype, requiresGrad, backend.
 * @returns A new tensor.
 * @example
 * ```ts
 * import { ones } from "../mod.ts";
 * ones([3]);
 * ```
 */
export function ones(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return full(shape, 1, opts);
}

/**
 * Standard normal samples from the seeded generator.
 *
 * @param shape Sizes.
 * @param opts requiresGrad, backend.
 * @returns A new float32 tensor.
 * @example
 * ```ts
 * import { manualSeed, randn } from "../mod.ts";
 * manualSeed(0);
 * randn([2, 2]);
 * ```
 */
export function randn(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  checkShape(shape, "randn()");
  const t = fromData(normalArray(numel(shape)), shape, backendInstance(opts.backend));
  return finish(t, opts);
}

/**
 * Uniform samples in [0, 1) from the seeded generator.
 *
 * @param shape Sizes.
 * @param opts requiresGrad, backend.
 * @returns A new float32 tensor.
 * @example
 * ```ts
 * import { rand } from "../mod.ts";
 * rand([4]);
 * ```
 */
export function rand(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  checkShape(shape, "rand()");
  const t = fromData(uniformArray(numel(shape)), shape, backendInstance(opts.backend));
  return finish(t, opts);
}

/**
 * `arange(end)` or `arange(start, end, step?)`: evenly spaced values in
 * [start, end); float32 unless `opts.dtype` says int32 (for indices).
 *
 * @param start Start (or the end, when it is the only argument).
 * @param end End, exclusive.
 * @param step Spacing, non-zero.
 * @param opts dtype, backend.
 * @returns A new 1-D tensor.
 * @throws {RangeError} for a zero step.
 * @example
 * ```ts
 * import { arange } from "../mod.ts";
 * arange(5); // [0, 1, 2, 3, 4]
 * ```
 */
export function arange(
  start: number,
  end?: number,
  step = 1,
  opts: TensorOptions = {},
): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0 || !Number.isFinite(step)) {
    throw new RangeError(`arange(): step must be finite and non-zero, got ${step}`);
  }
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = checkDtype(opts.dtype ?? "float32");
  const data = dtype === "int32" ? new Int32Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return finish(fromData(data, [n], backendInstance(opts.backend)), opts);
}
