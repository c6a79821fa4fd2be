/**
 * Shrinks a failing fuzz case: tries smaller variants (no wrapper, fewer
 * or smaller dimensions, plainer values, fewer list items, simpler numbers)
 * and keeps each one that still fails the same way.
 *
 * @module
 */
import type { Arg, Case, TSpec } from "./_gen.ts";
import { allSpecs } from "./_build.ts";
import type { Failure } from "./_compare.ts";
import { runCase } from "./_run.ts";

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
