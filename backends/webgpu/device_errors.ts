/**
 * Device-side errors: what a kernel finds wrong in the data (an index out
 * of range, a non-finite weight) it cannot throw, so it records it in a
 * small flag buffer, and the next read or `sync` throws the error, as
 * CUDA's device-side assert does.
 *
 * A kernel that checks gets a *site* id (registered on the host with the
 * op's name and the error to throw) and, on failure, does
 * `atomicMin(&err[FIRST], site)`, so the earliest failing site is the one
 * reported. Transactions (all-or-nothing writes such as `lora.merge`) also
 * set the sticky `ABORT` word: every guarded write after a failed check is
 * skipped until the error has been reported, and the host undoes the state
 * changes of every transaction from the failed one on.
 *
 * Layout (u32 words): `[FIRST]` earliest failing site or {@link NO_ERROR},
 * `[ABORT]` 1 once a transaction check failed, `[FIRST_TXN]` earliest
 * failing transaction site or {@link NO_ERROR}.
 *
 * @module
 */

/** The flag word value meaning "nothing failed". */
export const NO_ERROR = 0xffffffff;
/** Word of the earliest failing site. */
export const FIRST = 0;
/** Word set to 1 once a transaction's check failed (guarded writes skip). */
export const ABORT = 1;
/** Word of the earliest failing transaction site. */
export const FIRST_TXN = 2;
/** Bytes of the flag buffer. */
export const ERROR_BYTES = 16;

/** What a failing site throws and undoes. */
export interface Site {
  /** The op, for messages. */
  readonly op: string;
  /** Makes the error the next read throws. */
  readonly error: () => Error;
  /** Undoes host state of a transaction whose writes were skipped. */
  readonly onFail?: () => void;
  /** True for a transaction's check (its failure aborts guarded writes). */
  readonly txn?: boolean;
}

const STORAGE = 0x80, COPY_SRC = 0x04, COPY_DST = 0x08;
const INITIAL = new Uint32Array([NO_ERROR, 0, NO_ERROR, 0]);

/** The flag buffer and the sites registered since the last check. */
export class DeviceErrors {
  /** The flag buffer kernels bind as `array<atomic<u32>>`. */
  readonly buffer: GPUBuffer;
  #sites = new Map<number, Site>();
  #keys = new Map<string, number>();
  // Ids only grow (a stale copy in flight must never name a newer site).
  #next = 1;
  #submitted = 1;

  /**
   * Makes the flag buffer on `device`.
   *
   * @param device the device
   */
  constructor(readonly device: GPUDevice) {
    this.buffer = device.createBuffer({
      size: ERROR_BYTES,
      usage: STORAGE | COPY_SRC | COPY_DST,
    });
    device.queue.writeBuffer(this.buffer, 0, INITIAL);
  }

  /** True when a recorded kernel may have set a flag since the last check. */
  get pending(): boolean {
    return this.#sites.size > 0;
  }

  /** The id the next site gets: a flag copy made now covers the sites below it. */
  get mark(): number {
    return this.#next;
  }

  /**
   * Registers a site (or reuses the pending one with the same `key`, so a
   * loop that never reads back registers a bounded number of them).
   *
   * @param key identifies equivalent sites; null for a unique one
   * @param make the site, made on first registration
   * @returns the id kernels write
   */
  site(key: string | null, make: () => Site): number {
    const known = key === null ? undefined : this.#keys.get(key);
    if (known !== undefined) return known;
    const id = this.#next++;
    this.#sites.set(id, make());
    if (key !== null) this.#keys.set(key, id);
    return id;
  }

  /** Called when a batch is submitted: sites below the mark now may have run. */
  submitted(): void {
    this.#submitted = this.#next;
  }

  /**
   * Handles flag words read back from a copy made when {@link mark} was
   * `mark`: forgets the sites it covers and, when one failed, resets the
   * flags, undoes the transactions whose writes were skipped (those
   * submitted before the reset, from the failed one on) and throws the
   * earliest failing site's error. A failure an earlier read already
   * reported is ignored.
   *
   * @param words the four flag words
   * @param mark the value of {@link mark} when the copy was recorded
   * @throws {Error} the failing site's error (its own class)
   */
  settle(words: Uint32Array, mark: number): void {
    const first = words[FIRST], firstTxn = words[FIRST_TXN];
    const failed = first !== NO_ERROR ? this.#sites.get(first) : undefined;
    const txnFailed = firstTxn !== NO_ERROR && this.#sites.has(firstTxn);
    const undo = new Set<() => void>();
    if (failed || txnFailed) {
      this.device.queue.writeBuffer(this.buffer, 0, INITIAL);
      if (txnFailed) {
        for (const [id, s] of this.#sites) {
          if (id >= firstTxn && id < this.#submitted && s.txn && s.onFail) {
            undo.add(s.onFail);
            this.#forget(id);
          }
        }
      }
    }
    for (const id of [...this.#sites.keys()]) if (id < mark) this.#forget(id);
    for (const f of undo) f();
    if (failed) throw failed.error();
  }

  #forget(id: number): void {
    this.#sites.delete(id);
    for (const [k, v] of this.#keys) if (v === id) this.#keys.delete(k);
  }

  /** Destroys the flag buffer. */
  destroy(): void {
    this.buffer.destroy();
  }
}
