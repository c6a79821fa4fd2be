/**
 * The module half of the emitter: collects function types, one imported
 * shared memory and functions (each a {@link FuncBuilder}), and encodes the
 * binary module.
 *
 * @module
 */

import { FuncBuilder, uleb, type ValType } from "./assembler.ts";

/** A length-prefixed UTF-8 name. */
function name(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [...uleb(b.length), ...b];
}

/** An exported function. */
interface FuncEntry {
  name: string | null;
  typeIndex: number;
  body: FuncBuilder;
}

/** Collects types, the memory import and functions; emits module bytes. */
export class ModuleBuilder {
  #types: string[] = [];
  #funcs: FuncEntry[] = [];
  #memory: number[] = [];

  /** Imports `env.memory` as a shared memory of `min`..`max` 64 KiB pages. */
  importSharedMemory(min: number, max: number): void {
    this.#memory = [
      ...name("env"),
      ...name("memory"),
      0x02, // import kind: memory
      0x03, // limits flags: has max, shared
      ...uleb(min),
      ...uleb(max),
    ];
  }

  /**
   * Adds a function; `exportName` null keeps it internal. Returns its index
   * (usable by `call`) and the builder to fill in.
   */
  func(
    exportName: string | null,
    params: ValType[],
    results: ValType[],
  ): { index: number; f: FuncBuilder } {
    const sig = [0x60, ...uleb(params.length), ...params];
    sig.push(...uleb(results.length), ...results);
    const key = sig.join(",");
    let typeIndex = this.#types.indexOf(key);
    if (typeIndex < 0) typeIndex = this.#types.push(key) - 1;
    const f = new FuncBuilder(params, results);
    this.#funcs.push({ name: exportName, typeIndex, body: f });
    return { index: this.#funcs.length - 1, f };
  }

  /** Encodes the whole module. */
  emit(): Uint8Array {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const append = (dst: number[], src: number[]) => {
      for (const b of src) dst.push(b); // no spread: bodies can be large
    };
    const section = (id: number, items: number[][]) => {
      const payload = uleb(items.length);
      for (const item of items) append(payload, item);
      out.push(id, ...uleb(payload.length));
      append(out, payload);
    };
    section(1, this.#types.map((t) => t.split(",").map(Number)));
    if (this.#memory.length) section(2, [this.#memory]);
    section(3, this.#funcs.map((f) => uleb(f.typeIndex)));
    const exports = this.#funcs
      .map((f, i) => f.name === null ? [] : [...name(f.name), 0x00, ...uleb(i)])
      .filter((e) => e.length);
    section(7, exports);
    section(
      10,
      this.#funcs.map(({ body }) => {
        // Locals are declared as runs of equal types.
        const runs: number[][] = [];
        for (const t of body.locals) {
          const last = runs[runs.length - 1];
          if (last && last[1] === t) last[0]++;
          else runs.push([1, t]);
        }
        const fn = uleb(runs.length);
        for (const [n, t] of runs) fn.push(...uleb(n), t);
        append(fn, body.code);
        fn.push(0x0b);
        const entry = uleb(fn.length);
        append(entry, fn);
        return entry;
      }),
    );
    return new Uint8Array(out);
  }
}
