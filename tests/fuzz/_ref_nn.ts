/**
 * Float64 references of the transformer ops in `nn`: RMS norm, SiLU, the
 * tanh GELU, rotary embeddings and scaled dot-product attention (with
 * grouped-query heads, causal offset, masks), with PyTorch's rules for what
 * is valid. Nothing here imports the library.
 *
 * @module
 */
import { f32, forEachIndex, Invalid, make, numel, Ref, stridesOf } from "./_ref.ts";

const range = (m: string): never => {
  throw new Invalid("RangeError", m);
};
const type = (m: string): never => {
  throw new Invalid("TypeError", m);
};

function floats(...rs: unknown[]): void {
  for (const r of rs) {
    if (!(r instanceof Ref)) type("not a tensor");
    if ((r as Ref).dtype !== "float32") type("int32");
  }
}

export function silu(x: Ref): Ref {
  floats(x);
  return new Ref(x.shape, x.data.map((v) => f32(v / (1 + Math.exp(-v)))), "float32");
}

export function geluTanh(x: Ref): Ref {
  floats(x);
  const c = Math.sqrt(2 / Math.PI);
  return new Ref(
    x.shape,
    x.data.map((v) => f32(0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v * v * v))))),
    "float32",
  );
}

export function rmsNorm(x: Ref, shape: unknown, w: unknown, eps: unknown): Ref {
  floats(x);
  if (typeof eps !== "number" || !(eps >= 0)) range("eps");
  const s = shape as number[];
  const k = s.length, n = numel(s);
  if (x.ndim < k || x.shape.slice(x.ndim - k).some((v, i) => v !== s[i])) range("shape");
  if (w !== null) {
    floats(w);
    const wr = w as Ref;
    if (wr.ndim !== k || wr.shape.some((v, i) => v !== s[i])) range("weight");
  }
  const out = new Float64Array(x.size);
  for (let r = 0; r * n < x.size; r++) {
    let ms = 0;
    // Squares round to float32 (one that overflows is ∞ there too).
    for (let i = 0; i < n; i++) ms += f32(x.data[r * n + i] ** 2);
    const inv = 1 / Math.sqrt(ms / n + (eps as number));
    for (let i = 0; i < n; i++) {
      out[r * n + i] = f32(x.data[r * n + i] * inv * (w ? (w as Ref).data[i] : 1));
    }
  }
  return new Ref(x.shape, out, "float32");
}

export function rotary(x: Ref, cos: unknown, sin: unknown): Ref {
  floats(x, cos, sin);
  const c = cos as Ref, s = sin as Ref;
  const d = x.shape[x.ndim - 1], t = x.shape[x.ndim - 2];
  if (
    x.ndim < 2 || c.ndim !== 2 || c.shape[0] !== t || c.shape[1] !== d || s.ndim !== 2 ||
    s.shape[0] !== t || s.shape[1] !== d || d % 2 !== 0
  ) range("rotary shapes");
  const half = d / 2;
  return make(x.shape, "float32", (idx) => {
    const j = idx[idx.length - 1], ti = idx[idx.length - 2];
    const base = idx.slice(0, -1);
    const at = (jj: number) => {
      let p = 0;
      const st = stridesOf(x.shape);
      [...base, jj].forEach((v, i) => (p += v * st[i]));
      return x.data[p];
    };
    const rot = j < half ? -at(j + half) : at(j - half);
    return f32(at(j) * c.data[ti * d + j] + rot * s.data[ti * d + j]);
  });
}

/** The attention options as the fuzz passes them. */
export interface AttnOpts {
  isCausal?: boolean;
  causalOffset?: number;
  mask?: Ref;
  scale?: number;
}

export function attention(q: unknown, k: unknown, v: unknown, opts: AttnOpts): Ref {
  floats(q, k, v);
  const Q = q as Ref, K = k as Ref, V = v as Ref;
  const nd = Q.ndim;
  if (nd < 3 || K.ndim !== nd || V.ndim !== nd) range("ranks");
  const [H, T, D] = Q.shape.slice(-3), [Hkv, S, Dk] = K.shape.slice(-3);
  const Dv = V.shape[nd - 1];
  if (Dk !== D || V.shape[nd - 3] !== Hkv || V.shape[nd - 2] !== S || Hkv === 0 || H % Hkv !== 0) {
    range("heads");
  }
  const lead = Q.shape.slice(0, -3);
  if (
    K.shape.slice(0, -3).some((s, i) => s !== lead[i]) ||
    V.shape.slice(0, -3).some((s, i) => s !== lead[i])
  ) {
    range("lead");
  }
  const off = opts.causalOffset ?? 0;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const g = H / Hkv;
  const out = new Float64Array(numel([...lead, H, T, Dv]));
  const L = numel(lead);
  const mask = opts.mask;
  const mShape = mask ? [...Array(nd - mask.ndim).fill(1), ...mask.shape] : [];
  const full = [...lead, H, T, S];
  if (mask) {
    if (mask.ndim > nd || mShape.some((s, i) => s !== 1 && s !== full[i])) range("mask");
  }
  const mStr = mask ? stridesOf(mShape) : [];
  forEachIndex([L, H, T], (_, [l, h, t]) => {
    const kh = Math.floor(h / g);
    const sc = new Float64Array(S);
    const leadIdx: number[] = [];
    let rem = l;
    for (let i = lead.length - 1; i >= 0; i--) {
      leadIdx.unshift(rem % lead[i]);
      rem = Math.floor(rem / lead[i]);
    }
    for (let s = 0; s < S; s++) {
      let a = 0;
      for (let d = 0; d < D; d++) {
        a += Q.data[((l * H + h) * T + t) * D + d] * K.data[((l * Hkv + kh) * S + s) * D + d];
      }
      // Scores and masked scores are float32 values (a −1e4 mask term
      // costs the digits below its ulp, in PyTorch as here).
      a = f32(f32(a) * scale);
      if (mask) {
        const idx = [...leadIdx, h, t, s];
        let p = 0;
        idx.forEach((v, i) => (p += (mShape[i] === 1 ? 0 : v) * mStr[i]));
        const m = mask.data[p];
        a = mask.dtype === "int32" ? (m !== 0 ? a : -Infinity) : f32(a + m);
      }
      // A key the causal mask hides stays hidden whatever the mask adds.
      if (opts.isCausal && s > t + off) a = -Infinity;
      sc[s] = a;
    }
    const mx = Math.max(...sc);
    const e = sc.map((x) => Math.exp(x - mx));
    const z = e.reduce((p, x) => p + x, 0);
    for (let d = 0; d < Dv; d++) {
      let o = 0;
      for (let s = 0; s < S; s++) o += (e[s] / z) * V.data[((l * Hkv + kh) * S + s) * Dv + d];
      out[((l * H + h) * T + t) * Dv + d] = f32(S === 0 ? 0 : o);
    }
  });
  return new Ref([...lead, H, T, Dv], out, "float32");
}

/**
 * `nn.crossEntropy(logits [..., C], targets [...], { reduction })`: per row
 * m + log Σ exp(x − m) − x[target] (m the row's max, NaN-propagating, as
 * the library's fused kernels and PyTorch's log-softmax).
 */
export function crossEntropy(logits: unknown, targets: unknown, opts: unknown): Ref {
  const red = (opts as { reduction?: unknown }).reduction;
  if (red !== undefined && !["mean", "sum", "none"].includes(red as string)) type("reduction");
  floats(logits);
  const x = logits as Ref, t = targets as Ref;
  if (!(t instanceof Ref) || t.dtype !== "int32") type("targets");
  const lead = x.shape.slice(0, -1);
  if (x.ndim < 1 || t.ndim !== lead.length || lead.some((v, i) => v !== t.shape[i])) {
    range("shapes");
  }
  const C = x.shape[x.ndim - 1], n = t.size;
  for (const v of t.data) if (!(v >= 0 && v < C)) range("target");
  const losses = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let m = -Infinity;
    for (let j = 0; j < C; j++) {
      const v = x.data[r * C + j];
      if (v > m || v !== v) m = v;
    }
    let s = 0;
    for (let j = 0; j < C; j++) s += Math.exp(x.data[r * C + j] - m);
    losses[r] = f32(m + Math.log(s) - x.data[r * C + t.data[r]]);
  }
  if (red === "none") return new Ref(lead, losses, "float32");
  let sum = 0;
  for (const v of losses) sum += v;
  return new Ref([], Float64Array.of(f32(red === "sum" ? sum : sum / n)), "float32");
}
