/**
 * The kernel module's interface, written once: the elementwise op lists
 * (the emitter builds a kernel per entry, the runtime calls them, the CPU
 * backend routes exactly these ops to them), the map kernels' export names
 * and the typed exports object every thread instantiates.
 *
 * @module
 */

/**
 * Binary elementwise ops with Wasm kernels (float32, dense or scalar
 * operands); comparisons give 1 or 0.
 */
export const WASM_BINARY_OPS = ["add", "sub", "mul", "div", "eq", "lt", "gt"] as const;
/** Unary elementwise ops with Wasm kernels (float32, dense). */
export const WASM_UNARY_OPS = [
  "relu",
  "neg",
  "abs",
  "sqrt",
  "exp",
  "log",
  "tanh",
  "sigmoid",
] as const;
/**
 * Unary kernels that cost tens of instructions per element (a polynomial,
 * a division): worth sharing with the worker at smaller sizes.
 */
export const HEAVY_UNARY_OPS: ReadonlySet<string> = new Set(["exp", "log", "tanh", "sigmoid"]);
/** One of {@link WASM_BINARY_OPS}. */
export type WasmBinaryOp = typeof WASM_BINARY_OPS[number];
/** One of {@link WASM_UNARY_OPS}. */
export type WasmUnaryOp = typeof WASM_UNARY_OPS[number];

/** A map kernel's op: a binary or unary op, or the bit-exact `copy`. */
export type MapOp = WasmBinaryOp | WasmUnaryOp | "copy";

/**
 * How a map kernel takes its operands: `vv` two vectors, `vs` a vector and
 * an f32 scalar, `sv` a scalar and a vector, `vp` / `pv` a vector and a
 * pointer to the scalar (a broadcast value in memory, as a row walk finds
 * it), `v` one vector (unary, copy).
 */
export type MapForm = "vv" | "vs" | "sv" | "vp" | "pv" | "v";
/** The forms every binary op is built in. */
export const BINARY_FORMS = ["vv", "vs", "sv", "vp", "pv"] as const;

/** Export name of the map kernel of `op` in `form` (`add_vs`, `relu`, `copy`). */
export function mapKernelName(op: MapOp, form: MapForm): string {
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
  ...[...WASM_UNARY_OPS, "copy" as const].map((op) => ({
    name: mapKernelName(op, "v"),
    form: "v" as const,
  })),
];

const MAP_INDEX = new Map(MAP_KERNELS.map((k, i) => [k.name, i]));

/** Index in {@link MAP_KERNELS} of the kernel of `op` in `form`. */
export function mapKernelIndex(op: MapOp, form: MapForm): number {
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

/** A map kernel as a function of its operands (unused ones are ignored). */
type MapFn = (x: number, y: number, out: number, n: number) => void;

/** Kernel `kernel` of `ex`, called with (x, y or scalar, out, n) whatever its form. */
function mapFn(ex: KernelExports, kernel: number, scalar: number): MapFn {
  const { name, form } = MAP_KERNELS[kernel];
  const fn = (ex as unknown as Record<string, (...args: number[]) => void>)[name];
  switch (form) {
    case "vs":
      return (x, _y, out, n) => fn(x, scalar, out, n);
    case "sv":
      return (_x, y, out, n) => fn(scalar, y, out, n);
    case "v":
      return (x, _y, out, n) => fn(x, out, n);
    default: // vv, vp, pv: two addresses
      return fn as MapFn;
  }
}

/** Runs a map kernel, passing the operands its form takes. */
export function runMapKernel(ex: KernelExports, { kernel, x, y, scalar, out, n }: MapArgs): void {
  mapFn(ex, kernel, scalar)(x, y, out, n);
}

/** Outer dimensions a row task sent to the worker may have. */
export const MAX_ROW_DIMS = 4;

/**
 * Rows [start, end) of a map kernel run row by row: row r of the outer
 * index space `dims` (row-major) starts at x + Σ idx[d]·sx[d] (likewise y,
 * out; strides in elements, addresses in bytes) and has n elements.
 */
export interface RowArgs {
  /** Index of the kernel in {@link MAP_KERNELS} (form vv, vp, pv or v). */
  readonly kernel: number;
  /** Byte address of row 0's first operand (ignored by unary forms' y). */
  readonly x: number;
  /** Byte address of row 0's second operand. */
  readonly y: number;
  /** Byte address of row 0's output. */
  readonly out: number;
  /** Elements per row. */
  readonly n: number;
  /** Sizes of the outer dimensions. */
  readonly dims: readonly number[];
  /** Element strides of x over `dims`. */
  readonly sx: readonly number[];
  /** Element strides of y over `dims`. */
  readonly sy: readonly number[];
  /** Element strides of out over `dims`. */
  readonly so: readonly number[];
  /** First row to run. */
  readonly start: number;
  /** One past the last row to run. */
  readonly end: number;
}

/** Runs rows [start, end) of a row task (see {@link RowArgs}). */
export function runRowKernel(ex: KernelExports, a: RowArgs): void {
  const fn = mapFn(ex, a.kernel, 0);
  const { dims, sx, sy, so, n } = a;
  const nd = dims.length;
  const idx = new Array<number>(nd).fill(0);
  let px = a.x, py = a.y, po = a.out;
  for (let d = nd - 1, r = a.start; d >= 0; d--) {
    const i = r % dims[d];
    r = (r - i) / dims[d];
    idx[d] = i;
    px += 4 * i * sx[d], py += 4 * i * sy[d], po += 4 * i * so[d];
  }
  for (let row = a.start; row < a.end; row++) {
    fn(px, py, po, n);
    for (let d = nd - 1; d >= 0; d--) {
      px += 4 * sx[d], py += 4 * sy[d], po += 4 * so[d];
      if (++idx[d] < dims[d]) break;
      const k = 4 * dims[d];
      px -= k * sx[d], py -= k * sy[d], po -= k * so[d];
      idx[d] = 0;
    }
  }
}
