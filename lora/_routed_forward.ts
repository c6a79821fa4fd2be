/**
 * The per-row forward of `lora.routed` (PEFT's `_mixed_batch_forward`): one
 * pass of the base over the whole batch, then each adapter's update on its
 * own rows only, put back in row order.
 *
 * @module
 */

import { cat, type Tensor, tensor, zeros } from "../tensor/mod.ts";
import type { Module } from "../nn/mod.ts";
import type { LoraAdapter } from "./adapter.ts";

/** The routing name of "no adapter" (PEFT's `"__base__"`). */
export const BASE_ROUTE = "__base__";

/** Row indices per name, in order of first appearance. */
export function _routeGroups(names: readonly string[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  names.forEach((n, i) => {
    const g = groups.get(n);
    if (g) g.push(i);
    else groups.set(n, [i]);
  });
  return groups;
}

/** Throws unless the input's leading dim has one row per routing name. */
export function _checkRouteRows(who: string, x: Tensor, names: readonly string[]): void {
  if (x.ndim === 0 || x.shape[0] !== names.length) {
    throw new RangeError(
      `${who}: lora.routed was given ${names.length} adapter names but the input has shape [${
        x.shape.join(",")
      }] (its leading dim must be ${names.length})`,
    );
  }
}

/** 1-D int32 row indices on `like`'s backend. */
export function _rowIndex(rows: readonly number[], like: Tensor): Tensor {
  return tensor(Int32Array.from(rows), { dtype: "int32", backend: like.backend });
}

/**
 * Puts per-group outputs (groups in `groups` order, rows within a group in
 * ascending order) back into row order.
 *
 * @param pieces One tensor per group, leading dim = the group's row count.
 * @param groups The groups.
 * @returns The rows in batch order.
 */
export function _unpermute(pieces: Tensor[], groups: Map<string, number[]>): Tensor {
  const order = [...groups.values()].flat();
  const inverse = new Array<number>(order.length);
  order.forEach((row, pos) => (inverse[row] = pos));
  const joined = cat(pieces, 0);
  return joined.indexSelect(0, _rowIndex(inverse, joined));
}

/**
 * `base(x)` for every row, plus `update(adapter, rows)` on each group of
 * rows routed to an adapter this layer has; rows routed to `"__base__"` or
 * to an adapter absent here get the base alone.
 *
 * @param layer The layer (its `base` and `adapter(name)`).
 * @param x The input, leading dim = names.length.
 * @param names One adapter name per row.
 * @param update The adapter's additive term for some rows.
 * @returns The output.
 * @throws {RangeError} When the leading dim does not match.
 */
export function _routedForward(
  layer: { base: Module; adapter(name: string): LoraAdapter | undefined },
  x: Tensor,
  names: readonly string[],
  update: (a: LoraAdapter, rows: Tensor) => Tensor,
): Tensor {
  _checkRouteRows("LoRA layer", x, names);
  const result = layer.base.forward(x);
  const groups = _routeGroups(names);
  const adapterOf = (n: string) => (n === BASE_ROUTE ? undefined : layer.adapter(n));
  const live = [...groups.keys()].filter((n) => adapterOf(n) !== undefined);
  if (live.length === 0) return result;
  if (groups.size === 1) return result.add(update(adapterOf(live[0])!, x));
  const tail = result.shape.slice(1);
  const pieces = [...groups].map(([n, rows]) => {
    const a = adapterOf(n);
    if (a === undefined) return zeros([rows.length, ...tail], { backend: x.backend });
    return update(a, x.indexSelect(0, _rowIndex(rows, x)));
  });
  return result.add(_unpermute(pieces, groups));
}
