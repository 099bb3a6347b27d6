/**
 * The Worker side of "acknowledge after the journal is flushed": wait until the journal writer
 * has declared a record durable. One waiting loop per Worker serves every connection.
 *
 * @module
 */

import type { JournalRing } from "./journal_ring.ts";

/** Resolves replies once the records they depend on are durable. */
export class DurableWaiter {
  readonly #ring: JournalRing;
  readonly #waiting: { index: number; resolve: () => void }[] = [];
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
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiting.push({ index, resolve });
    if (!this.#looping) this.#loop();
    return promise;
  }

  async #loop(): Promise<void> {
    this.#looping = true;
    try {
      while (this.#waiting.length > 0) {
        const durable = this.#ring.durable();
        let kept = 0;
        for (const waiter of this.#waiting) {
          if (waiter.index < durable) waiter.resolve();
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
