/**
 * The benchmark workloads' data generator (shared/WORKLOADS.md): the same
 * numbers as the peers' scripts, bit for bit.
 *
 * @module
 */

function lowbias32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** `uniform(seed, n, lo, hi)`: element i = lo + (hi − lo)·(lowbias32(i + seed·φ) >>> 8)/2²⁴. */
export function uniform(seed: number, n: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  const base = Number((BigInt(seed) * 0x9E3779B9n) % 4294967296n);
  for (let i = 0; i < n; i++) {
    const h = lowbias32((i + base) >>> 0) >>> 8;
    out[i] = lo + (hi - lo) * h / 16777216;
  }
  return out;
}

/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times `fn` as WORKLOADS.md says: `warmup` runs, then timed runs until at
 * least `minRuns` runs and `minSeconds` of timed work. Returns the median ms.
 */
export async function timeIt(
  fn: () => Promise<unknown>,
  warmup = 2,
  minRuns = 5,
  minSeconds = 1,
): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  let total = 0;
  while (times.length < minRuns || total < minSeconds * 1000) {
    const t0 = performance.now();
    await fn();
    const dt = performance.now() - t0;
    times.push(dt);
    total += dt;
  }
  return median(times);
}

/**
 * WORKLOADS.md's W4 model: a SmolLM2-135M-shaped Llama config (random
 * weights) with `layers` decoder layers (30 in the workload).
 */
export function w4Config(layers: number) {
  return {
    model_type: "llama",
    vocab_size: 49152,
    hidden_size: 576,
    intermediate_size: 1536,
    num_hidden_layers: layers,
    num_attention_heads: 9,
    num_key_value_heads: 3,
    max_position_embeddings: 2048,
    rms_norm_eps: 1e-5,
    rope_theta: 100000,
    tie_word_embeddings: true,
  };
}

/** W4's LoRA targets: all seven projections of every layer. */
export const W4_TARGETS = [
  "q_proj",
  "k_proj",
  "v_proj",
  "o_proj",
  "gate_proj",
  "up_proj",
  "down_proj",
];
