/**
 * Every WebGPU / WGSL limit the backend works around, in one place.
 *
 * Each constant or helper says which rule of the platform it encodes, so a
 * kernel never hard-codes a number that the rules dictate.
 *
 * @module
 */

/**
 * Threads per workgroup of the 1-D kernels. 256 is the WebGPU default for
 * `maxComputeInvocationsPerWorkgroup` (and for each `maxComputeWorkgroupSize`
 * axis), so it runs on every adapter without asking for raised limits.
 */
export const WORKGROUP_SIZE = 256;

/**
 * `maxComputeWorkgroupsPerDimension` is 65,535 by default: a dispatch with
 * more workgroups in one dimension is rejected, so 1-D grids above this are
 * split into a 2-D grid (see {@link grid2d}) and batches above it into
 * several dispatches.
 */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/**
 * Storage bindings must be a non-zero multiple of 4 bytes: WebGPU rejects
 * zero-size bindings and WGSL arrays hold 4-byte elements. Every buffer is at
 * least this many bytes, even for a tensor of zero elements.
 */
export const MIN_BUFFER_BYTES = 4;

/** Bytes per element: both dtypes are 4 bytes (WGSL has no bool storage). */
export const ELEMENT_BYTES = 4;

/**
 * Smallest pool bucket. Tiny buffers share one bucket so scalars reuse each
 * other's storage; 256 is also the usual `minStorageBufferOffsetAlignment`.
 */
export const MIN_BUCKET_BYTES = 256;

/** Bytes the buffer pool keeps in its free lists before destroying. */
export const POOL_CAP_BYTES = 256 * 1024 * 1024;

/**
 * Dispatches recorded into one command encoder before it is submitted.
 * Work is also submitted whenever a value is read or `sync` is called.
 */
export const MAX_BATCH_DISPATCHES = 64;

/**
 * Bytes of the per-batch parameter ("meta") arena. Each dispatch's shapes,
 * strides and offsets live in a slot of it, bound with a static offset, so
 * a new shape never compiles a new shader. Bind offsets must be multiples of
 * `minStorageBufferOffsetAlignment` (256 by default, read from the device).
 */
export const META_ARENA_BYTES = 64 * 1024;

/**
 * WGSL has no infinity or NaN literals (and constant folding rejects
 * overflowing expressions such as `exp(100.0)`), so they are made by
 * bitcasting their IEEE-754 bit patterns — of a `var`, at run time: naga
 * cannot evaluate `bitcast` in a `const` declaration, and Tint (Chrome)
 * folds a bitcast of a literal and rejects the infinity it makes.
 */
export const WGSL_INF = "bits_f32(0x7f800000u)";
/** Negative infinity, see {@link WGSL_INF}. */
export const WGSL_NEG_INF = "bits_f32(0xff800000u)";
/** A quiet NaN, see {@link WGSL_INF}. */
export const WGSL_NAN = "bits_f32(0x7fc00000u)";
/** The smallest i32: `-2147483648` is not a valid WGSL i32 literal. */
export const WGSL_I32_MIN = "(-2147483647 - 1)";

/**
 * `exp(x)` overflows f32 above this (ln of the largest f32); WGSL leaves the
 * result of an overflowing builtin unspecified, so kernels return +inf
 * explicitly past it.
 */
export const EXP_OVERFLOW = 88.72283;
/** `exp(x)` is 0 in f32 (even as a denormal) below this. */
export const EXP_UNDERFLOW = -103.97208;

/** Rounds a byte count up to a multiple of 4 and at least 4. */
export function bindingBytes(elements: number): number {
  return Math.max(MIN_BUFFER_BYTES, Math.ceil(elements) * ELEMENT_BYTES);
}

/**
 * The pool bucket for a request: powers of two up to 1 MiB, then quarter
 * steps between powers of two (at most 25% slack), never below
 * {@link MIN_BUCKET_BYTES}. Capped at `maxBytes` (the device's
 * `maxBufferSize`), where the exact size is used.
 */
export function bucketBytes(bytes: number, maxBytes: number): number {
  if (bytes <= MIN_BUCKET_BYTES) return MIN_BUCKET_BYTES;
  const pow = 2 ** Math.ceil(Math.log2(bytes));
  let out = pow;
  if (pow > 1024 * 1024) {
    const step = pow / 8;
    out = Math.ceil(bytes / step) * step;
  }
  return out > maxBytes ? bytes : out;
}

/**
 * Throws a clear error when a buffer would exceed what one buffer may hold
 * (`maxBufferSize`). A buffer over `maxStorageBufferBindingSize` is
 * allowed: the ops that meet such tensors bind windows of it.
 */
export function checkBufferSize(bytes: number, limits: { maxBufferSize: number }): void {
  if (bytes > limits.maxBufferSize) {
    throw new RangeError(
      `webgpu: a buffer of ${bytes} bytes exceeds this device's maxBufferSize ` +
        `(${limits.maxBufferSize} bytes); split the tensor or use a backend without this limit`,
    );
  }
}

/**
 * The binding window covering elements `[first, end)` of a buffer: its
 * start rounded down to `align` elements (the device's offset alignment),
 * as a byte offset and size, and the element the window starts at (kernels
 * index relative to it).
 */
export function windowOf(
  first: number,
  end: number,
  align: number,
): { offset: number; bytes: number; base: number } {
  const base = Math.floor(first / align) * align;
  return { offset: base * ELEMENT_BYTES, bytes: bindingBytes(end - base), base };
}

/**
 * Splits `groups` workgroups into an `[x, y]` grid with each side at most
 * `maxPerDim` (the device's `maxComputeWorkgroupsPerDimension`); kernels rebuild the linear id as
 * `wid.y * nwg.x + wid.x` and bound-check it.
 */
export function grid2d(groups: number, maxPerDim = MAX_WORKGROUPS_PER_DIM): [number, number] {
  if (groups <= maxPerDim) return [Math.max(1, groups), 1];
  const y = Math.ceil(groups / maxPerDim);
  if (y > maxPerDim) {
    throw new Error(`webgpu: ${groups} workgroups exceed a 2-D dispatch grid`);
  }
  return [Math.ceil(groups / y), y];
}
