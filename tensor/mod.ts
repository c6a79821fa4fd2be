/**
 * The tensor layer: Tensor, factories, ops, autograd, memory.
 *
 * Read bottom-up, the modules form a DAG: `shape.ts` and `random.ts` (pure)
 * → `memory.ts` (storage lifetime, `scope`) → `tensor.ts` (the Tensor: views,
 * lifetime, readback; methods call the ops through an installed table) →
 * `graph.ts` (op names, typed saved values, `record`, `noGrad`) →
 * `_op_helpers.ts` → `factories.ts` → the op families (`ops_elementwise.ts`,
 * `ops_view.ts`, `ops_reduce.ts`, `ops_matmul.ts`, `fused.ts`, each op beside
 * its gradient rule) → `backward.ts` (the engine and the joined rule table)
 * → `install.ts` (fills the Tensor's op table).
 *
 * @module
 */
import "./install.ts";
export { Tensor } from "./tensor.ts";
export type { NestedArray, ReduceOptions, TensorLike } from "./tensor.ts";
export { arange, full, ones, rand, randn, tensor, zeros } from "./factories.ts";
export type { TensorOptions } from "./factories.ts";
export { cat, stack, where } from "./ops_public.ts";
/** Package-internal (used by `nn.scaledDotProductAttention`): the fused attention op. */
export {
  fusedAttention as _fusedAttention,
  hasFusedAttention as _hasFusedAttention,
} from "./fused_attention.ts";
/** Package-internal (used by `lora.merge`): all-or-nothing finite assignment. */
export { assignAllFinite as _assignAllFinite } from "./ops_elementwise.ts";
export { manualSeed } from "./random.ts";
/** Package-internal: the next uniform [0, 1) float of the seeded generator. */
export { uniform as _uniform } from "./random.ts";
export { noGrad } from "./graph.ts";
export { keep, memory, scope } from "./memory.ts";
export { adamUpdate, crossEntropyRows, linear, loraLinear } from "./fused.ts";
export { assertClose } from "./assert_close.ts";
export type { CloseOptions, CloseValues } from "./assert_close.ts";
export type { BinarySaved, GradNode, NothingSaved, OpName, OpSaved, UnarySaved } from "./graph.ts";
export { TensorBase } from "./tensor_base.ts";
export type { Freeable, Storage } from "./memory.ts";
