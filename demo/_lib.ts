/**
 * The library, as the demo uses it. `mod.ts` does not yet re-export the
 * `nn`, `optim` and `lora` namespaces, so they are taken from their folders
 * here; once it does, this file becomes `export * from "../mod.ts"`.
 *
 * @module
 */
export * from "../mod.ts";
export * as nn from "../nn/mod.ts";
export * as optim from "../optim/mod.ts";
export * as lora from "../lora/mod.ts";
