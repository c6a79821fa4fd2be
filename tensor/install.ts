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

_installOps({
  binary,
  compare,
  unary,
  matmul,
  sum,
  mean,
  max,
  argmax,
  softmax,
  reshape,
  transpose,
  permute,
  unsqueeze,
  squeeze,
  expand,
  narrow,
  indexSelect,
  clone,
  alias,
  cast,
  assign,
  full,
  copyTo,
  backward,
});
