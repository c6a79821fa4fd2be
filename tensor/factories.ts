/**
 * Making tensors: from data, constants, ranges and the seeded generator.
 *
 * @module
 */
import type { DType, TypedArray } from "../backends/backend.ts";
import { backendInstance } from "../backends/registry.ts";
import { filledBy, full as fullOp } from "./_op_helpers.ts";
import { normalArray, uniformArray } from "./random.ts";
import { checkShape, describe, fmtShape, numel } from "./shape.ts";
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

/**
 * Host arrays the factories fill are capped here (4 GiB of float32), so a
 * huge request is a RangeError before any memory is touched.
 */
const MAX_HOST_ELEMENTS = 2 ** 30;

function checkSize(shape: readonly number[], what: string): number {
  const n = numel(checkShape(shape, what));
  if (n > MAX_HOST_ELEMENTS) {
    throw new RangeError(
      `${what}: shape ${fmtShape(shape)} has ${n} elements, more than ${MAX_HOST_ELEMENTS}`,
    );
  }
  return n;
}

/** Validates a factory's options object; returns the dtype (float32 by default). */
function checkOpts(opts: unknown, what: string): DType {
  if (opts === undefined) return "float32";
  if (opts === null || typeof opts !== "object" || Array.isArray(opts)) {
    throw new TypeError(`${what}: options must be an object, got ${describe(opts)}`);
  }
  const o = opts as TensorOptions;
  const dtype = o.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "int32") {
    throw new TypeError(
      `${what}: unknown dtype ${describe(dtype)}: use "float32" or "int32"`,
    );
  }
  if (o.requiresGrad !== undefined && typeof o.requiresGrad !== "boolean") {
    throw new TypeError(`${what}: requiresGrad must be a boolean, got ${describe(o.requiresGrad)}`);
  }
  if (o.requiresGrad && dtype !== "float32") {
    throw new TypeError(`${what}: requiresGrad needs float32, got ${dtype}`);
  }
  if (o.backend !== undefined && typeof o.backend !== "string") {
    throw new TypeError(`${what}: backend must be a name, got ${describe(o.backend)}`);
  }
  return dtype;
}

/**
 * Checks host values bound for an int32 tensor: finite and within int32
 * after truncation (a silent wrap would be a wrong number).
 */
function checkInt32Values(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = Math.trunc(values[i]);
    if (!(v >= -2147483648 && v <= 2147483647)) {
      throw new RangeError(`${what}: value ${values[i]} (element ${i}) does not fit in int32`);
    }
  }
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
    throw new TypeError(`tensor(): expected numbers or arrays, got ${describe(data)}`);
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
  for (let i = 0; i < data.length; i++) {
    if (!(i in data)) throw new TypeError(`tensor(): the nested array has a hole (depth ${depth})`);
    flattenFixed(data[i], shape, out, depth + 1);
  }
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
  // An Int32Array keeps int32 unless the options name another dtype.
  const o = opts === undefined ? {} : opts;
  const withDefault = data instanceof Int32Array && o && typeof o === "object" &&
      o.dtype === undefined
    ? { ...o, dtype: "int32" as const }
    : o;
  let values: ArrayLike<number>, shape: readonly number[];
  // Checked in order: the data, the options, the shape, the values.
  if (data instanceof Float32Array || data instanceof Int32Array) {
    values = data;
    shape = [data.length];
  } else if (typeof data === "number") {
    values = [data];
    shape = [];
  } else if (Array.isArray(data)) {
    const nested = inferNested(data);
    values = nested.values;
    shape = nested.shape;
  } else {
    throw new TypeError(
      `tensor(): data must be a number, nested number arrays, Float32Array or Int32Array, got ${
        describe(data)
      }`,
    );
  }
  const dtype = checkOpts(withDefault, "tensor()");
  if (o.shape !== undefined) shape = o.shape;
  const n = checkSize(shape, "tensor()");
  if (n !== values.length) {
    throw new RangeError(
      `tensor(): data has ${values.length} elements but shape ${fmtShape(shape)} needs ${n}`,
    );
  }
  if (dtype === "int32" && !(data instanceof Int32Array)) checkInt32Values(values, "tensor()");
  const make = (): TypedArray =>
    dtype === "int32" ? Int32Array.from(values, Math.trunc) : Float32Array.from(values);
  return finish(filledBy(shape, dtype, backendInstance(o.backend), make), o);
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
  return filled(shape, value, opts, "full()");
}

function filled(
  shape: readonly number[],
  value: number,
  opts: TensorOptions,
  what: string,
): Tensor {
  // Arguments are checked in order: shape, value, options.
  checkSize(shape, what);
  if (typeof value !== "number") {
    throw new TypeError(`${what}: the fill value must be a number, got ${describe(value)}`);
  }
  const dtype = checkOpts(opts, what);
  if (dtype === "int32") checkInt32Values([value], what);
  const t = fullOp(shape, value, dtype, backendInstance(opts?.backend));
  return finish(t, opts ?? {});
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
  return filled(shape, 0, opts, "zeros()");
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
  return filled(shape, 1, opts, "ones()");
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
  return random(shape, opts, "randn()", normalArray);
}

function random(
  shape: readonly number[],
  opts: TensorOptions,
  what: string,
  draw: (n: number) => Float32Array,
): Tensor {
  const n = checkSize(shape, what);
  if (checkOpts(opts, what) !== "float32") {
    throw new TypeError(`${what}: random values are float32; dtype int32 is not supported`);
  }
  const backend = backendInstance(opts?.backend);
  return finish(filledBy(shape, "float32", backend, () => draw(n)), opts ?? {});
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
  return random(shape, opts, "rand()", uniformArray);
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
 * @throws {TypeError} for a bound or step that is not a number.
 * @throws {RangeError} for a zero or non-finite step, non-finite bounds, a
 *   step whose sign points away from `end`, or too many elements.
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
  for (const v of [start, end, step]) {
    if (v !== undefined && typeof v !== "number") {
      throw new TypeError(`arange(): bounds and step must be numbers, got ${describe(v)}`);
    }
  }
  if (end === undefined) [start, end] = [0, start];
  if (!Number.isFinite(start) || !Number.isFinite(end)) {
    throw new RangeError(`arange(): bounds must be finite, got ${start} and ${end}`);
  }
  if (step === 0 || !Number.isFinite(step)) {
    throw new RangeError(`arange(): step must be finite and non-zero, got ${step}`);
  }
  if ((end - start) * step < 0) {
    throw new RangeError(
      `arange(): step ${step} points away from the end (start ${start}, end ${end})`,
    );
  }
  const n = checkSize([Math.ceil((end - start) / step)], "arange()");
  const dtype = checkOpts(opts, "arange()");
  if (dtype === "int32" && n > 0) checkInt32Values([start, start + (n - 1) * step], "arange()");
  const fill = (): TypedArray => {
    const data = dtype === "int32" ? new Int32Array(n) : new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = start + i * step!;
    return data;
  };
  return finish(filledBy([n], dtype, backendInstance(opts?.backend), fill), opts ?? {});
}
