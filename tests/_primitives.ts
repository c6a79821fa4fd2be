/**
 * Registers "cpu-primitives": the CPU backend with its optional fused paths
 * removed, so the composed versions (softmax, linear, …) run through the
 * same suites and are held to the same numbers as the fused ones.
 *
 * @module
 */
import { registerBackend } from "../mod.ts";
import { CpuBackend, type FusedOps } from "../backends/mod.ts";

/** The CPU backend without fused paths. */
export class PrimitiveCpuBackend extends CpuBackend {
  override readonly fused: FusedOps = {};
}

registerBackend("cpu-primitives", () => new PrimitiveCpuBackend("cpu-primitives"));
