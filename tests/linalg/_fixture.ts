/**
 * Loads `tests/fixtures/torch_linalg.json` (made by `gen_linalg.py` with
 * PyTorch 1.13): matrices with their singular values, U's columns where
 * they are unique up to sign, and R's rows where they are.
 *
 * @module
 */

/** One fixture matrix. */
export interface LinalgCase {
  name: string;
  shape: [number, number];
  a: number[];
  S: number[];
  absDiagR: number[];
  U?: number[][];
  R?: number[][];
}

/** The parsed fixture's cases. */
export const torchLinalg: LinalgCase[] = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/torch_linalg.json", import.meta.url)),
).cases;
