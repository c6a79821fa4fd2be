/**
 * Rotary position embeddings (Su et al., 2021) as Llama, Mistral and Qwen2
 * apply them: the half-split layout (`rotate_half`), frequencies
 * `θ^(−2i/d)`, and the `rope_scaling` types "default", "linear" and
 * "llama3" of Hugging Face configs.
 *
 * @module
 */

import { cat, scope, type Tensor, tensor } from "../tensor/mod.ts";
import { _checkFloat, _checkSize } from "./checks.ts";

/** A config's `rope_scaling` (Hugging Face's field names). */
export interface RopeScaling {
  /** "default" (none), "linear" or "llama3". */
  rope_type?: string;
  /** Older configs name the type here. */
  type?: string;
  /** The context extension factor. */
  factor?: number;
  /** llama3: wavelengths above original/low_freq_factor are scaled fully. */
  low_freq_factor?: number;
  /** llama3: wavelengths below original/high_freq_factor are not scaled. */
  high_freq_factor?: number;
  /** llama3: the context length the model was trained at. */
  original_max_position_embeddings?: number;
}

/**
 * The inverse frequencies `θ^(−2i/d)`, i < d/2, after `rope_scaling`
 * (transformers' `_compute_default_rope_parameters`, `_compute_linear_…`
 * and `_compute_llama3_parameters`), in float32 as transformers keeps them.
 *
 * @param headDim The rotated dimension (even).
 * @param theta The base (`rope_theta`).
 * @param scaling `rope_scaling`, or null.
 * @returns d/2 frequencies.
 * @throws {TypeError} For an unsupported rope type (named).
 * @throws {RangeError} For an odd `headDim` or missing llama3 fields.
 */
export function ropeInverseFrequencies(
  headDim: number,
  theta: number,
  scaling: RopeScaling | null = null,
): Float32Array {
  _checkSize("rope", "headDim", headDim);
  if (headDim % 2 !== 0) throw new RangeError(`rope: headDim must be even, got ${headDim}`);
  const half = headDim / 2;
  const inv = new Float32Array(half);
  // As transformers: the exponent 2i/d in float32, the power in float32.
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.fround(theta ** Math.fround((2 * i) / headDim));
  const kind = scaling?.rope_type ?? scaling?.type ?? "default";
  if (kind === "default") return inv;
  const factor = scaling!.factor;
  if (typeof factor !== "number" || !(factor > 0)) {
    throw new RangeError(`rope_scaling: factor must be a positive number, got ${factor}`);
  }
  if (kind === "linear") return inv.map((f) => f / factor);
  if (kind !== "llama3") {
    throw new TypeError(
      `rope_scaling type "${kind}" is not supported (supported: "default", "linear", "llama3")`,
    );
  }
  const { low_freq_factor: low, high_freq_factor: high } = scaling!;
  const old = scaling!.original_max_position_embeddings;
  if (typeof low !== "number" || typeof high !== "number" || typeof old !== "number") {
    throw new RangeError(
      "rope_scaling llama3 needs low_freq_factor, high_freq_factor and original_max_position_embeddings",
    );
  }
  const lowWavelen = old / low, highWavelen = old / high;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / factor;
    const smooth = (old / wavelen - low) / (high - low);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

/**
 * The cos/sin tables of rotary embeddings for a head dimension: call
 * {@link RotaryEmbedding.cosSin} for the positions of a forward pass.
 *
 * @example
 * ```ts
 * import { nn, randn } from "../mod.ts";
 * const rope = new nn.RotaryEmbedding(8, { theta: 10000 });
 * const { cos, sin } = rope.cosSin(0, 5);
 * const q = nn.applyRotaryEmbedding(randn([1, 2, 5, 8]), cos, sin);
 * console.log(q.shape); // [1, 2, 5, 8]
 * ```
 */
export class RotaryEmbedding {
  /** The rotated dimension. */
  readonly headDim: number;
  /** The inverse frequencies (d/2). */
  readonly inverseFrequencies: Float32Array;

  /**
   * @param headDim The rotated dimension (even).
   * @param opts `{ theta?: 10000, scaling?: rope_scaling }`.
   */
  constructor(headDim: number, opts: { theta?: number; scaling?: RopeScaling | null } = {}) {
    this.headDim = headDim;
    this.inverseFrequencies = ropeInverseFrequencies(headDim, opts.theta ?? 10000, opts.scaling);
  }

  /**
   * cos and sin [length, headDim] for positions `start … start + length − 1`
   * (`emb = cat(freqs, freqs)`, freqs = position·inv_freq in float32).
   *
   * @param start The first position.
   * @param length How many positions.
   * @param backend Where to put them (the default backend when omitted).
   * @returns `{ cos, sin }`.
   */
  cosSin(start: number, length: number, backend?: string): { cos: Tensor; sin: Tensor } {
    if (!Number.isInteger(start) || start < 0 || !Number.isInteger(length) || length < 0) {
      throw new RangeError(`rope: positions [${start}, ${start + length}) are not valid`);
    }
    const d = this.headDim, half = d / 2;
    const cos = new Float32Array(length * d), sin = new Float32Array(length * d);
    for (let t = 0; t < length; t++) {
      for (let i = 0; i < half; i++) {
        const a = Math.fround((start + t) * this.inverseFrequencies[i]);
        cos[t * d + i] = cos[t * d + half + i] = Math.cos(a);
        sin[t * d + i] = sin[t * d + half + i] = Math.sin(a);
      }
    }
    return {
      cos: tensor(cos, { shape: [length, d], backend }),
      sin: tensor(sin, { shape: [length, d], backend }),
    };
  }
}

/**
 * Applies rotary embeddings: `x·cos + rotate_half(x)·sin`, where
 * `rotate_half` maps the halves (a, b) of the last dim to (−b, a)
 * (transformers' `apply_rotary_pos_emb`).
 *
 * @param x [..., T, D], float32.
 * @param cos [T, D] (from {@link RotaryEmbedding.cosSin}).
 * @param sin [T, D].
 * @returns Same shape as `x`.
 * @throws {RangeError} When the shapes do not fit.
 * @example
 * ```ts
 * import { nn, randn } from "../mod.ts";
 * const { cos, sin } = new nn.RotaryEmbedding(4).cosSin(0, 3);
 * nn.applyRotaryEmbedding(randn([3, 4]), cos, sin);
 * ```
 */
export function applyRotaryEmbedding(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  for (const t of [x, cos, sin]) _checkFloat("applyRotaryEmbedding", t);
  const d = x.shape[x.ndim - 1], t = x.shape[x.ndim - 2];
  if (
    x.ndim < 2 || cos.ndim !== 2 || cos.shape[0] !== t || cos.shape[1] !== d ||
    sin.shape.some((s, i) => s !== cos.shape[i]) || sin.ndim !== 2 || d % 2 !== 0
  ) {
    throw new RangeError(
      `applyRotaryEmbedding: x [${x.shape}] needs cos and sin [${t}, ${d}] (even), got [${cos.shape}] and [${sin.shape}]`,
    );
  }
  return scope(() => {
    const half = d / 2;
    const rotated = cat([x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)], -1);
    return x.mul(cos).add(rotated.mul(sin));
  });
}
