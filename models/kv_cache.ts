/**
 * The key/value cache of autoregressive generation: per layer, a buffer
 * [B, Hkv, capacity, D] of the keys and values of every position so far.
 * A step writes only its new positions and attends over a view of the
 * filled part, so a new token costs one position, not the whole prefix.
 *
 * @module
 */
import { keep, noGrad, type Tensor, zeros } from "../tensor/mod.ts";

/** Keys and values of past positions, for every layer. */
export class KVCache {
  #k: (Tensor | null)[] = [];
  #v: (Tensor | null)[] = [];
  #length = 0;

  /** Positions held (the next token's position). */
  get length(): number {
    return this.#length;
  }

  /**
   * Writes layer `layer`'s new keys and values [B, Hkv, T, D] after the
   * positions held, and returns views of all of them [B, Hkv, length + T, D].
   * The views are temporaries (a scope frees them); the buffers are kept.
   */
  update(layer: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    return noGrad(() => ({
      k: this.#write(this.#k, layer, k),
      v: this.#write(this.#v, layer, v),
    }));
  }

  #write(store: (Tensor | null)[], layer: number, x: Tensor): Tensor {
    const [B, H, T, D] = x.shape;
    const need = this.#length + T;
    let buf = store[layer] ?? null;
    if (!buf || buf.shape[2] < need || buf.shape[0] !== B || buf.shape[1] !== H) {
      // Grow geometrically: copying the filled part is amortised over steps.
      const cap = Math.max(need, 2 * (buf?.shape[2] ?? 0), 64);
      const grown = keep(zeros([B, H, cap, D], { backend: x.backend }));
      if (buf && this.#length > 0) {
        grown.narrow(2, 0, this.#length).assign(buf.narrow(2, 0, this.#length));
      }
      buf?.dispose();
      store[layer] = buf = grown;
    }
    buf.narrow(2, this.#length, T).assign(x);
    return buf.narrow(2, 0, need);
  }

  /** Marks `n` more positions as held (after every layer wrote them). */
  advance(n: number): void {
    this.#length += n;
  }

  /** Frees the buffers. */
  dispose(): void {
    for (const t of [...this.#k, ...this.#v]) t?.dispose();
    this.#k = [];
    this.#v = [];
    this.#length = 0;
  }

  /** `using cache = new KVCache()` frees it at scope end. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
