/**
 * The tensor layer: Tensor, factories, ops, autograd, memory.
 *
 * @module
 */
export { Tensor } from "./tensor.ts";
export type { NestedArray, ReduceOptions, TensorLike } from "./tensor.ts";
export { arange, full, ones, rand, randn, tensor, zeros } from "./factories.ts";
export type { TensorOptions } from "./factories.ts";
export { cat, stack, where } from "./ops_public.ts";
export { assignAllFinite as _assignAllFinite } from "./ops.ts";
export { manualSeed } from "./random.ts";
export { noGrad } from "./autograd.ts";
export { keep, memory, scope } from "./memory.ts";
export { adamUpdate, crossEntropyRows, linear, loraLinear } from "./fused.ts";
export { assertClose } from "./assert_close.ts";
export type { CloseOptions, CloseValues } from "./assert_close.ts";
export type { GradNode } from "./autograd.ts";
export type { Freeable, Storage } from "./memory.ts";
