/**
 * The WebAssembly module holding every CPU kernel (GEMM pieces, elementwise
 * maps, reductions, Adam): engine feature detection and the build, which
 * first checks the SGEMM's blocking invariants (`blocking.ts`). All
 * pointers are byte addresses into one imported shared memory; strides
 * passed to the GEMM helpers are bytes.
 *
 * @module
 */

import { V128 } from "./assembler.ts";
import { ModuleBuilder } from "./module_builder.ts";
import { checkBlocking } from "./blocking.ts";
import { gebp, mergeTile, microKernel } from "./emit_gemm.ts";
import { pack } from "./emit_pack.ts";
import { addElementwise } from "./emit_elementwise.ts";
import type { KernelExports } from "./exports.ts";

/** Whether this engine validates a module using `f32x4.relaxed_madd`. */
export function detectRelaxedSimd(): boolean {
  const mb = new ModuleBuilder();
  const { f } = mb.func("f", [V128, V128, V128], [V128]);
  f.localGet(0).localGet(1).localGet(2).f32x4RelaxedMadd();
  try {
    return WebAssembly.validate(mb.emit() as BufferSource);
  } catch {
    return false;
  }
}

/** Whether this engine validates a plain 128-bit SIMD module. */
export function detectSimd(): boolean {
  const mb = new ModuleBuilder();
  const { f } = mb.func("f", [V128, V128], [V128]);
  f.localGet(0).localGet(1).f32x4Add();
  try {
    return WebAssembly.validate(mb.emit() as BufferSource);
  } catch {
    return false;
  }
}

/** Builds the complete kernel module. */
export function buildKernelModule(relaxed: boolean): Uint8Array {
  checkBlocking();
  const mb = new ModuleBuilder();
  mb.importSharedMemory(1, 65536);
  const kernel = microKernel(mb, relaxed);
  const merge = mergeTile(mb);
  gebp(mb, kernel, merge);
  pack(mb);
  addElementwise(mb);
  return mb.emit();
}

/**
 * Builds the module (with or without relaxed SIMD's fused multiply-add in
 * the micro-kernel) and instantiates it over `memory`.
 */
export function instantiateKernels(memory: WebAssembly.Memory, relaxed: boolean): KernelExports {
  const module = new WebAssembly.Module(buildKernelModule(relaxed) as BufferSource);
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as KernelExports;
}
