/**
 * Installs the op functions behind the Tensor's methods (see `TensorOps` in
 * `tensor.ts`). Loading this module is what makes a Tensor's methods work;
 * `tensor/mod.ts` loads it first. Every op file sits below it, so the
 * graph of modules stays a DAG.
 *
 * @module
 */
import { initBackend } from "../backends/registry.ts";
import { _installOps, type Tensor } from "./tensor.ts";
import { fromData, full } from "./_op_helpers.ts";
import { failSafe } from "./memory.ts";
import { alias, assign, binary, cast, clone, compare, unary } from "./ops_elementwise.ts";
import {
  expand,
  indexSelect,
  narrow,
  permute,
  reshape,
  squeeze,
  transpose,
  unsqueeze,
} from "./ops_view.ts";
import { argmax, max, mean, softmax, sum } from "./ops_reduce.ts";
import { matmul } from "./ops_matmul.ts";
import { backward } from "./backward.ts";

/** A copy of `t` on another backend (read back, then uploaded). */
async function copyTo(t: Tensor, backendName: string): Promise<Tensor> {
  const target = await initBackend(backendName);
  return fromData(await t.data(), t.shape, target);
}

/** `op` run under {@link failSafe}: a failed call frees what it made. */
function guarded<A extends unknown[], R>(op: (...args: A) => R): (...args: A) => R {
  return (...args) => failSafe(() => op(...args));
}

_installOps({
  binary: guarded(binary),
  compare: guarded(compare),
  unary: guarded(unary),
  matmul: guarded(matmul),
  sum: guarded(sum),
  mean: guarded(mean),
  max: guarded(max),
  argmax: guarded(argmax),
  softmax: guarded(softmax),
  reshape: guarded(reshape),
  transpose: guarded(transpose),
  permute: guarded(permute),
  unsqueeze: guarded(unsqueeze),
  squeeze: guarded(squeeze),
  expand: guarded(expand),
  narrow: guarded(narrow),
  indexSelect: guarded(indexSelect),
  clone: guarded(clone),
  alias: guarded(alias),
  cast: guarded(cast),
  assign: guarded(assign),
  full: guarded(full),
  copyTo,
  backward,
});
