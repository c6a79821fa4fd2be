/**
 * Registers the built-in backends under their names.
 *
 * @module
 */
import { registerBackend } from "./registry.ts";
import { CpuBackend } from "./cpu/cpu_backend.ts";

registerBackend("cpu", () => new CpuBackend("cpu"));
