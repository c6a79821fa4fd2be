/**
 * Loads `tests/fixtures/torch_optim_groups.json` (made by
 * `gen_optim_groups.py` with PyTorch 1.13): optimizers over two parameter
 * groups, and AdamW over LoRA+ groups.
 *
 * @module
 */
import type { Json } from "../nn/_fixture.ts";

/** The parsed fixture. */
export const torchGroups: Json = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/torch_optim_groups.json", import.meta.url)),
);

/** PyTorch's option names in this library's spelling. */
export function camel(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(o).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), v]),
  );
}
