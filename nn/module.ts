/**
 * `Module`: the base class of every layer. Children and parameters are found
 * from a module's own enumerable fields, in declaration order, the way
 * PyTorch finds registered submodules and parameters.
 *
 * @module
 */

import { noGrad, Tensor } from "../tensor/mod.ts";
import { _validateStateDict } from "./_state_dict.ts";

/** What a field of a module may hold that discovery looks into. */
type _Slot = { name: string; value: unknown };

/** Own enumerable fields, minus `_private` ones, in declaration order. */
function _slots(m: Module): _Slot[] {
  const out: _Slot[] = [];
  for (const name of Object.keys(m)) {
    if (name.startsWith("_")) continue;
    out.push({ name, value: (m as unknown as Record<string, unknown>)[name] });
  }
  return out;
}

function _join(prefix: string, name: string): string {
  return prefix === "" ? name : `${prefix}.${name}`;
}

/** Tensors and modules of a module's own fields (arrays indexed), in order. */
function _entries(m: Module): [string, Tensor | Module][] {
  const out: [string, Tensor | Module][] = [];
  const add = (name: string, v: unknown) => {
    if (v instanceof Tensor || v instanceof Module) out.push([name, v]);
  };
  for (const { name, value } of _slots(m)) {
    if (Array.isArray(value)) value.forEach((v, i) => add(`${name}.${i}`, v));
    else add(name, value);
  }
  return out;
}

/** Direct children (arrays of modules indexed), with their names. */
function _ownChildren(m: Module): [string, Module][] {
  return _entries(m).filter((e): e is [string, Module] => e[1] instanceof Module);
}

/**
 * Base class of layers and models. Subclasses declare children (modules,
 * arrays of modules) and parameters (tensors) as ordinary fields and
 * implement `forward` (abstract here, so no `override` is needed). Fields whose names start with `_` are private and not
 * discovered.
 *
 * @example
 * ```ts
 * import { nn, type Tensor } from "../mod.ts";
 * class Net extends nn.Module {
 *   lin = new nn.Linear(6, 5);
 *   forward(x: Tensor): Tensor {
 *     return this.lin.forward(x);
 *   }
 * }
 * const net = new Net();
 * console.log([...net.namedParameters().keys()]); // ["lin.weight", "lin.bias"]
 * ```
 */
export abstract class Module {
  #training = true;

  /** True in training mode (the default); `eval()` clears it. */
  get training(): boolean {
    return this.#training;
  }

  /**
   * Computes the module's output; every layer implements it (`override` is
   * optional, as for any abstract member).
   *
   * @param x The input.
   * @param rest Further inputs a subclass may take.
   * @returns The output.
   * @example
   * ```ts
   * import { nn, tensor } from "../mod.ts";
   * console.log(new nn.ReLU().forward(tensor([-1, 2])).dataSync()); // [0, 2]
   * ```
   */
  abstract forward(x: Tensor, ...rest: unknown[]): Tensor;

  /**
   * Every module of the tree, the root included under `""`, in pre-order;
   * a module reachable twice is listed once.
   *
   * @returns Dotted name → module.
   * @example
   * ```ts
   * import { nn } from "../mod.ts";
   * const seq = new nn.Sequential(new nn.Linear(2, 2), new nn.ReLU());
   * console.log([...seq.namedModules().keys()]); // ["", "0", "1"]
   * ```
   */
  namedModules(): Map<string, Module> {
    const out = new Map<string, Module>();
    const seen = new Set<Module>();
    const walk = (m: Module, prefix: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.set(prefix, m);
      for (const [n, c] of _ownChildren(m)) walk(c, _join(prefix, n));
    };
    walk(this, "");
    return out;
  }

  /**
   * The direct children, by field name (arrays indexed: `"layers.0"`).
   *
   * @returns Name → child module.
   * @example
   * ```ts
   * import { nn } from "../mod.ts";
   * const seq = new nn.Sequential(new nn.Linear(2, 2));
   * console.log([...seq.namedChildren().keys()]); // ["0"]
   * ```
   */
  namedChildren(): Map<string, Module> {
    return new Map(_ownChildren(this));
  }

  /**
   * Every parameter with its dotted path, in declaration order; a tensor
   * shared by two modules is listed once, under its first name.
   *
   * @returns Dotted name → parameter tensor (the live tensor, not a copy).
   * @example
   * ```ts
   * import { nn } from "../mod.ts";
   * const lin = new nn.Linear(3, 2);
   * console.log([...lin.namedParameters().keys()]); // ["weight", "bias"]
   * ```
   */
  namedParameters(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const seen = new Set<Tensor>();
    for (const [name, t] of this.#allTensors()) {
      if (seen.has(t)) continue;
      seen.add(t);
      out.set(name, t);
    }
    return out;
  }

  /**
   * The parameters, in the order of {@link Module.namedParameters}.
   *
   * @returns The live parameter tensors.
   * @example
   * ```ts
   * import { nn, optim } from "../mod.ts";
   * const lin = new nn.Linear(3, 2);
   * const opt = new optim.SGD(lin.parameters(), { lr: 0.1 });
   * ```
   */
  parameters(): Tensor[] {
    return [...this.namedParameters().values()];
  }

  /**
   * Switches this module and every descendant to training mode.
   *
   * @param mode `false` is the same as {@link Module.eval}.
   * @returns This module.
   * @example
   * ```ts
   * import { nn } from "../mod.ts";
   * const d = new nn.Dropout(0.5).eval().train();
   * console.log(d.training); // true
   * ```
   */
  train(mode = true): this {
    for (const m of this.namedModules().values()) m.#training = mode;
    return this;
  }

  /**
   * Switches this module and every descendant to evaluation mode.
   *
   * @returns This module.
   * @example
   * ```ts
   * import { nn } from "../mod.ts";
   * console.log(new nn.Dropout(0.5).eval().training); // false
   * ```
   */
  eval(): this {
    return this.train(false);
  }

  /**
   * Name → parameter for every parameter path (shared tensors appear under
   * each of their names, as in PyTorch). The tensors are the live
   * parameters: clone them to keep a snapshot, and do not dispose them.
   *
   * @returns A plain object of dotted name → tensor.
   * @example
   * ```ts
   * import { nn } from "../mod.ts";
   * const sd = new nn.Linear(3, 2).stateDict();
   * console.log(Object.keys(sd), sd.weight.shape); // ["weight","bias"] [2,3]
   * ```
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, t] of this.#allTensors()) out[name] = t;
    return out;
  }

  /**
   * Copies values from `dict` into the parameters. Everything is checked
   * first, so a bad dict loads nothing.
   *
   * @param dict Name → tensor, with exactly the keys of
   *   {@link Module.stateDict} and the same shapes.
   * @throws {Error} For an unknown or a missing key, naming it.
   * @throws {RangeError} For a shape mismatch, naming the key and both shapes.
   * @throws {TypeError} For a value that is not a tensor, or has the wrong
   *   dtype or backend.
   * @example
   * ```ts
   * import { nn } from "../mod.ts";
   * const a = new nn.Linear(3, 2), b = new nn.Linear(3, 2);
   * b.loadStateDict(a.stateDict()); // b now computes what a computes
   * ```
   */
  loadStateDict(dict: Record<string, Tensor>): void {
    const own = this.stateDict();
    _validateStateDict(own, dict);
    noGrad(() => {
      for (const [k, p] of Object.entries(own)) {
        const src = dict[k];
        if (src !== p) p.assign(src);
      }
    });
  }

  /**
   * The module at a dotted path (`""` is this module).
   *
   * @param path Dotted name as listed by {@link Module.namedModules}.
   * @returns The module.
   * @throws {Error} When no module lives at `path`.
   * @example
   * ```ts
   * import { nn } from "../mod.ts";
   * const seq = new nn.Sequential(new nn.Linear(2, 2));
   * console.log(seq.getModule("0") instanceof nn.Linear); // true
   * ```
   */
  getModule(path: string): Module {
    const m = this.namedModules().get(path);
    if (m === undefined) throw new Error(`No module named "${path}"`);
    return m;
  }

  /**
   * Replaces the child at a dotted path (`"layers.0.q_proj"`) by `module`.
   *
   * @param path Dotted name of an existing child module (not `""`).
   * @param module The replacement.
   * @throws {Error} When no child module lives at `path`.
   * @throws {TypeError} When `module` is not a Module.
   * @example
   * ```ts
   * import { nn } from "../mod.ts";
   * const seq = new nn.Sequential(new nn.Linear(2, 2), new nn.ReLU());
   * seq.setModule("1", new nn.GELU());
   * ```
   */
  setModule(path: string, module: Module): void {
    if (!(module instanceof Module)) {
      throw new TypeError(`setModule("${path}"): expected a Module, got ${module}`);
    }
    const parts = path.split(".");
    const last = parts.pop()!;
    const holder = parts.reduce<unknown>((h, part) => _step(h, part), this);
    if (path === "" || !(_step(holder, last) instanceof Module)) {
      throw new Error(`setModule: no child module named "${path}"`);
    }
    (holder as Record<string, unknown>)[last] = module;
  }

  /**
   * Sets every parameter's gradient to `null`, disposing it.
   *
   * @example
   * ```ts
   * import { nn } from "../mod.ts";
   * new nn.Linear(2, 2).zeroGrad();
   * ```
   */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      const g = p.grad;
      if (g !== null) {
        p.grad = null;
        g.dispose();
      }
    }
  }

  /**
   * Every (name, tensor) pair of the tree in declaration order (a field's
   * subtree where the field stands), duplicate tensors included.
   */
  *#allTensors(): Generator<[string, Tensor]> {
    // A module shared by two fields is listed under both paths, as
    // PyTorch's state_dict() does; only a module inside itself (a cycle)
    // is cut, by remembering the ancestors of the current path.
    const path = new Set<Module>();
    function* walk(m: Module, prefix: string): Generator<[string, Tensor]> {
      if (path.has(m)) return;
      path.add(m);
      for (const [n, v] of _entries(m)) {
        if (v instanceof Tensor) yield [_join(prefix, n), v];
        else yield* walk(v, _join(prefix, n));
      }
      path.delete(m);
    }
    yield* walk(this, "");
  }
}

/** The value a dotted-path segment names inside a module or array. */
function _step(holder: unknown, part: string): unknown {
  if (holder instanceof Module && !part.startsWith("_") && Object.hasOwn(holder, part)) {
    return (holder as unknown as Record<string, unknown>)[part];
  }
  if (Array.isArray(holder) && /^\d+$/.test(part)) return holder[Number(part)];
  return undefined;
}
