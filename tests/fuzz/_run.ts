/**
 * Runs one fuzz case on one backend and says what went wrong, if anything:
 * the call must match the reference or throw the error class the reference
 * names (with a message that names the op), leave its inputs unchanged,
 * return `memory()` to its baseline once everything is disposed, keep the
 * Wasm heap's invariants, and (on a sample) give gradients that match
 * finite differences of the float64 reference. The arguments are built by
 * `_build.ts` and compared by `_compare.ts`; shrinking is `_shrink.ts`,
 * the one-line reproduction `_repro.ts`.
 *
 * @module
 */
import { getBackend, keep, memory, noGrad, scope, Tensor, tensor } from "../../mod.ts";
import { checkHeap } from "../../backends/cpu/wasm/mod.ts";
import type { Case, TSpec } from "./_gen.ts";
import { Rng } from "./_gen.ts";
import { OPS } from "./_ops.ts";
import type { OpSpec } from "./_op_spec.ts";
import * as R from "./_ref.ts";
import { Invalid, Ref } from "./_ref.ts";
import { allSpecs, baseValues, bitsOf, build, buildRef, type Built } from "./_build.ts";
import { compareResult, errorCheck, type Failure } from "./_compare.ts";

/**
 * Counts of the last run: whether the reference said the call was invalid,
 * and whether the backend refused it for a binding over its limit.
 */
export const lastRun = { invalid: false, refused: false };

/**
 * The backend whose binding limit the fuzz lowers (see `_narrow.ts`): an op
 * there either gives the reference's values, or, where a tensor exceeds one
 * binding and the op cannot bind windows, refuses with a RangeError that
 * says so — and leaves inputs and memory as they were.
 */
export const NARROW = "webgpu-narrow";

function refusedBinding(e: unknown, backend: string): boolean {
  return backend === NARROW && e instanceof RangeError &&
    /maxStorageBufferBindingSize|into bindings of/.test(e.message);
}

const ASYNC_OPS = new Set(["item", "toArray", "data", "to", "svd", "qr"]);

function sameMemory(a: ReturnType<typeof memory>, b: ReturnType<typeof memory>): boolean {
  return a.tensors === b.tensors && a.buffers === b.buffers && a.bytes === b.bytes;
}

/**
 * Calls the op (wrapped as the case says), then reads a tensor result and
 * the leaves back together (one wait for the GPU, not one per tensor). An
 * error a device reports at that read counts as the call's error.
 */
async function call(
  op: OpSpec,
  c: Case,
  args: unknown[],
  leaves: Tensor[],
): Promise<{ out: unknown; host: unknown; after: Int32Array[] }> {
  const run = () => op.run(args);
  const sync = !ASYNC_OPS.has(op.name);
  const out = c.wrap === "scope" && sync ? scope(run) : c.wrap === "keep" && sync
    ? scope(() => {
      const r = run();
      return r instanceof Tensor ? keep(r) : r;
    })
    : c.wrap === "noGrad"
    ? noGrad(run)
    : run();
  let value: unknown;
  try {
    value = out instanceof Promise ? await out : out;
  } catch (e) {
    await Promise.allSettled(leaves.map((l) => l.data())); // surface device errors here
    throw e;
  }
  const isTensor = value instanceof Object && "dispose" in value && "data" in value;
  const reads = await Promise.allSettled([
    isTensor ? (value as Tensor).data() : Promise.resolve(null),
    ...leaves.map((l) => l.data()),
  ]);
  const bad = reads.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
  if (bad) {
    if (isTensor) (value as Tensor).dispose();
    throw bad.reason;
  }
  const data = reads.map((r) =>
    (r as PromiseFulfilledResult<Float32Array | Int32Array | null>).value
  );
  const after = data.slice(1).map((d) => new Int32Array(d!.buffer, d!.byteOffset, d!.length));
  if (!isTensor) return { out: value, host: value, after };
  const t = value as Tensor;
  if (t.size !== data[0]!.length || t.ndim !== t.shape.length || t.backend !== getBackend()) {
    throw new Error(`result's size/ndim/backend disagree: ${t.size} ${t.ndim} ${t.backend}`);
  }
  return { out: t, host: { shape: [...t.shape], dtype: t.dtype, data: data[0] }, after };
}

/**
 * Runs `c` on `backend` (the default backend must be `backend`); null when
 * every check holds.
 */
export async function runCase(
  c: Case,
  backend: string,
  opts: { grad?: boolean } = {},
): Promise<Failure | null> {
  const op = OPS.get(c.op)!;
  const before = memory(backend);
  const b: Built = { leaves: [], views: [], specs: [] };
  let failure: Failure | null = null;
  let out: unknown = undefined;
  try {
    const args = build(c.args, backend, false, b);
    let want: unknown, invalid: Invalid | null = null;
    try {
      want = op.ref(buildRef(c.args), { backend });
    } catch (e) {
      if (!(e instanceof Invalid)) throw e;
      invalid = e;
    }
    lastRun.invalid = invalid !== null;
    lastRun.refused = false;
    let host: unknown, err: unknown = null, after: Int32Array[] | null = null;
    try {
      ({ out, host, after } = await call(op, c, args, b.leaves));
    } catch (e) {
      err = e;
    }
    if (invalid) {
      if (err === null) {
        failure = {
          kind: "accepted",
          detail: `no error; expected ${invalid.kind} (${invalid.message})`,
        };
      } else if (invalid.kind === "RangeError" && refusedBinding(err, backend)) {
        // A value the device checks (an index, a target) and a binding the
        // op cannot split are both RangeErrors; the refusal comes first.
        lastRun.refused = true;
      } else {
        const m = errorCheck(err, invalid, op);
        if (m) failure = { kind: "error", detail: m };
      }
    } else if (refusedBinding(err, backend)) {
      lastRun.refused = true;
    } else if (err !== null) {
      failure = {
        kind: "threw",
        detail: `${(err as Error)?.constructor?.name}: ${(err as Error)?.message ?? err}`,
      };
    } else failure = compareResult(host, want, op);
    // The inputs (but assign's target) must hold what they held.
    if (!after) {
      after = await Promise.all(b.leaves.map(async (l) => {
        const d = await l.data();
        return new Int32Array(d.buffer, d.byteOffset, d.length);
      }));
    }
    for (let i = 0; i < b.leaves.length && !failure; i++) {
      if (op.name === "assign" && b.specs[i] === (c.args[0] as { spec: TSpec }).spec) continue;
      const want = bitsOf(b.specs[i]);
      if (after[i].some((v, j) => v !== want[j])) {
        failure = { kind: "input-changed", detail: `input ${i} changed` };
      }
    }
  } finally {
    disposeAll(out, b);
  }
  failure ??= checkState(before, backend);
  if (!failure && opts.grad && !lastRun.refused) failure = await gradCheck(c, op, backend);
  return failure;
}

function disposeAll(out: unknown, b: Built): void {
  // Either way of freeing: dispose(), or what `using` calls.
  if (out instanceof Tensor) b.leaves.length % 2 ? out.dispose() : out[Symbol.dispose]();
  for (const v of b.views) v.dispose();
  for (const l of b.leaves) l.dispose();
}

function checkState(before: ReturnType<typeof memory>, backend: string): Failure | null {
  const now = memory(backend);
  if (!sameMemory(now, before)) {
    return {
      kind: "leak",
      detail: `memory() ${JSON.stringify(now)} after, ${JSON.stringify(before)} before`,
    };
  }
  try {
    checkHeap();
  } catch (e) {
    return { kind: "heap", detail: (e as Error).message };
  }
  return null;
}

/** True when the case can be checked against finite differences. */
export function gradEligible(c: Case): boolean {
  const op = OPS.get(c.op)!;
  if (!op.grad || c.wrap === "noGrad") return false;
  const specs = allSpecs(c.args);
  if (!specs.some((s) => s.dtype === "float32")) return false;
  if (specs.reduce((p, s) => p + s.values.length, 0) > 48) return false;
  const moderate = (v: number) => Number.isFinite(v) && Math.abs(v) < 20;
  if (!specs.every((s) => s.values.every(moderate))) return false;
  if (c.args.some((a) => a.k === "v" && typeof a.v === "number" && !moderate(a.v))) return false;
  let want: unknown;
  try {
    want = op.ref(buildRef(c.args), { backend: "cpu" });
  } catch {
    return false;
  }
  if (!(want instanceof Ref) || want.dtype !== "float32" || want.size === 0) return false;
  if (!want.data.every(Number.isFinite)) return false;
  const refs = buildRef(c.args).flatMap((
    a,
  ) => (a instanceof Ref ? [a] : Array.isArray(a) ? a.filter((x) => x instanceof Ref) : []));
  return op.gradOk?.(refs as Ref[]) ?? true;
}

async function gradCheck(c: Case, op: OpSpec, backend: string): Promise<Failure | null> {
  if (!gradEligible(c)) return null;
  const before = memory(backend);
  const b: Built = { leaves: [], views: [], specs: [] };
  let out: Tensor | null = null, gout: Tensor | null = null;
  let failure: Failure | null = null;
  try {
    const args = build(c.args, backend, true, b);
    out = op.run(args) as Tensor;
    const rng = new Rng(out.size * 7919 + b.leaves.length);
    const gv = Float64Array.from({ length: out.size }, () => Math.fround(rng.next() * 2 - 1));
    gout = tensor(Float32Array.from(gv), { shape: [...out.shape], backend });
    out.backward(gout);
    for (let li = 0; li < b.leaves.length && !failure; li++) {
      const leaf = b.leaves[li], s = b.specs[li];
      if (s.dtype !== "float32" || s.constant) continue;
      const got = leaf.grad ? await leaf.grad.data() : new Float32Array(leaf.size);
      const fd = finiteDiff(c, op, s, gv);
      for (let j = 0; j < fd.length; j++) {
        if (Math.abs(got[j] - fd[j]) > 2e-3 + 2e-2 * Math.abs(fd[j])) {
          failure = {
            kind: "grad",
            detail: `input ${li} element ${j}: grad ${got[j]} vs finite difference ${fd[j]}`,
          };
          break;
        }
      }
    }
  } catch (e) {
    if (refusedBinding(e, backend)) lastRun.refused = true;
    else failure = { kind: "grad-threw", detail: (e as Error).message };
  } finally {
    out?.dispose();
    gout?.dispose();
    disposeAll(null, b);
  }
  return failure ?? checkState(before, backend);
}

function finiteDiff(c: Case, op: OpSpec, s: TSpec, gout: Float64Array): Float64Array {
  const base = baseValues(s);
  const grad = new Float64Array(base.length);
  const f = (vals: Float64Array): number => {
    const r = op.ref(buildRef(c.args, new Map([[s, vals]])), { backend: "cpu" }) as Ref;
    let acc = 0;
    for (let i = 0; i < r.data.length; i++) acc += r.data[i] * gout[i];
    return acc;
  };
  R.setExact(true);
  try {
    for (let j = 0; j < base.length; j++) {
      const h = 1e-4 * Math.max(1, Math.abs(base[j]));
      const up = base.slice(), dn = base.slice();
      up[j] += h;
      dn[j] -= h;
      grad[j] = (f(up) - f(dn)) / (2 * h);
    }
  } finally {
    R.setExact(false);
  }
  return grad;
}
