/**
 * Compiled compute kernels: how a kernel binds its buffers and the one
 * function that turns WGSL into a pipeline with its bind-group layout
 * (binding 0 is always the read-only parameter words).
 *
 * @module
 */

/** How a kernel binds a buffer. */
export type Access = "read" | "read_write";

/** A compiled kernel and its bind-group layout. */
export interface Kernel {
  /** The cache key, named in errors. */
  readonly key: string;
  /** The pipeline. */
  readonly pipeline: GPUComputePipeline;
  /** Layout of group 0. */
  readonly layout: GPUBindGroupLayout;
  /** Access of each binding after the parameter binding 0. */
  readonly access: readonly Access[];
}

/** One buffer bound to a kernel, in binding order after the parameters. */
export interface Binding {
  /** The storage. */
  readonly gpu: GPUBuffer;
  /** Bytes bound (multiple of 4, at least 4). */
  readonly bytes: number;
  /**
   * Byte offset of the bound window (default 0; a multiple of the device's
   * `minStorageBufferOffsetAlignment`). Kernels whose operands may exceed
   * one binding bind a window of the buffer instead of all of it.
   */
  readonly offset?: number;
}

const COMPUTE_STAGE = 0x4;

/**
 * Compiles `code` (entry point `main`) into a pipeline whose bindings are
 * the parameter words, then one buffer per entry of `access`.
 *
 * @param device the device to compile on
 * @param key the kernel's cache key, used as its label
 * @param code WGSL source
 * @param access access of bindings 1…
 * @returns the kernel
 */
export function compileKernel(
  device: GPUDevice,
  key: string,
  code: string,
  access: Access[],
): Kernel {
  const all: Access[] = ["read", ...access];
  const layout = device.createBindGroupLayout({
    label: key,
    entries: all.map((a, i) => ({
      binding: i,
      visibility: COMPUTE_STAGE,
      buffer: { type: a === "read" ? "read-only-storage" : "storage" },
    })),
  });
  const pipeline = device.createComputePipeline({
    label: key,
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module: device.createShaderModule({ label: key, code }), entryPoint: "main" },
  });
  return { key, pipeline, layout, access };
}
