/**
 * Registers the built-in backends under their names.
 *
 * @module
 */
import { registerBackend } from "./registry.ts";
import { CpuBackend } from "./cpu/mod.ts";
import { createWebGpuBackend } from "./webgpu/mod.ts";

registerBackend("cpu", () => new CpuBackend("cpu"));
// Created on first use: `await setBackend("webgpu")` rejects clearly when
// there is no adapter, and never falls back.
registerBackend("webgpu", () => createWebGpuBackend());
