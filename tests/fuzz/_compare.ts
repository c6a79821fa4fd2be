/**
 * Compares a call with its reference: a tensor result's shape, dtype and
 * values (within the op's tolerance), a host result (numbers, arrays,
 * objects) element by element, and a thrown error's class and message
 * against the {@link Invalid} the reference named.
 *
 * @module
 */
import type { OpSpec } from "./_op_spec.ts";
import { type Invalid, Ref } from "./_ref.ts";

/** What a failing case did. */
export interface Failure {
  kind: string;
  detail: string;
}

/** Messages V8 writes for its own TypeErrors: an internal crash, not a check. */
const ENGINE =
  /Cannot read propert|is not a function|is not iterable|Cannot convert|undefined is not|null is not|Invalid array length|Invalid typed array length|Maximum call stack|Cannot mix BigInt/;

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

/** Why error `e` is not the {@link Invalid} the reference named for `op`; null when it is. */
export function errorCheck(e: unknown, inv: Invalid, op: OpSpec): string | null {
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

/** How a call's host result differs from the reference's; null when within `op`'s tolerance. */
export function compareResult(host: unknown, want: unknown, op: OpSpec): Failure | null {
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
