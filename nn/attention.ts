/**
 * `scaledDotProductAttention`: `softmax(q·kᵀ·scale + mask)·v`, PyTorch's
 * `F.scaled_dot_product_attention`, with grouped-query attention (fewer
 * key/value heads than query heads, each shared by a group of query heads).
 *
 * @module
 */

import {
  _fusedAttention,
  _hasFusedAttention,
  scope,
  type Tensor,
  tensor,
  where,
} from "../tensor/mod.ts";
import { _fmt } from "./checks.ts";

/** Options of {@link scaledDotProductAttention}. */
export interface AttentionOptions {
  /**
   * Mask the future: query i sees keys j ≤ i (PyTorch's top-left alignment;
   * for T queries over S > T keys, pass `mask` or use `causalOffset`). A
   * key it hides stays hidden whatever `mask` adds.
   */
  isCausal?: boolean;
  /**
   * With `isCausal`: query i sees keys j ≤ i + causalOffset (S − T aligns
   * the queries with the last keys, as a KV cache needs). Default 0.
   */
  causalOffset?: number;
  /**
   * A mask broadcastable to [..., H, T, S]: float32 is added to the scores
   * (−∞ hides a key); int32 keeps the keys where it is non-zero.
   */
  mask?: Tensor;
  /** The score scale; 1/√D by default. */
  scale?: number;
}

/**
 * Attention of queries q [..., H, T, D] over keys k [..., Hkv, S, D] and
 * values v [..., Hkv, S, Dv]; H must be a multiple of Hkv (grouped-query
 * attention: query head h reads key/value head ⌊h / (H/Hkv)⌋).
 *
 * @param q Queries, float32.
 * @param k Keys, float32.
 * @param v Values, float32.
 * @param opts `{ isCausal?, causalOffset?, mask?, scale? }`.
 * @returns [..., H, T, Dv].
 * @throws {TypeError} For non-float32 inputs.
 * @throws {RangeError} When the shapes do not fit (named).
 * @example
 * ```ts
 * import { nn, randn } from "../mod.ts";
 * const q = randn([1, 4, 5, 8]), kv = randn([1, 2, 5, 8]);
 * const y = nn.scaledDotProductAttention(q, kv, kv, { isCausal: true });
 * console.log(y.shape); // [1, 4, 5, 8]
 * ```
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: AttentionOptions = {},
): Tensor {
  for (const [name, t] of [["q", q], ["k", k], ["v", v]] as const) {
    if (t.dtype !== "float32") {
      throw new TypeError(`scaledDotProductAttention: ${name} must be float32, got ${t.dtype}`);
    }
  }
  const nd = q.ndim;
  const bad = (why: string) =>
    new RangeError(
      `scaledDotProductAttention: q ${_fmt(q.shape)}, k ${_fmt(k.shape)}, v ${
        _fmt(v.shape)
      }: ${why}`,
    );
  if (nd < 3 || k.ndim !== nd || v.ndim !== nd) throw bad("need the same rank ≥ 3");
  const [H, T, D] = q.shape.slice(-3), [Hkv, S, Dk] = k.shape.slice(-3);
  if (Dk !== D) throw bad("q and k head dims differ");
  if (v.shape[nd - 3] !== Hkv || v.shape[nd - 2] !== S) {
    throw bad("k and v differ in heads or length");
  }
  if (H % Hkv !== 0) throw bad(`${H} query heads are not a multiple of ${Hkv} key/value heads`);
  const lead = q.shape.slice(0, -3);
  if (
    k.shape.slice(0, -3).some((s, i) => s !== lead[i]) ||
    v.shape.slice(0, -3).some((s, i) => s !== lead[i])
  ) {
    throw bad("leading dims differ");
  }
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const offset = opts.causalOffset ?? 0;
  if (!Number.isInteger(offset)) throw bad(`causalOffset must be an integer, got ${offset}`);
  const g = H / Hkv;
  const m = opts.mask;
  if (m && m.ndim > nd) throw bad(`mask [${m.shape}] has more dims than the scores`);
  if (_hasFusedAttention(q) && !(m?.requiresGrad)) {
    // One op (the backend's kernels): no [.., T, S] tensor is kept.
    return scope(() => {
      const bias = !m ? null : m.dtype === "int32" ? where(m, 0, -Infinity) : m;
      const b = lead.reduce((p, s) => p * s, 1);
      const [q4, k4, v4] = [q, k, v].map((t) => t.reshape([b, ...t.shape.slice(-3)]));
      const out = _fusedAttention(
        q4,
        k4,
        v4,
        bias ? to4d(bias, lead) : null,
        scale,
        opts.isCausal ? offset : null,
      );
      return out.reshape([...lead, H, T, v.shape[nd - 1]]);
    });
  }
  return scope(() => {
    // Group the query heads of each key/value head: [.., Hkv, g·T, D], so one
    // batched product per key/value head, with no copy of k or v.
    const qg = g === 1 ? q : q.reshape([...lead, Hkv, g * T, D]);
    let scores = qg.matmul(k.transpose(-1, -2)).mul(scale);
    if (g > 1) scores = scores.reshape([...lead, H, T, S]);
    if (opts.mask) {
      scores = opts.mask.dtype === "int32"
        ? where(opts.mask, scores, -Infinity)
        : scores.add(opts.mask);
    }
    // Causally hidden keys stay hidden whatever the mask adds (even +∞).
    if (opts.isCausal) scores = where(causalKeep(T, S, offset, q.backend), scores, -Infinity);
    let p = scores.softmax(-1);
    if (g > 1) p = p.reshape([...lead, Hkv, g * T, S]);
    const out = p.matmul(v);
    return g > 1 ? out.reshape([...lead, H, T, v.shape[nd - 1]]) : out;
  });
}

/**
 * A mask broadcastable to [...lead, H, T, S] as one broadcastable to
 * [B, H, T, S], B = the product of `lead` (a mask that varies over the lead
 * dims is expanded over all of them).
 */
function to4d(m: Tensor, lead: readonly number[]): Tensor {
  const full = [...Array(lead.length + 3 - m.ndim).fill(1), ...m.shape];
  const rest = full.slice(lead.length);
  if (full.slice(0, lead.length).every((s) => s === 1)) return m.reshape([1, ...rest]);
  const b = lead.reduce((p, s) => p * s, 1);
  return m.reshape(full).expand([...lead, ...rest]).contiguous().reshape([b, ...rest]);
}

/** int32 [T, S]: 1 where key j ≤ query i + offset. */
function causalKeep(T: number, S: number, offset: number, backend: string): Tensor {
  const m = new Int32Array(T * S);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j <= Math.min(S - 1, i + offset); j++) m[i * S + j] = 1;
  }
  return tensor(m, { shape: [T, S], backend });
}

/** An additive [T, S] mask: 0 where key j ≤ query i + offset, −∞ elsewhere. */
export function causalMask(T: number, S: number, offset: number, backend?: string): Tensor {
  const m = new Float32Array(T * S);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < S; j++) if (j > i + offset) m[i * S + j] = -Infinity;
  }
  return tensor(m, { shape: [T, S], backend });
}
