/**
 * Keeps a flood of like events from flooding the log: one line per key (a peer's host, or a
 * peer and a reason) per interval, with the count of the events not logged since. Pure, with an
 * injected clock; its memory is bounded by pruning keys quiet for an interval.
 *
 * @module
 */

/** Keys remembered at most; past this, keys quiet for an interval are forgotten. */
const MAX_KEYS = 1024;

/**
 * Says which events to log.
 *
 * @example
 * ```ts
 * import { LogLimiter } from "./log_limiter.ts";
 * import assert from "node:assert/strict";
 * const limiter = new LogLimiter(60_000);
 * assert.equal(limiter.admit("10.0.0.9", 0), 0); // log it
 * assert.equal(limiter.admit("10.0.0.9", 1000), null); // quiet
 * assert.equal(limiter.admit("10.0.0.9", 2000), null);
 * assert.equal(limiter.admit("10.0.0.9", 61_000), 2); // log it, and say 2 were not
 * ```
 */
export class LogLimiter {
  readonly #intervalMs: number;
  readonly #keys = new Map<string, { at: number; suppressed: number }>();

  /** At most one line per key every `intervalMs`. */
  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /**
   * An event for `key` at `now` (ms): the number of its events not logged since its last line
   * when this one should be logged, or null when it should not.
   */
  admit(key: string, now: number): number | null {
    const seen = this.#keys.get(key);
    if (seen && now - seen.at < this.#intervalMs) {
      seen.suppressed++;
      return null;
    }
    if (!seen && this.#keys.size >= MAX_KEYS) this.#prune(now);
    this.#keys.set(key, { at: now, suppressed: 0 });
    return seen?.suppressed ?? 0;
  }

  #prune(now: number): void {
    for (const [key, seen] of this.#keys) {
      if (now - seen.at >= this.#intervalMs) this.#keys.delete(key);
    }
    // All recent: forget the oldest half rather than grow.
    if (this.#keys.size >= MAX_KEYS) {
      let drop = this.#keys.size / 2;
      for (const key of this.#keys.keys()) {
        if (drop-- <= 0) break;
        this.#keys.delete(key);
      }
    }
  }
}
