/**
 * The blocked float sum both threads run: f32 partial sums inside blocks of
 * 8192 elements (the kernel's 16 accumulators), block sums added in f64.
 *
 * @module
 */

/** Elements per f32-accumulated block. */
export const SUM_BLOCK = 8192;

/**
 * Σ of `n` floats at byte address `p`, block by block.
 *
 * @param kernel The wasm `sum(ptr, n)` export (one block, f32).
 * @param p Byte address of the first element.
 * @param n Element count.
 * @returns The sum, unrounded (f64).
 */
export function blockSum(kernel: (p: number, n: number) => number, p: number, n: number): number {
  let total = 0;
  for (let i = 0; i < n; i += SUM_BLOCK) total += kernel(p + i * 4, Math.min(SUM_BLOCK, n - i));
  return total;
}
