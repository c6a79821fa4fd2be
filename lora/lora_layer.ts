/**
 * `LoraLayer`: what `LoraLinear` and `LoraEmbedding` share (PEFT's
 * `LoraLayer`): the named adapters of one wrapped layer, which are active,
 * which are merged into the base weight, and the merge arithmetic.
 *
 * @module
 */

import { keep, noGrad, scope, type Storage, type Tensor } from "../tensor/mod.ts";
import { Module, parameter } from "../nn/mod.ts";
import { type LoraAdapter, LoraAdapterDict, type LoraAdapterOptions } from "./adapter.ts";
import { _doraWeightNorm, _doraWeightNormDirect } from "./dora.ts";

/** The adapter name PEFT gives an adapter when none is named. */
export const DEFAULT_ADAPTER = "default";

/**
 * Checks an adapter name: it becomes a field name (`layer.adapters.<name>`),
 * so it is letters, digits, `_` and `-`, not starting with `_`, and not
 * `"__base__"` (the routing name for "no adapter").
 *
 * @param who The caller, for messages.
 * @param name The name.
 * @throws {TypeError} When it is not a string or not a usable name.
 */
export function _checkAdapterName(who: string, name: unknown): asserts name is string {
  if (typeof name !== "string") {
    throw new TypeError(`${who}: an adapter name must be a string, got ${JSON.stringify(name)}`);
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name) || name in LoraAdapterDict.prototype) {
    throw new TypeError(
      `${who}: adapter name ${
        JSON.stringify(name)
      } is not usable (letters, digits, "_" and "-", not starting with "_", not a Module member)`,
    );
  }
}

/**
 * A wrapped layer with one or more named adapters. `base` is the original
 * layer; the `"default"` adapter's tensors are the layer's own `loraA`,
 * `loraB` (an embedding's `loraEmbeddingA`, `loraEmbeddingB`; and
 * `loraMagnitude` with DoRA), every other adapter's are under
 * `adapters.<name>`. `rank`, `alpha`, `scaling`… describe the `"default"`
 * adapter (or, on a layer without one, its first adapter).
 *
 * @example
 * ```ts
 * import { lora, nn } from "../mod.ts";
 * const net = lora.wrap(new nn.Sequential(new nn.Linear(4, 4)), ["0"], 2, 2);
 * const layer = net.getModule("0") as lora.LoraLayer;
 * console.log(layer.adapterNames, layer.activeAdapters, layer.merged); // ["default"] ["default"] false
 * ```
 */
export abstract class LoraLayer extends Module {
  /** The adapted layer. */
  declare base: Module;
  /** The `"default"` adapter's dropout. */
  declare dropout: Module;
  /** The `"default"` adapter's DoRA magnitude, [out]; undefined without DoRA. */
  declare loraMagnitude: Tensor | undefined;
  /** The other adapters, by name; undefined while there are none. */
  declare adapters: LoraAdapterDict | undefined;
  #adapters = new Map<string, LoraAdapter>();
  #active: string[] = [];
  #merged: string[] = [];
  #norms = new Map<string, Tensor>();
  #enabled = true;
  #routing: readonly string[] | null = null;

  #keys: readonly [string, string];

  /**
   * @param base The layer to adapt (kept as `base`, not copied).
   * @param keys The field names of the default adapter's A and B.
   */
  constructor(base: Module, keys: readonly [string, string]) {
    super();
    // Field order is parameter order: base.*, A, B, loraMagnitude, adapters.*.
    this.#keys = keys;
    this.base = base;
    Object.assign(this, {
      [keys[0]]: undefined,
      [keys[1]]: undefined,
      dropout: undefined,
      loraMagnitude: undefined,
      adapters: undefined,
    });
  }

  /** The base weight with one row per output ([out, in]; an embedding's [dim, num]). */
  abstract _rowWeight(): Tensor;
  /** `rows` (shaped as {@link LoraLayer._rowWeight}) in the base weight's own layout. */
  abstract _fromRows(rows: Tensor): Tensor;
  /** A fresh adapter with PEFT's initial values for this kind of layer. */
  abstract _newAdapter(opts: LoraAdapterOptions): LoraAdapter;

  /**
   * One adapter by name.
   *
   * @param name The adapter's name.
   * @returns The adapter, or undefined when this layer has none of that name.
   */
  adapter(name: string): LoraAdapter | undefined {
    return this.#adapters.get(name);
  }

  /** The names of this layer's adapters, in the order they were added. */
  get adapterNames(): string[] {
    return [...this.#adapters.keys()];
  }

  /** The active adapters that this layer has, in activation order. */
  get activeAdapters(): string[] {
    return this.#active.filter((n) => this.#adapters.has(n));
  }

  /** The adapters folded into `base`'s weight, in merge order. */
  get mergedAdapters(): string[] {
    return [...this.#merged];
  }

  /** True while some adapter is folded into `base`'s weight (see `lora.merge`). */
  get merged(): boolean {
    return this.#merged.length > 0;
  }

  /** False while adapters are switched off (see `lora.disabled`). */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** The adapter the single-adapter fields describe: `"default"`, else the first. */
  get primary(): LoraAdapter {
    const a = this.#adapters.get(DEFAULT_ADAPTER) ?? this.#adapters.values().next().value;
    if (a === undefined) throw new Error("LoraLayer: the layer has no adapter");
    return a;
  }

  /** The rank r (of {@link LoraLayer.primary}). */
  get rank(): number {
    return this.primary.rank;
  }

  /** alpha as given (of {@link LoraLayer.primary}). */
  get alpha(): number {
    return this.primary.alpha;
  }

  /** The update's multiplier, alpha / r or alpha / √r (of {@link LoraLayer.primary}). */
  get scaling(): number {
    return this.primary.scaling;
  }

  set scaling(v: number) {
    this.primary.scaling = v;
  }

  /** Whether scaling is alpha / √r (of {@link LoraLayer.primary}). */
  get rsLora(): boolean {
    return this.primary.rsLora;
  }

  /** How {@link LoraLayer.primary} was initialised. */
  get init(): LoraAdapter["init"] {
    return this.primary.init;
  }

  /** The dropout probability of {@link LoraLayer.primary}. */
  get dropoutP(): number {
    return this.primary.dropoutP;
  }

  /** Whether {@link LoraLayer.primary} is a DoRA adapter. */
  get useDora(): boolean {
    return this.primary.useDora;
  }

  /** The active, unmerged adapters that compute in forward, in order. */
  _live(): LoraAdapter[] {
    if (!this.#enabled) return [];
    const out: LoraAdapter[] = [];
    for (const n of this.#active) {
      const a = this.#adapters.get(n);
      if (a !== undefined && !this.#merged.includes(n)) out.push(a);
    }
    return out;
  }

  /** The per-row adapter names of a routed forward, or null. */
  _routing(): readonly string[] | null {
    return this.#routing;
  }

  /** Sets the per-row adapter names (see `lora.routed`). */
  _setRouting(names: readonly string[] | null): void {
    this.#routing = names;
  }

  /** Sets the active adapter names (the model's list; absent ones are skipped). */
  _setActive(names: readonly string[]): void {
    this.#active = [...names];
  }

  /** Switches the adapters on or off; used by `lora.disabled`. */
  _setEnabled(v: boolean): void {
    this.#enabled = v;
  }

  /**
   * Adds an adapter with PEFT's initial values; a DoRA adapter's magnitude
   * starts at `‖W + s·B·A‖` per row, so a fresh adapter changes nothing.
   *
   * @param name Its name (checked by the caller, new on this layer).
   * @param opts Its hyper-parameters (checked by the caller).
   * @returns The adapter.
   */
  _addAdapter(name: string, opts: LoraAdapterOptions): LoraAdapter {
    const a = this._newAdapter(opts);
    if (!this.training) a.eval();
    this.#adapters.set(name, a);
    if (a.useDora) this._initMagnitude(a);
    this._attach(name);
    return a;
  }

  #squares: { storage: Storage; version: number; sq: Tensor } | null = null;

  /**
   * `‖Wᵢ‖²` of the rows of {@link LoraLayer._rowWeight}, for DoRA's norm.
   * W is frozen, so this is computed once and kept against the weight's
   * storage and its version (every in-place write bumps it: a merge, an
   * assign, a load), not once per step.
   */
  _rowSquares(): Tensor {
    const w = this._rowWeight(), storage = w._storage, c = this.#squares;
    if (c && c.storage === storage && c.version === storage.version && !c.sq.isDisposed) {
      return c.sq;
    }
    c?.sq.dispose();
    const sq = keep(noGrad(() => scope(() => w.mul(w).sum(1))));
    this.#squares = { storage, version: storage.version, sq };
    return sq;
  }

  /** (Re)computes a DoRA adapter's magnitude from the current W, A and B. */
  _initMagnitude(a: LoraAdapter): void {
    const norm = _doraWeightNorm(this._rowWeight(), a.loraA, a.loraB, a.scaling);
    if (a.loraMagnitude === undefined) a.loraMagnitude = parameter(norm);
    else {
      noGrad(() => a.loraMagnitude!.assign(norm));
      norm.dispose();
    }
  }

  /** Puts an adapter's tensors where discovery sees them (the layer, or `adapters`). */
  _attach(name: string): void {
    const a = this.#adapters.get(name)!;
    if (name === DEFAULT_ADAPTER) {
      Object.assign(this, { [this.#keys[0]]: a.loraA, [this.#keys[1]]: a.loraB });
      this.dropout = a.dropout;
      this.loraMagnitude = a.loraMagnitude;
      return;
    }
    this.adapters ??= new LoraAdapterDict();
    (this.adapters as unknown as Record<string, unknown>)[name] = a;
    if (!this.training) this.adapters.eval();
  }

  /**
   * Removes an adapter and frees its tensors (the caller checked that it is
   * not merged).
   *
   * @param name The adapter's name.
   */
  _removeAdapter(name: string): void {
    const a = this.#adapters.get(name);
    if (a === undefined) return;
    this.#adapters.delete(name);
    this.#norms.get(name)?.dispose();
    this.#norms.delete(name);
    if (name === DEFAULT_ADAPTER) {
      Object.assign(this, {
        [this.#keys[0]]: undefined,
        [this.#keys[1]]: undefined,
        dropout: undefined,
        loraMagnitude: undefined,
      });
    } else if (this.adapters) {
      delete (this.adapters as unknown as Record<string, unknown>)[name];
      if (Object.keys(this.adapters).length === 0) this.adapters = undefined;
    }
    a._dispose();
    if (![...this.#adapters.values()].some((x) => x.useDora)) {
      this.#squares?.sq.dispose();
      this.#squares = null;
    }
  }

  /**
   * `s·B·A` of an adapter with rows being outputs (no autograd).
   *
   * @param name The adapter's name.
   * @returns [rows, cols], as {@link LoraLayer._rowWeight}.
   */
  _deltaRows(name: string): Tensor {
    const a = this.#adapters.get(name)!;
    return noGrad(() => scope(() => a.loraB.matmul(a.loraA).mul(a.scaling)));
  }

  /**
   * The base weight after merging `names` in order (PEFT's `merge`): plain
   * LoRA adds `s·B·A`; DoRA sets each row to `m / ‖W + s·B·A‖ · (W + s·B·A)`
   * and remembers that norm for unmerge. Nothing is written.
   *
   * @param names Adapters of this layer, not merged.
   * @returns The new weight (storage layout) and the DoRA norms to remember.
   */
  _mergedWeight(names: readonly string[]): { weight: Tensor; norms: Map<string, Tensor> } {
    const norms = new Map<string, Tensor>();
    const weight = noGrad(() => {
      let rows = this._rowWeight();
      const made: Tensor[] = [];
      for (const name of names) {
        const a = this.#adapters.get(name)!;
        const delta = this._deltaRows(name);
        made.push(delta);
        if (a.useDora) {
          const norm = _doraWeightNormDirect(rows, delta);
          norms.set(name, norm);
          const factor = a.loraMagnitude!.div(norm).reshape([-1, 1]);
          const sum = rows.add(delta);
          made.push(factor, sum);
          rows = sum.mul(factor);
        } else rows = rows.add(delta);
        made.push(rows);
      }
      const out = this._fromRows(rows).contiguous();
      for (const t of made) if (t !== out) t.dispose();
      return out;
    });
    return { weight, norms };
  }

  /**
   * The base weight with every merged adapter taken back out, last merged
   * first (DoRA divides by the factor remembered at merge). Nothing is written.
   *
   * @returns The restored weight, storage layout.
   */
  _unmergedWeight(): Tensor {
    return noGrad(() => {
      let rows = this._rowWeight();
      const made: Tensor[] = [];
      for (const name of [...this.#merged].reverse()) {
        const a = this.#adapters.get(name)!;
        const delta = this._deltaRows(name);
        made.push(delta);
        if (a.useDora) {
          const factor = a.loraMagnitude!.div(this.#norms.get(name)!).reshape([-1, 1]);
          const scaled = rows.div(factor);
          made.push(factor, scaled);
          rows = scaled.sub(delta);
        } else rows = rows.sub(delta);
        made.push(rows);
      }
      const out = this._fromRows(rows).contiguous();
      for (const t of made) if (t !== out) t.dispose();
      return out;
    });
  }

  /** Records a merge that was written (keeps the DoRA norms for unmerge). */
  _commitMerge(names: readonly string[], norms: Map<string, Tensor>): void {
    for (const [n, t] of norms) {
      this.#norms.get(n)?.dispose();
      this.#norms.set(n, t);
    }
    this.#merged.push(...names);
  }

  /** Records an unmerge that was written (the norms stay until replaced). */
  _commitUnmerge(): void {
    this.#merged = [];
  }

  /** Puts back a merge state recorded before a write that failed on the device. */
  _restoreMerged(names: readonly string[]): void {
    this.#merged = [...names];
  }
}
