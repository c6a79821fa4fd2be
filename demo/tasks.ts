/**
 * The demo's synthetic string tasks. Inputs are random digit strings of a
 * fixed length; each task maps an input to an output of the same length,
 * so a model can predict every output character in one forward pass.
 *
 * @module
 */

import { type Tensor, tensor } from "../mod.ts";

/** A string-to-string task on digit strings. */
export interface Task {
  /** Short name, e.g. `"sort"`. */
  name: string;
  /** What it does, for the report. */
  description: string;
  /** The answer for one input. */
  apply(input: string): string;
}

/** Task A, learned in pretraining: `"30721"` → `"01237"`. */
export const SORT_ASC: Task = {
  name: "sort",
  description: "sort the digits ascending",
  apply: (s) => [...s].sort().join(""),
};

/**
 * Task B, learned by the LoRA adapters alone: `"30721"` → `"73210"`. It
 * needs the same digit counting as task A, read out in the other order,
 * which is why a low-rank change to a frozen sorter is enough.
 */
export const SORT_DESC: Task = {
  name: "sort-desc",
  description: "sort the digits descending",
  apply: (s) => [...s].sort().reverse().join(""),
};

/**
 * Task C, for a second adapter on the same frozen base (`--adapters 2`):
 * `"30721"` → `"12370"`, the ascending sort read out one place later (its
 * smallest digit moved to the end): like task B, a new readout order of
 * task A's counting.
 */
export const SORT_ROTATE: Task = {
  name: "sort-rotate",
  description: "sort the digits ascending, then move the first to the end",
  apply: (s) => {
    const t = [...s].sort();
    return [...t.slice(1), t[0]].join("");
  },
};

/** Digits are their own token ids. */
export const VOCAB_SIZE = 10;

/**
 * A small seeded generator (mulberry32), so the data does not depend on the
 * library's RNG and a seed gives the same strings everywhere.
 */
export class Rng {
  #state: number;

  /**
   * Starts a stream.
   *
   * @param seed Any integer.
   */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /**
   * The next number of the stream.
   *
   * @returns A float in [0, 1).
   */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /**
   * A uniform integer.
   *
   * @param n Upper bound.
   * @returns An integer in [0, n).
   */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/**
 * Random digit strings.
 *
 * @param rng The generator.
 * @param count How many.
 * @param len Length of each.
 * @returns The strings.
 */
export function randomStrings(rng: Rng, count: number, len: number): string[] {
  return Array.from({ length: count }, () => {
    let s = "";
    for (let i = 0; i < len; i++) s += String(rng.int(VOCAB_SIZE));
    return s;
  });
}

/**
 * Token ids of equal-length digit strings.
 *
 * @param strings The strings.
 * @returns int32 [strings.length, len].
 */
export function encode(strings: readonly string[]): Tensor {
  const len = strings[0].length;
  const ids = new Int32Array(strings.length * len);
  strings.forEach((s, i) => {
    for (let j = 0; j < len; j++) ids[i * len + j] = s.charCodeAt(j) - 48;
  });
  return tensor(ids, { shape: [strings.length, len], dtype: "int32" });
}

/**
 * Strings back from predicted ids.
 *
 * @param ids Row-major ids [count, len].
 * @param len Length of each string.
 * @returns The strings.
 */
export function decode(ids: ArrayLike<number>, len: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < ids.length; i += len) {
    let s = "";
    for (let j = 0; j < len; j++) s += String(ids[i + j]);
    out.push(s);
  }
  return out;
}

/** A batch of inputs and targets as token ids. */
export interface Batch {
  /** int32 [batch, len]. */
  inputs: Tensor;
  /** int32 [batch, len]. */
  targets: Tensor;
}

/**
 * A random training batch for `task`.
 *
 * @param task The task.
 * @param rng The generator.
 * @param size Batch size.
 * @param len String length.
 * @returns Inputs and targets (the caller disposes them).
 */
export function makeBatch(task: Task, rng: Rng, size: number, len: number): Batch {
  const inputs = randomStrings(rng, size, len);
  return { inputs: encode(inputs), targets: encode(inputs.map((s) => task.apply(s))) };
}
