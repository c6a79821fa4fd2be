/**
 * Backend parametrisation for the test suites: one suite, every backend.
 *
 * `backendTest(name, fn)` registers one `Deno.test` per candidate backend,
 * named `"<name> [cpu]"`, `"<name> [cpu-primitives]"` (the CPU without its
 * fused fast paths), `"<name> [webgpu]"`, …, with that backend made the
 * default for the duration of the test. A backend that is not registered or
 * cannot start here (no WebGPU adapter) is reported as ignored, not failed,
 * and a one-line notice says why.
 *
 * Set `TEST_BACKENDS=cpu` (comma-separated) to restrict the run, and
 * `REQUIRE_BACKENDS=webgpu` (comma-separated) to make a backend that cannot
 * start *fail* its tests instead of skipping them: CI sets it after
 * installing the software adapter, so a broken install cannot look green.
 *
 * @module
 */
import { getBackend, setBackend } from "../mod.ts";
import "./_primitives.ts";

/** How to decide whether a candidate backend can run on this machine. */
type Probe = () => Promise<string | null>;

/** Returns null when the backend can start, else the reason it cannot. */
async function startable(name: string): Promise<string | null> {
  const prev = getBackend();
  try {
    await setBackend(name);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    await setBackend(prev).catch(() => {});
  }
}

async function probeWebGpu(): Promise<string | null> {
  // deno-lint-ignore no-explicit-any
  const gpu = (globalThis.navigator as any)?.gpu;
  if (!gpu) return "navigator.gpu is not available";
  let adapter: unknown = null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return `requestAdapter() failed: ${e instanceof Error ? e.message : e}`;
  }
  if (!adapter) return "no WebGPU adapter";
  return await startable("webgpu");
}

/**
 * Candidate backends in the order suites run them. Add a backend here (with
 * its probe) and every parametrised suite runs on it.
 */
export const candidateBackends: ReadonlyArray<readonly [string, Probe]> = [
  ["cpu", () => Promise.resolve(null)],
  ["cpu-primitives", () => startable("cpu-primitives")],
  ["webgpu", probeWebGpu],
];

function envList(name: string): Set<string> | null {
  let raw: string | undefined;
  try {
    raw = Deno.env.get(name);
  } catch {
    raw = undefined; // no --allow-env: run everything available
  }
  if (!raw) return null;
  return new Set(raw.split(",").map((s) => s.trim()).filter(Boolean));
}

function requested(): Set<string> | null {
  return envList("TEST_BACKENDS");
}

/** Backends whose absence fails the run (REQUIRE_BACKENDS). */
const required = envList("REQUIRE_BACKENDS") ?? new Set<string>();

/**
 * For suites with their own skip logic: throws (failing the test file) when
 * `backend` cannot run here (`why` says why) but REQUIRE_BACKENDS names it.
 *
 * @param backend The backend.
 * @param why Why it cannot run, or null when it can.
 * @returns True when its tests should be ignored (skipped, not required).
 */
export function skipUnlessRequired(backend: string, why: string | null): boolean {
  if (why !== null && required.has(backend)) {
    throw new Error(
      `backend "${backend}" is required here (REQUIRE_BACKENDS) but cannot run: ${why}`,
    );
  }
  return why !== null;
}

/** Why each unavailable candidate was skipped (computed once). */
const skipped = new Map<string, string>();
let cached: Promise<string[]> | null = null;

/**
 * Backends the parametrised suites can run on here: `"cpu"` always,
 * `"webgpu"` when it is registered and an adapter exists.
 *
 * @returns Names in suite order.
 */
export function availableBackends(): Promise<string[]> {
  cached ??= (async () => {
    const want = requested();
    const out: string[] = [];
    for (const [name, probe] of candidateBackends) {
      if (want && !want.has(name)) {
        skipped.set(name, "not in TEST_BACKENDS");
        continue;
      }
      const why = await probe();
      if (why === null) out.push(name);
      else skipped.set(name, why);
    }
    for (const [name, why] of skipped) {
      console.log(`note: tests on backend "${name}" are skipped: ${why}`);
    }
    return out;
  })();
  return cached;
}

const available = await availableBackends();

/** True for the CPU backends (synchronous readback, exact byte counts). */
export function isCpu(backend: string): boolean {
  return backend === "cpu" || backend === "cpu-primitives";
}

/** Options passed through to `Deno.test`. */
export interface BackendTestOptions {
  /** Skip on these backends (with the reason in the test name's notice). */
  skip?: string[];
}

/**
 * Registers `fn` as one `Deno.test` per candidate backend, with that backend
 * as the default while it runs.
 *
 * @param name The test's name; ` [backend]` is appended.
 * @param fn The test body; receives the backend name and the test context.
 * @param opts `skip`: backends this test does not apply to.
 */
export function backendTest(
  name: string,
  fn: (backend: string, t: Deno.TestContext) => void | Promise<void>,
  opts: BackendTestOptions = {},
): void {
  for (const [backend] of candidateBackends) {
    const applies = !opts.skip?.includes(backend);
    const runs = available.includes(backend) && applies;
    if (!runs && applies && required.has(backend)) {
      Deno.test(`${name} [${backend}]`, () => {
        throw new Error(
          `backend "${backend}" is required here (REQUIRE_BACKENDS) but cannot start: ${
            skipped.get(backend)
          }`,
        );
      });
      continue;
    }
    Deno.test({
      name: `${name} [${backend}]`,
      ignore: !runs,
      // GPU devices hold resources across tests by design.
      sanitizeResources: isCpu(backend),
      sanitizeOps: isCpu(backend),
      fn: async (t) => {
        const prev = getBackend();
        await setBackend(backend);
        try {
          await fn(backend, t);
        } finally {
          await setBackend(prev);
        }
      },
    });
  }
}

/**
 * Runs `fn` and reads `readback()` back: an error the backend reports at
 * once (the CPU) or at the next read (a device-side check on WebGPU) is
 * returned; `null` when there was none. The same assertions then hold on
 * every backend.
 *
 * @param fn The call that should fail.
 * @param readback What to read afterwards (its result or any tensor).
 * @returns The error, or null.
 */
export async function deferredError(
  fn: () => unknown,
  readback: (result: unknown) => { data(): Promise<unknown> } | null,
): Promise<unknown> {
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    return e;
  }
  try {
    await readback(result)?.data();
  } catch (e) {
    return e;
  } finally {
    (result as { dispose?: () => void } | undefined)?.dispose?.();
  }
  return null;
}
