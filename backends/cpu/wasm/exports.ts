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

/** One map kernel: its export name and operand form. */
export interface MapKernelInfo {
  /** The export name. */
  readonly name: string;
  /** How it takes its operands. */
  readonly form: MapForm;
}

/**
 * Every map kernel in a fixed order; a thread message names a kernel by
 * its index here.
 */
export const MAP_KERNELS: readonly MapKernelInfo[] = [
  ...WASM_BINARY_OPS.flatMap((op) =>
    BINARY_FORMS.map((form) => ({ name: mapKernelName(op, form), form }))
  ),
  ...WASM_UNARY_OPS.map((op) => ({ name: mapKernelName(op, "v"), form: "v" as const })),
];

const MAP_INDEX = new Map(MAP_KERNELS.map((k, i) => [k.name, i]));

/** Index in {@link MAP_KERNELS} of the kernel of `op` in `form`. */
export function mapKernelIndex(op: WasmBinaryOp | WasmUnaryOp, form: MapForm): number {
  return MAP_INDEX.get(mapKernelName(op, form))!;
}

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
 * The adam kernel's f32 constants in its parameter order: the L2 decay,
 * β1, 1−β1, β2, 1−β2, the decoupled decay factor 1 − lr·decoupledDecay,
 * −lr/bias1, √bias2 and eps.
 */
export const ADAM_CONSTS = [
  "wd",
  "b1",
  "omb1",
  "b2",
  "omb2",
  "decay",
  "negStep",
  "sqrtBc2",
  "eps",
] as const;
/** Values of {@link ADAM_CONSTS}. */
export type AdamConsts = Readonly<Record<typeof ADAM_CONSTS[number], number>>;

/** Runs the adam kernel over `n` floats at the four byte addresses. */
export function runAdamKernel(
  ex: KernelExports,
  p: { readonly param: number; readonly grad: number; readonly m: number; readonly v: number },
  n: number,
  consts: AdamConsts,
): void {
  const c = ADAM_CONSTS.map((k) => consts[k]);
  // The kernel skips the L2 term entirely when there is none.
  // deno-fmt-ignore
  ex.adam(p.param, p.grad, p.m, p.v, n, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8],
    consts.wd !== 0 ? 1 : 0);
}

/** One run of a map kernel. */
export interface MapArgs {
  /** Index of the kernel in {@link MAP_KERNELS}. */
  readonly kernel: number;
  /** The first vector operand's byte address (ignored by `sv`). */
  readonly x: number;
  /** The second vector operand's byte address (`vv`, `sv` only). */
  readonly y: number;
  /** The scalar operand (`vs`, `sv` only). */
  readonly scalar: number;
  /** The output's byte address. */
  readonly out: number;
  /** Element count. */
  readonly n: number;
}

/** Runs a map kernel, passing the operands its form takes. */
export function runMapKernel(ex: KernelExports, { kernel, x, y, scalar, out, n }: MapArgs): void {
  const { name, form } = MAP_KERNELS[kernel];
  const fn = (ex as unknown as Record<string, (...args: number[]) => void>)[name];
  if (form === "vv") fn(x, y, out, n);
  else if (form === "vs") fn(x, scalar, out, n);
  else if (form === "sv") fn(scalar, y, out, n);
  else fn(x, out, n);
}
