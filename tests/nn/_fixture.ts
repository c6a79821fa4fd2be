/**
 * Loads `tests/fixtures/torch_nn.json` (made by `gen_nn.py` with PyTorch
 * 1.13) for the nn and optim suites.
 *
 * @module
 */

/** A nested array of numbers as JSON holds it. */
// deno-lint-ignore no-explicit-any
export type Json = any;

/** The parsed fixture. */
export const torchNn: Json = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/torch_nn.json", import.meta.url)),
);

/** The shape of a nested array. */
export function shapeOf(a: Json): number[] {
  const s: number[] = [];
  let x = a;
  while (Array.isArray(x)) {
    s.push(x.length);
    x = x[0];
  }
  return s;
}
