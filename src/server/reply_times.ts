/**
 * How long messages waited for their replies, timed inside a connection Worker and handed to the
 * main thread in batches: the server's recorder lives there (it is passed to `serveLikes()`, and
 * a function cannot be posted to a Worker), so a Worker only collects numbers. One batch is a flat
 * `Float64Array` of pairs (ms waited, messages answered by that write); it is posted when full,
 * every {@linkcode REPLY_TIMES_POST_MS}, and once more when the Worker stops.
 *
 * @module
 */

/** Times replies: how long messages waited from their arrival until their reply was written. */
export interface AckTimer {
  /** The clock arrivals are read from, in ms. */
  now(): number;
  /** `messages` that arrived at `arrivedAt` (by {@linkcode AckTimer.now}) were just answered. */
  replied(arrivedAt: number, messages: number): void;
}

/** How often a Worker posts the reply times it collected, in ms. */
export const REPLY_TIMES_POST_MS = 250;

/** Options for {@linkcode ReplyTimeBatch}. */
export interface ReplyTimeBatchOptions {
  /** The clock, in ms. @default {performance.now} */
  readonly now?: () => number;
  /** Pairs a batch holds before it is sent at once. @default {1024} */
  readonly pairs?: number;
}

/**
 * An {@linkcode AckTimer} that collects (ms, messages) pairs and hands each full batch to `send`
 * (which owns it: it may transfer its buffer).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReplyTimeBatch, replayReplyTimes } from "./reply_times.ts";
 * let clock = 10;
 * const sent: Float64Array[] = [];
 * const batch = new ReplyTimeBatch((times) => sent.push(times), { now: () => clock });
 * const arrivedAt = batch.now();
 * clock = 12.5;
 * batch.replied(arrivedAt, 3);
 * batch.flush();
 * const seen: number[][] = [];
 * replayReplyTimes(sent[0]!, (ms, messages) => seen.push([ms, messages]));
 * assert.deepEqual(seen, [[2.5, 3]]);
 * ```
 */
export class ReplyTimeBatch implements AckTimer {
  readonly #send: (times: Float64Array<ArrayBuffer>) => void;
  readonly #clock: () => number;
  readonly #capacity: number;
  #times: Float64Array<ArrayBuffer>;
  #length = 0;

  constructor(
    send: (times: Float64Array<ArrayBuffer>) => void,
    options: ReplyTimeBatchOptions = {},
  ) {
    const pairs = options.pairs ?? 1024;
    if (!Number.isInteger(pairs) || pairs < 1) {
      throw new RangeError(`'pairs' must be a positive integer: current value is ${pairs}`);
    }
    this.#send = send;
    this.#clock = options.now ?? (() => performance.now());
    this.#capacity = pairs * 2;
    this.#times = new Float64Array(this.#capacity);
  }

  /** {@inheritDoc AckTimer.now} */
  now(): number {
    return this.#clock();
  }

  /** {@inheritDoc AckTimer.replied} */
  replied(arrivedAt: number, messages: number): void {
    this.#times[this.#length++] = this.#clock() - arrivedAt;
    this.#times[this.#length++] = messages;
    if (this.#length === this.#capacity) this.flush();
  }

  /** Sends what was collected since the last batch (nothing if nothing was). */
  flush(): void {
    if (this.#length === 0) return;
    const full = this.#length === this.#capacity;
    const times = full ? this.#times : this.#times.slice(0, this.#length);
    if (full) this.#times = new Float64Array(this.#capacity);
    this.#length = 0;
    this.#send(times);
  }
}

/** Calls `replied(ms, messages)` for each pair of a batch made by {@linkcode ReplyTimeBatch}. */
export function replayReplyTimes(
  times: Float64Array,
  replied: (ms: number, messages: number) => void,
): void {
  for (let i = 0; i + 1 < times.length; i += 2) replied(times[i]!, times[i + 1]!);
}
