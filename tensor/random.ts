/**
 * The host-side seeded generator. Random tensors are drawn here and then
 * uploaded, so every backend sees the same numbers for the same seed.
 *
 * @module
 */

// xoshiro128** state, seeded through splitmix32.
const state = new Uint32Array(4);

function splitmix32(x: number): () => number {
  return () => {
    x = (x + 0x9e3779b9) | 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * Seeds the generator: the same seed gives the same numbers on every
 * backend.
 *
 * @param seed Any integer.
 * @example
 * ```ts
 * import { manualSeed, rand } from "../mod.ts";
 * manualSeed(42);
 * const a = rand([2]);
 * ```
 */
export function manualSeed(seed: number): void {
  if (!Number.isFinite(seed)) throw new TypeError(`seed must be a finite number, got ${seed}`);
  const next = splitmix32(Math.trunc(seed) | 0);
  for (let i = 0; i < 4; i++) state[i] = next();
}
manualSeed(Date.now());

function nextU32(): number {
  const s = state;
  const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
  const t = s[1] << 9;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 11);
  return result;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A uniform float in [0, 1) with 32 random bits. */
export function uniform(): number {
  return nextU32() / 4294967296;
}

/** `n` uniform floats in [lo, hi). */
export function uniformArray(n: number, lo = 0, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = Math.fround(lo + (hi - lo) * uniform());
    if (v >= hi) v = lo; // rounding to float32 can land on hi
    out[i] = v;
  }
  return out;
}

/** `n` standard normal floats (Box–Muller). */
export function normalArray(n: number, mean = 0, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - uniform(), u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = mean + std * r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}
