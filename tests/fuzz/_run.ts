/**
 * Runs one fuzz case on one backend and says what went wrong, if anything:
 * the call must match the reference or throw the error class the reference
 * names (with a message that names the op), leave its inputs unchanged,
 * return `memory()` to its baseline once everything is disposed, keep the
 * Wasm heap's invariants, and (on a sample) give gradients that match
 * finite differences of the float64 reference. Also: shrinking, and the
 * one-line reproduction.
 *
 * @module
 */
import { getBackend, keep, memory, noGrad, scope, Tensor, tensor } from "../../mod.ts";
import { checkHeap } from "../../backends/cpu/wasm/mod.ts";
import type { Arg, Case, TSpec } from "./_gen.ts";
import { Rng } from "./_gen.ts";
import { OPS, type OpSpec } from "./_ops.ts";
import * as R from "./_ref.ts";
import { Invalid, Ref } from "./_ref.ts";

/** What a failing case did. */
export interface Failure {
  kind: string;
  detail: string;
}

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
/** Messages V8 writes for its own TypeErrors: an internal crash, not a check. */
const ENGINE =
  /Cannot read propert|is not a function|is not iterable|Cannot convert|undefined is not|null is not|Invalid array length|Invalid typed array length|Maximum call stack|Cannot mix BigInt/;

interface Built {
  leaves: Tensor[];
  views: Tensor[];
  specs: TSpec[];
}

function applyView(t: Tensor, s: TSpec): Tensor {
  const v = s.view!;
  if (v.t === "transpose") return t.transpose(v.a, v.b);
  if (v.t === "narrow") return t.narrow(v.dim, v.start, s.shape[v.dim]);
  if (v.t === "expand") return t.expand(s.shape);
  return t.permute(v.dims);
}

function refView(r: Ref, s: TSpec): Ref {
  const v = s.view;
  if (!v) return r;
  if (v.t === "transpose") return R.transpose(r, v.a, v.b);
  if (v.t === "narrow") return R.narrow(r, v.dim, v.start, s.shape[v.dim]);
  if (v.t === "expand") {
    const e = R.expand(r, s.shape);
    e.overlapping = e.size > 0 && s.shape.some((n, i) => n > 1 && s.base[i] === 1);
    return e;
  }
  return R.permute(r, v.dims);
}

function baseValues(s: TSpec): Float64Array {
  return Float64Array.from(s.values, (v) => (s.dtype === "int32" ? v | 0 : Math.fround(v)));
}

function build(args: Arg[], backend: string, grad: boolean, b: Built): unknown[] {
  return args.map((a) => {
    if (a.k === "v") return a.v;
    if (a.k === "list") return build(a.items, backend, grad, b);
    const s = a.spec;
    const data = s.dtype === "int32" ? Int32Array.from(s.values) : Float32Array.from(s.values);
    const leaf = tensor(data, { shape: s.base, dtype: s.dtype, backend });
    b.leaves.push(leaf);
    b.specs.push(s);
    if (s.requiresGrad || (grad && s.dtype === "float32" && !s.constant)) leaf.requiresGrad = true;
    if (!s.view) return leaf;
    const v = applyView(leaf, s);
    b.views.push(v);
    return v;
  });
}

function buildRef(args: Arg[], override?: Map<TSpec, Float64Array>): unknown[] {
  return args.map((a) => {
    if (a.k === "v") return a.v;
    if (a.k === "list") return buildRef(a.items, override);
    const s = a.spec;
    return refView(new Ref(s.base, override?.get(s) ?? baseValues(s), s.dtype), s);
  });
}

function close(a: number, b: number, atol: number, rtol: number): boolean {
  if (Number.isNaN(b)) return Number.isNaN(a);
  if (!Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= atol + rtol * Math.abs(b);
}

function compareValues(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  atol: number,
): string | null {
  if (got.length !== want.length) return `length ${got.length} vs ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    if (!close(got[i], want[i], atol, 1e-4)) {
      return `element ${i}: ${got[i]} vs reference ${want[i]}`;
    }
  }
  return null;
}

function compareHost(got: unknown, want: unknown, atol: number, path = "result"): string | null {
  if (typeof want === "number") {
    return typeof got === "number" && close(got, want, atol, 1e-4)
      ? null
      : `${path}: ${String(got)} vs ${want}`;
  }
  if (Array.isArray(want) || ArrayBuffer.isView(want)) {
    const g = got as ArrayLike<unknown>, w = want as ArrayLike<unknown>;
    if (g === null || typeof g !== "object" || g.length !== w.length) {
      return `${path}: length differs`;
    }
    for (let i = 0; i < w.length; i++) {
      const m = compareHost(g[i], w[i], atol, `${path}[${i}]`);
      if (m) return m;
    }
    return null;
  }
  if (want !== null && typeof want === "object") {
    for (const [k, v] of Object.entries(want)) {
      const m = compareHost((got as Record<string, unknown>)?.[k], v, atol, `${path}.${k}`);
      if (m) return m;
    }
    return null;
  }
  return Object.is(got, want) ? null : `${path}: ${String(got)} vs ${String(want)}`;
}

/** The bits a leaf was made with (what it must still hold). */
function bitsOf(s: TSpec): Int32Array {
  const d = s.dtype === "int32" ? Int32Array.from(s.values) : Float32Array.from(s.values);
  return new Int32Array(d.buffer);
}

function sameMemory(a: ReturnType<typeof memory>, b: ReturnType<typeof memory>): boolean {
  return a.tensors === b.tensors && a.buffers === b.buffers && a.bytes === b.bytes;
}

function errorCheck(e: unknown, inv: Invalid, op: OpSpec): string | null {
  if (!(e instanceof Error)) return `threw a non-Error ${String(e)}`;
  if (e.constructor.name !== inv.kind) {
    return `threw ${e.constructor.name} (${e.message}) where ${inv.kind} was expected (${inv.message})`;
  }
  if (!e.message) return "error without a message";
  if (ENGINE.test(e.message)) return `an internal crash, not a check: ${e.message}`;
  const names = op.names ?? [op.name];
  if (!names.some((n) => e.message.includes(n))) {
    return `message does not name ${names.join("/")}: ${e.message}`;
  }
  return null;
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

function compareResult(host: unknown, want: unknown, op: OpSpec): Failure | null {
  const atol = op.atol ?? 1e-5;
  if (want instanceof Ref) {
    const h = host as { shape?: number[]; dtype?: string; data?: ArrayLike<number> } | null;
    if (!h || !h.shape) return { kind: "value", detail: `expected a tensor, got ${String(host)}` };
    if (h.shape.length !== want.ndim || h.shape.some((s, i) => s !== want.shape[i])) {
      return { kind: "shape", detail: `shape [${h.shape}] vs reference [${want.shape}]` };
    }
    if (h.dtype !== want.dtype) {
      return { kind: "dtype", detail: `dtype ${h.dtype} vs reference ${want.dtype}` };
    }
    const m = compareValues(h.data!, want.data, atol);
    return m ? { kind: "value", detail: m } : null;
  }
  const m = compareHost(host, want, atol);
  return m ? { kind: "value", detail: m } : null;
}

function allSpecs(args: Arg[]): TSpec[] {
  return args.flatMap((a) => (a.k === "t" ? [a.spec] : a.k === "list" ? allSpecs(a.items) : []));
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

// ---- shrinking and reproduction ----

function clone<T>(x: T): T {
  return structuredCloneish(x) as T;
}

function structuredCloneish(x: unknown): unknown {
  if (Array.isArray(x)) {
    const out = new Array(x.length);
    for (let i = 0; i < x.length; i++) if (i in x) out[i] = structuredCloneish(x[i]);
    return out;
  }
  if (ArrayBuffer.isView(x)) return (x as Float32Array).slice();
  if (x && typeof x === "object" && Object.getPrototypeOf(x) === Object.prototype) {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, structuredCloneish(v)]));
  }
  return x;
}

function resized(s: TSpec, shape: number[]): TSpec {
  const n = shape.reduce((p, v) => p * v, 1);
  const values = Array.from({ length: n }, (_, i) => s.values[i] ?? 1);
  return { ...s, shape, base: [...shape], values, view: null };
}

/** Smaller variants of a case, one change each. */
function* candidates(c: Case): Generator<Case> {
  if (c.wrap) yield { ...clone(c), wrap: undefined };
  const specs = (cc: Case) => allSpecs(cc.args);
  const n = specs(c).length;
  const withSpec = (i: number, f: (s: TSpec) => TSpec | null): Case | null => {
    const cc = clone(c);
    const s = specs(cc)[i];
    const r = f(s);
    if (!r) return null;
    Object.assign(s, r);
    return cc;
  };
  for (let i = 0; i < n; i++) {
    const s = specs(c)[i];
    const tries: ((s: TSpec) => TSpec | null)[] = [
      (s) => (s.view ? resized(s, s.shape) : null),
      ...s.shape.map((_, d) => (s: TSpec) => (s.view ? null : resized(
        s,
        s.shape.filter((_, k) => k !== d),
      ))),
      ...s.shape.map((_, d) => (s: TSpec) => (s.view || s.shape[d] <= 1
        ? null
        : resized(s, s.shape.map((v, k) => (k === d ? v - 1 : v))))
      ),
      (s) => (s.values.every((v) =>
          v === 0
        )
        ? null
        : { ...s, values: s.values.map(() => 0) }),
      (s) => (s.values.every((v) => v === 1) ? null : { ...s, values: s.values.map(() => 1) }),
      (s) => (s.values.every(Number.isInteger)
        ? null
        : { ...s, values: s.values.map((v) => (Number.isFinite(v) ? Math.round(v) : v)) }),
    ];
    for (const t of tries) {
      const cc = withSpec(i, t);
      if (cc) {
        yield cc;
      }
    }
  }
  // One size changed in every tensor at once (operands that broadcast
  // together keep fitting): to 1, to v − 1, or halved keeping either end.
  const sizes = new Set(
    specs(c).filter((s) => !s.view).flatMap((s) => s.shape.filter((v) => v > 1)),
  );
  for (const v of sizes) {
    for (
      const [to, fromEnd] of [[1, false], [v - 1, false], [Math.ceil(v / 2), false], [
        Math.floor(v / 2),
        true,
      ]] as const
    ) {
      if (to === v) continue;
      const cc = clone(c);
      let ok = true;
      for (const s of specs(cc)) {
        if (s.view) {
          ok = false;
          break;
        }
        const shape = s.shape.map((x) => (x === v ? to : x));
        const n = shape.reduce((p, x) => p * x, 1);
        const values = fromEnd ? s.values.slice(s.values.length - n) : s.values.slice(0, n);
        Object.assign(s, { shape, base: [...shape], values });
      }
      if (ok) yield cc;
    }
  }
  for (let i = 0; i < c.args.length; i++) {
    const a = c.args[i];
    if (a.k === "list") {
      for (let j = 0; j < a.items.length && a.items.length > 1; j++) {
        const cc = clone(c);
        (cc.args[i] as { items: Arg[] }).items.splice(j, 1);
        yield cc;
      }
    }
    if (a.k === "v" && typeof a.v === "number" && a.v !== 0 && Number.isFinite(a.v)) {
      for (const v of [0, 1, Math.trunc(a.v)]) {
        if (v === a.v) continue;
        const cc = clone(c);
        cc.args[i] = { k: "v", v };
        yield cc;
      }
    }
  }
}

/** Shrinks a failing case while it keeps failing the same way. */
export async function shrink(
  c: Case,
  backend: string,
  f: Failure,
  grad: boolean,
): Promise<{ c: Case; f: Failure }> {
  let best = c, bestF = f;
  for (let step = 0; step < 200; step++) {
    let moved = false;
    for (const cand of candidates(best)) {
      let g: Failure | null;
      try {
        g = await runCase(cand, backend, { grad });
      } catch {
        continue;
      }
      if (g && g.kind === bestF.kind) {
        best = cand;
        bestF = g;
        moved = true;
        break;
      }
    }
    if (!moved) break;
  }
  return { c: best, f: bestF };
}

/** A JavaScript expression that recreates `v`. */
export function code(v: unknown): string {
  if (v === undefined) return "undefined";
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "symbol") return "Symbol()";
  if (typeof v === "function") return "() => 1";
  if (v instanceof Float32Array || v instanceof Int32Array) {
    return `new ${v.constructor.name}([${[...v].map(code).join(", ")}])`;
  }
  if (Array.isArray(v)) {
    const items: string[] = [];
    for (let i = 0; i < v.length; i++) items.push(i in v ? code(v[i]) : "");
    return `[${items.join(", ")}${v.length > 0 && !(v.length - 1 in v) ? "," : ""}]`;
  }
  if (v && typeof v === "object") {
    return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${code(x)}`).join(", ")} }`;
  }
  return String(v);
}

function tensorCode(s: TSpec): string {
  const dt = s.dtype === "int32" ? `, dtype: "int32"` : "";
  const leaf = `tensor(${code(s.values)}, { shape: ${code(s.base)}${dt} })`;
  const v = s.view;
  const view = v?.t === "transpose"
    ? `.transpose(${v.a}, ${v.b})`
    : v?.t === "narrow"
    ? `.narrow(${v.dim}, ${v.start}, ${s.shape[v.dim]})`
    : v?.t === "expand"
    ? `.expand(${code(s.shape)})`
    : v?.t === "permute"
    ? `.permute(${code(v.dims)})`
    : "";
  if (!s.requiresGrad) return leaf + view;
  return `(() => { const l = ${leaf}; l.requiresGrad = true; return l${view}; })()`;
}

function argCode(a: Arg): string {
  if (a.k === "v") return code(a.v);
  if (a.k === "list") return `[${a.items.map(argCode).join(", ")}]`;
  return tensorCode(a.spec);
}

/** One line of TypeScript that replays the case from the repository root. */
export function reproduction(c: Case, backend: string): string {
  const op = OPS.get(c.op)!;
  let expr = op.show(c.args.map(argCode));
  if (c.wrap) expr = `${c.wrap}(() => ${expr})`;
  return `import { arange, cat, full, linalg, manualSeed, nn, noGrad, ones, rand, randn, scope, setBackend, stack, tensor, where, zeros } from "./mod.ts"; ` +
    `await setBackend("${backend}"); console.log(await ${expr});`;
}
