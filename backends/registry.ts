/**
 * The backend registry: names to factories, and the default backend.
 * A third backend needs only `registerBackend(name, factory)`.
 *
 * @module
 */
import type { Backend, BackendFactory } from "./backend.ts";

const factories = new Map<string, BackendFactory>();
const instances = new Map<string, Backend>();
let current = "cpu";

/**
 * Registers a backend factory under a name (replacing an earlier one of that
 * name that was never instantiated).
 *
 * @param name The name tensors report as `t.backend`.
 * @param factory Makes the backend, once, on first use.
 * @example
 * ```ts
 * import { registerBackend } from "./registry.ts";
 * import { CpuBackend } from "./cpu/cpu_backend.ts";
 * registerBackend("cpu-copy", () => new CpuBackend("cpu-copy"));
 * ```
 */
export function registerBackend(name: string, factory: BackendFactory): void {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`backend name must be a non-empty string, got ${name}`);
  }
  factories.set(name, factory);
  instances.delete(name);
}

/**
 * Makes `name` the default backend for new tensors, creating it if needed.
 *
 * @param name A registered backend name ("cpu", "webgpu", …).
 * @returns Resolves once the backend is ready.
 * @throws {Error} when the name is unknown or the backend cannot start
 *   (for WebGPU: no adapter).
 * @example
 * ```ts
 * import { setBackend } from "../mod.ts";
 * await setBackend("cpu");
 * ```
 */
export async function setBackend(name: string): Promise<void> {
  await initBackend(name);
  current = name;
}

/**
 * Creates (once) and returns a registered backend.
 *
 * @param name A registered backend name.
 * @returns The backend instance.
 * @throws {Error} when the name is unknown or its factory fails.
 * @example
 * ```ts
 * import "../mod.ts"; // registers the built-in backends
 * import { initBackend } from "./registry.ts";
 * const cpu = await initBackend("cpu");
 * ```
 */
export async function initBackend(name: string): Promise<Backend> {
  const have = instances.get(name);
  if (have) return have;
  const factory = factories.get(name);
  if (!factory) {
    throw new Error(
      `Unknown backend "${name}"; registered: ${[...factories.keys()].join(", ")}`,
    );
  }
  const backend = await factory();
  instances.set(name, backend);
  return backend;
}

/**
 * The name of the default backend.
 *
 * @returns e.g. `"cpu"`.
 * @example
 * ```ts
 * import { getBackend } from "./registry.ts";
 * console.log(getBackend());
 * ```
 */
export function getBackend(): string {
  return current;
}

/**
 * A created backend by name, synchronously (for tensor creation).
 * Package-internal: the tensor layer and the tests call it;
 * `backends/mod.ts` does not export it.
 *
 * @param name Backend name; the default when omitted.
 * @returns The instance.
 * @throws {Error} when it has not been created with `setBackend` or
 *   `initBackend` yet (the CPU backend is created on demand).
 * @example
 * ```ts
 * import "../mod.ts"; // registers the built-in backends
 * import { backendInstance } from "./registry.ts";
 * backendInstance("cpu");
 * ```
 */
export function backendInstance(name: string = current): Backend {
  const have = instances.get(name);
  if (have) return have;
  const factory = factories.get(name);
  if (factory) {
    const made = factory();
    if (!(made instanceof Promise)) {
      instances.set(name, made);
      return made;
    }
    throw new Error(
      `Backend "${name}" is asynchronous: await setBackend("${name}") or initBackend("${name}") first`,
    );
  }
  throw new Error(
    `Unknown backend "${name}"; registered: ${[...factories.keys()].join(", ")}`,
  );
}
