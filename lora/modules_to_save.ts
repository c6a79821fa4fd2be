/**
 * `ModulesToSaveWrapper`: PEFT's `modules_to_save` — a trainable full copy
 * of a module (a classification head, `lm_head`) per adapter, used in place
 * of the original while that adapter is active and saved with it.
 *
 * The copies are parameter sets, not module objects: while a copy is in use
 * its tensors stand in the original module's fields for the one call, so any
 * module (whatever its constructor needs) can be copied.
 *
 * @module
 */

import { keep, noGrad, scope, Tensor } from "../tensor/mod.ts";
import { Module } from "../nn/mod.ts";
import {
  _checkRouteRows,
  _routeGroups,
  _rowIndex,
  _unpermute,
  BASE_ROUTE,
} from "./_routed_forward.ts";

/**
 * One adapter's copy of a module's parameters, one field per parameter path
 * of the original (`"weight"`, `"0.bias"`).
 *
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const net = lora.wrap(new nn.Sequential(new nn.Linear(4, 4), new nn.Linear(4, 2)), ["0"], 2, 2, {
 *   modulesToSave: ["1"],
 * });
 * const head = net.getModule("1") as lora.ModulesToSaveWrapper;
 * console.log(Object.keys(head.copy("default")!)); // ["weight", "bias"]
 * ```
 */
export class ParameterCopy extends Module {
  /**
   * A parameter set computes nothing.
   *
   * @throws {Error} Always.
   */
  override forward(): Tensor {
    throw new Error("ParameterCopy: a parameter copy is used through its wrapper");
  }
}

/**
 * A container of {@link ParameterCopy} by adapter name.
 *
 * @example
 * ```ts
 * import { lora } from "../mod.ts";
 * console.log(new lora.ParameterCopyDict() instanceof lora.ParameterCopyDict); // true
 * ```
 */
export class ParameterCopyDict extends Module {
  /**
   * A container computes nothing.
   *
   * @throws {Error} Always.
   */
  override forward(): Tensor {
    throw new Error("ParameterCopyDict: a container of copies is not called");
  }
}

/** Puts `map`'s replacements into every field of `root`'s tree; returns the undo. */
function _swap(root: Module, map: Map<Tensor, Tensor>): () => void {
  const undo: (() => void)[] = [];
  for (const m of root.namedModules().values()) {
    const rec = m as unknown as Record<string, unknown>;
    for (const k of Object.keys(m)) {
      const v = rec[k];
      if (v instanceof Tensor && map.has(v)) {
        rec[k] = map.get(v);
        undo.push(() => (rec[k] = v));
      } else if (Array.isArray(v)) {
        v.forEach((e, i) => {
          if (e instanceof Tensor && map.has(e)) {
            v[i] = map.get(e);
            undo.push(() => (v[i] = e));
          }
        });
      }
    }
  }
  return () => {
    for (const f of undo.reverse()) f();
  };
}

/**
 * A module kept whole and trained per adapter (PEFT's `ModulesToSaveWrapper`):
 * `originalModule` is the frozen original, `modulesToSave.<adapter>` holds
 * each adapter's copy of its parameters. The forward uses the copy of the
 * active adapter that has one, else the original.
 *
 * @example
 * ```ts
 * import { lora, nn, randn } from "../mod.ts";
 * const net = lora.wrap(new nn.Sequential(new nn.Linear(4, 4), new nn.Linear(4, 2)), ["0"], 2, 2, {
 *   modulesToSave: ["1"],
 * });
 * console.log([...net.namedParameters().keys()].filter((k) => k.startsWith("1.")));
 * // ["1.originalModule.weight", "1.originalModule.bias", "1.modulesToSave.default.weight", "1.modulesToSave.default.bias"]
 * ```
 */
export class ModulesToSaveWrapper extends Module {
  /** The original module (frozen). */
  originalModule: Module;
  /** Each adapter's copy of its parameters. */
  modulesToSave: ParameterCopyDict;
  #active: string | null = null;
  #enabled = true;
  #routing: readonly string[] | null = null;

  /**
   * @param original The module to copy per adapter (kept, not copied).
   * @throws {TypeError} When `original` is not a Module.
   */
  constructor(original: Module) {
    super();
    if (!(original instanceof Module)) {
      throw new TypeError(`ModulesToSaveWrapper: expected a Module, got ${original}`);
    }
    this.originalModule = original;
    this.modulesToSave = new ParameterCopyDict();
    if (!original.training) this.eval();
  }

  /** The adapters with a copy here, in the order they were added. */
  get adapterNames(): string[] {
    return Object.keys(this.modulesToSave);
  }

  /** The adapter whose copy the forward uses, or null (the original). */
  get activeAdapter(): string | null {
    return this.#active;
  }

  /** False while the copies are switched off (see `lora.disabled`). */
  get enabled(): boolean {
    return this.#enabled;
  }

  /**
   * One adapter's copy.
   *
   * @param name The adapter.
   * @returns Its copy, or undefined.
   */
  copy(name: string): ParameterCopy | undefined {
    const c = (this.modulesToSave as unknown as Record<string, unknown>)[name];
    return c instanceof ParameterCopy && Object.hasOwn(this.modulesToSave, name) ? c : undefined;
  }

  /**
   * @param x The input.
   * @param rest Further inputs, passed on.
   * @returns The original module's output, computed with the active
   *   adapter's copy of its parameters (or its own, when no active adapter has a copy).
   */
  override forward(x: Tensor, ...rest: unknown[]): Tensor {
    if (this.#routing !== null && this.#enabled) return this.#routed(x, this.#routing, rest);
    const name = this.#enabled ? this.#active : null;
    return this._withCopy(name, () => this.originalModule.forward(x, ...rest));
  }

  /** Runs `fn` with adapter `name`'s copy standing in (the original when null). */
  _withCopy<T>(name: string | null, fn: () => T): T {
    const c = name === null ? undefined : this.copy(name);
    if (c === undefined) return fn();
    const own = this.originalModule.namedParameters();
    const mine = c as unknown as Record<string, Tensor>;
    const map = new Map<Tensor, Tensor>();
    for (const [path, p] of own) map.set(p, mine[path]);
    const undo = _swap(this.originalModule, map);
    try {
      return fn();
    } finally {
      undo();
    }
  }

  #routed(x: Tensor, names: readonly string[], rest: unknown[]): Tensor {
    _checkRouteRows("ModulesToSaveWrapper", x, names);
    const groups = _routeGroups(names);
    const run = (n: string, xs: Tensor) =>
      this._withCopy(n === BASE_ROUTE ? null : n, () => this.originalModule.forward(xs, ...rest));
    if (groups.size === 1) return run(names[0], x);
    const pieces = [...groups].map(([n, rows]) => {
      const out = run(n, x.indexSelect(0, _rowIndex(rows, x)));
      if (out.ndim === 0 || out.shape[0] !== rows.length) {
        throw new RangeError(
          `lora.routed: the module's output [${
            out.shape.join(",")
          }] has no leading row per input row`,
        );
      }
      return out;
    });
    return _unpermute(pieces, groups);
  }

  /** Adds adapter `name`'s copy (the original's current values, trainable). */
  _add(name: string): void {
    const copy = new ParameterCopy();
    const rec = copy as unknown as Record<string, Tensor>;
    noGrad(() =>
      scope(() => {
        for (const [path, p] of this.originalModule.namedParameters()) {
          const c = keep(p.clone());
          c.requiresGrad = true;
          rec[path] = c;
        }
      })
    );
    (this.modulesToSave as unknown as Record<string, unknown>)[name] = copy;
  }

  /** Removes adapter `name`'s copy and frees it. */
  _remove(name: string): void {
    const c = this.copy(name);
    if (c === undefined) return;
    delete (this.modulesToSave as unknown as Record<string, unknown>)[name];
    for (const t of c.parameters()) t.dispose();
    if (this.#active === name) this.#active = null;
  }

  /** Sets the adapter whose copy is used (null: the original). */
  _setActive(name: string | null): void {
    this.#active = name !== null && this.copy(name) ? name : null;
  }

  /** Switches the copies off (the original computes) or on. */
  _setEnabled(v: boolean): void {
    this.#enabled = v;
  }

  /** Sets the per-row adapter names (see `lora.routed`). */
  _setRouting(names: readonly string[] | null): void {
    this.#routing = names;
  }
}
