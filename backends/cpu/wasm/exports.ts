/**
 * The kernel module's interface, written once: the elementwise op lists
 * (the emitter builds a kernel per entry, the runtime calls them, the CPU
 * backend routes exactly these ops to them), the map kernels' export names
 * and the typed exports object every thread instantiates.
 *
 * @module
 */

/** Binary elementwise ops with Wasm kernels (float32, dense or scalar operands). */
export const WASM_BINARY_OPS = ["add", "sub", "mul", "div"] as const;
/** Unary elementwise ops with Wasm kernels (float32, dense). */
export const WASM_UNARY_OPS = ["relu", "neg", "abs"] as const;
/** One of {@link WASM_BINARY_OPS}. */
export type WasmBinaryOp = typeof WASM_BINARY_OPS[number];
/** One of {@link WASM_UNARY_OPS}. */
export type WasmUnaryOp = typeof WASM_UNARY_OPS[number];

/**
 * How a map kernel takes its operands: `vv` two vectors, `vs` a vector and
 * an f32 scalar, `sv` a scalar and a vector, `v` one vector (unary).
 */
export type MapForm = "vv" | "vs" | "sv" | "v";
/** The forms every binary op is built in. */
export const BINARY_FORMS = ["vv", "vs", "sv"] as const;

/** Export name of the map kernel of `op` in `form` (`add_vs`, `relu`). */
export function mapKernelName(op: WasmBinaryOp | WasmUnaryOp, form: MapForm): string {
  return form === "v" ? op : `${op}_${form}`;
}

/**
 * Every map kernel's export name in a fixed order; a thread message names a
 * kernel by its index here.
 */
export const MAP_KERNELS: readonly string[] = [
  ...WASM_BINARY_OPS.flatMap((op) => BINARY_FORMS.map((form) => mapKernelName(op, form))),
  ...WASM_UNARY_OPS.map((op) => mapKernelName(op, "v")),
];

/** The exports the SGEMM driver (`gemm.ts`) uses; strides in bytes. */
export interface GemmExports {
  /**
   * Runs the micro-kernel over every MR×NR tile of a packed A block
   * (mc×kc at `pa`) and B block (kc×nc at `pb`) into C (`c`, leading
   * dimension `ldc`); `load` 0 overwrites C; edge tiles go through `tile`.
   */
  gebp(
    mc: number,
    nc: number,
    kc: number,
    pa: number,
    pb: number,
    c: number,
    ldc: number,
    load: number,
    tile: number,
  ): void;
  /**
   * Copies an mn×kc block (element (x, k) at `src + x·sMN + k·sK`) into
   * strips of `w` lanes at `dst`, zero-padding the last strip.
   */
  pack(
    mn: number,
    kc: number,
    src: number,
    sMN: number,
    sK: number,
    dst: number,
    w: number,
  ): void;
}

/** Every export of the kernel module. */
export interface KernelExports extends GemmExports {
  /** Σ of n floats at p, f32 with 16 partial sums. */
  sum(p: number, n: number): number;
  /** out[r] = Σ_c p[r, c]. */
  row_sum(p: number, rows: number, cols: number, out: number): void;
  /** out[c] = Σ_r p[r, c]. */
  col_sum(p: number, rows: number, cols: number, out: number): void;
  /** One Adam/AdamW step over n floats (see `emit_elementwise.ts`). */
  adam(
    p: number,
    g: number,
    m: number,
    v: number,
    n: number,
    wd: number,
    b1: number,
    omb1: number,
    b2: number,
    omb2: number,
    decay: number,
    negStep: number,
    sqrtBc2: number,
    eps: number,
    useWd: number,
  ): void;
}

/**
 * A map kernel: `(x, y, out, n)` for `vv`, `(x, s, out, n)` for `vs`,
 * `(s, y, out, n)` for `sv`, `(x, out, n)` for `v`.
 */
export type MapKernel = (...args: number[]) => void;

/** The map kernel at `index` of {@link MAP_KERNELS}. */
export function mapKernel(ex: KernelExports, index: number): MapKernel {
  return (ex as unknown as Record<string, MapKernel>)[MAP_KERNELS[index]];
}
