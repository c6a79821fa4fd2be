/**
 * The checks of `Module.loadStateDict`, all made before anything is copied.
 *
 * @module
 */

import { Tensor } from "../tensor/mod.ts";
import { _fmt } from "./checks.ts";

const _quote = (keys: string[]): string => keys.map((k) => `"${k}"`).join(", ");

/**
 * Throws unless `dict` has exactly the keys of `own`, each a Tensor of the
 * same shape, dtype and backend.
 *
 * @param own The module's state dict.
 * @param dict The candidate.
 */
export function _validateStateDict(
  own: Record<string, Tensor>,
  dict: Record<string, Tensor>,
): void {
  const unknown = Object.keys(dict).filter((k) => !(k in own));
  if (unknown.length > 0) {
    throw new Error(
      `loadStateDict: unknown key(s) ${_quote(unknown)} (the module has ${
        _quote(Object.keys(own))
      })`,
    );
  }
  const missing = Object.keys(own).filter((k) => !(k in dict));
  if (missing.length > 0) throw new Error(`loadStateDict: missing key(s) ${_quote(missing)}`);
  for (const [k, p] of Object.entries(own)) _checkValue(k, p, dict[k]);
}

function _checkValue(key: string, p: Tensor, v: unknown): void {
  if (!(v instanceof Tensor)) {
    throw new TypeError(`loadStateDict: "${key}" is not a Tensor (got ${typeof v})`);
  }
  if (v.shape.length !== p.shape.length || v.shape.some((s, i) => s !== p.shape[i])) {
    throw new RangeError(
      `loadStateDict: "${key}" has shape ${_fmt(v.shape)} but the parameter has ${_fmt(p.shape)}`,
    );
  }
  if (v.dtype !== p.dtype) {
    throw new TypeError(
      `loadStateDict: "${key}" has dtype ${v.dtype} but the parameter has ${p.dtype}`,
    );
  }
  if (v.backend !== p.backend) {
    throw new TypeError(
      `loadStateDict: "${key}" is on backend "${v.backend}" but the parameter is on "${p.backend}" (move it with await t.to("${p.backend}"))`,
    );
  }
}
