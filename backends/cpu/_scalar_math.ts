/**
 * Scalar math shared by the CPU kernels: exact-form GELU needs erf, which
 * JavaScript lacks.
 *
 * @module
 */

/**
 * erf(x) from the complementary error function's Chebyshev-fitted form
 * (fractional error below 1.2e-7 everywhere, under float32's resolution).
 * Only GELU needs it: erf is not a contract op.
 */
function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t *
    Math.exp(
      -z * z - 1.26551223 +
        t * (1.00002368 +
            t * (0.37409196 +
                t * (0.09678418 +
                    t * (-0.18628806 +
                        t * (0.27886807 +
                            t * (-1.13520398 +
                                t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** The exact GELU, x·Φ(x). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x * INV_SQRT2));
}

/** d/dx of x·Φ(x): Φ(x) + x·φ(x). */
export function geluGrad(x: number): number {
  return 0.5 * (1 + erf(x * INV_SQRT2)) +
    x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/** The logistic function without overflow for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}
