/**
 * The Worker side of "acknowledge after the journal is flushed": wait until the journal writer
 * has declared a record durable. One waiting loop per Worker serves every connection.
 *
 * @module
 */

import type { JournalRing } from "./journal_ring.ts";

/** The journal failed: a record waited for will never be durable, so its reply must not be sent. */
export class JournalFailedError extends Error {
  /** Creates the error. */
  constructor(message = "the journal failed: the record will never be durable") {
    super(message);
    this.name = "JournalFailedError";
  }
}

/** Resolves replies once the records they depend on are durable; rejects them if the journal fails. */
export class DurableWaiter {
  readonly #ring: JournalRing;
  readonly #waiting: { index: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  #looping = false;

  /** Creates a waiter over `ring`. */
  constructor(ring: JournalRing) {
    this.#ring = ring;
  }

  /**
   * Returns `undefined` if the record at `index` is durable already (the common, cheap case),
   * else a promise that resolves once it is.
   */
  until(index: number): Promise<void> | undefined {
    if (index < 0 || this.#ring.isDurable(index)) return undefined;
    if (this.#ring.failed()) return Promise.reject(new JournalFailedError());
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#waiting.push({ index, resolve, reject });
    if (!this.#looping) this.#loop();
    return promise;
  }

  async #loop(): Promise<void> {
    this.#looping = true;
    try {
      while (this.#waiting.length > 0) {
        const durable = this.#ring.durable();
        const failed = this.#ring.failed();
        let kept = 0;
        for (const waiter of this.#waiting) {
          if (waiter.index < durable) waiter.resolve();
          else if (failed) waiter.reject(new JournalFailedError());
          else this.#waiting[kept++] = waiter;
        }
        this.#waiting.length = kept;
        if (kept > 0) await this.#ring.waitDurableChange(durable, 100);
      }
    } finally {
      this.#looping = false;
    }
  }
}
