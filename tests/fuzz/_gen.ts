/**
 * Random cases for the fuzz suite: a seeded generator, shapes (0-d, empty
 * dims, size-1 broadcasting, rank 5–6), tensor inputs that may be
 * non-contiguous views, values with the odd special, and wrong arguments.
 * A case is plain data, so it can be shrunk and printed.
 *
 * @module
 */

/** How an input tensor is made from its base: a view op, or none. */
export type ViewSpec =
  | { t: "transpose"; a: number; b: number }
  | { t: "narrow"; dim: number; start: number }
  | { t: "expand" }
  | { t: "permute"; dims: number[] };

/** A tensor argument: base data, then an optional view to the logical shape. */
export interface TSpec {
  shape: number[];
  dtype: "float32" | "int32";
  base: number[];
  values: number[];
  view: ViewSpec | null;
  requiresGrad?: boolean;
  /** Not differentiated by the gradient check (e.g. an additive mask). */
  constant?: boolean;
}

/** One argument of a call. */
export type Arg =
  | { k: "t"; spec: TSpec }
  | { k: "v"; v: unknown }
  | { k: "list"; items: Arg[] };

/** One fuzzed call. */
export interface Case {
  op: string;
  args: Arg[];
  /** Run the call inside `scope()` / `noGrad()` / `scope(() => keep(…))`. */
  wrap?: "scope" | "noGrad" | "keep";
}

/** mulberry32: small, seeded, good enough for test inputs. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }
}

/** Generation context: the RNG plus whether special values may appear. */
export class Gen {
  constructor(readonly rng: Rng, readonly specials: boolean) {}

  rank(): number {
    const r = this.rng.next();
    return r < 0.15 ? 0 : r < 0.35 ? 1 : r < 0.6 ? 2 : r < 0.8 ? 3 : r < 0.9 ? 4 : r < 0.95 ? 5 : 6;
  }

  /**
   * A random shape; higher ranks keep sizes small. Now and then the last
   * dim is long, so the CPU's SIMD kernels (64 elements and up) run too.
   */
  shape(rank = this.rank()): number[] {
    const hi = rank >= 4 ? 2 : 4;
    const s = Array.from({ length: rank }, () => (this.rng.chance(0.06) ? 0 : this.rng.int(1, hi)));
    if (rank >= 1 && rank <= 3 && this.rng.chance(0.08)) s[rank - 1] = this.rng.int(17, 130);
    return s;
  }

  /** A shape that broadcasts with `s` (or, with `bad`, one that does not). */
  partner(s: readonly number[], bad = false): number[] {
    const r = this.rng;
    if (bad && s.some((v) => v > 1)) {
      const out = [...s];
      const i = out.findIndex((v) => v > 1);
      out[i] = out[i] + 1;
      return out.slice(r.int(0, i));
    }
    let out = s.slice(r.int(0, s.length)).map((v) => (r.chance(0.3) ? 1 : v));
    if (r.chance(0.2)) out = [...Array.from({ length: r.int(1, 2) }, () => r.int(1, 2)), ...out];
    if (out.length > 6) out = out.slice(out.length - 6);
    return out;
  }

  value(dtype: "float32" | "int32"): number {
    const r = this.rng;
    if (dtype === "int32") {
      return r.chance(0.03) ? r.pick([2147483647, -2147483648, 65536]) : r.int(-5, 5);
    }
    if (this.specials && r.chance(0.03)) return r.pick([0, -0, NaN, Infinity, -Infinity, 1e30]);
    if (r.chance(0.2)) return r.int(-3, 3);
    return Math.fround((r.next() * 2 - 1) * 3);
  }

  /** A tensor of logical `shape`, often a non-contiguous view of a base. */
  tensor(
    shape: readonly number[],
    dtype: "float32" | "int32" = "float32",
    viewChance = 0.3,
  ): TSpec {
    const r = this.rng;
    let base = [...shape];
    let view: ViewSpec | null = null;
    if (shape.length > 0 && r.chance(viewChance)) {
      const kind = r.pick(["transpose", "narrow", "expand", "permute"] as const);
      const nd = shape.length;
      if (kind === "transpose" && nd >= 2) {
        const a = r.int(0, nd - 1), b = r.int(0, nd - 1);
        [base[a], base[b]] = [base[b], base[a]];
        view = { t: "transpose", a, b };
      } else if (kind === "narrow") {
        const dim = r.int(0, nd - 1), extra = r.int(1, 2), start = r.int(0, extra);
        base[dim] += extra;
        view = { t: "narrow", dim, start };
      } else if (kind === "expand" && shape.some((s) => s > 1)) {
        base = shape.map((s) => (s > 1 && r.chance(0.5) ? 1 : s));
        view = { t: "expand" };
      } else if (kind === "permute" && nd >= 2) {
        const dims = r.shuffle([...Array(nd).keys()]);
        // base[dims[i]] = shape[i], so base.permute(dims) has `shape`.
        dims.forEach((d, i) => (base[d] = shape[i]));
        view = { t: "permute", dims };
      }
    }
    const n = base.reduce((p, s) => p * s, 1);
    return {
      shape: [...shape],
      dtype,
      base,
      values: Array.from({ length: n }, () => this.value(dtype)),
      view,
    };
  }

  dtype(pInt = 0.2): "float32" | "int32" {
    return this.rng.chance(pInt) ? "int32" : "float32";
  }

  /** A dim for rank `nd`: usually valid (possibly negative), sometimes not. */
  dim(nd: number, bad = 0.08): unknown {
    const r = this.rng, n = Math.max(nd, 1);
    if (r.chance(bad)) return r.pick([n, -n - 1, 0.5, NaN, "0", null, undefined, Infinity]);
    return r.int(-n, n - 1);
  }

  /** A wrong argument of some other kind. */
  junk(): unknown {
    return this.rng.pick(["1", null, undefined, true, {}, [1], NaN, () => 1, Symbol("s"), 2n]);
  }
}

/** Wraps a spec as an argument. */
export const T = (spec: TSpec): Arg => ({ k: "t", spec });
/** Wraps a plain value as an argument. */
export const V = (v: unknown): Arg => ({ k: "v", v });
