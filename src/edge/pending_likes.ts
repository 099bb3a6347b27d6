/**
 * What one LikesServer still owes the primary: likes generated but not yet acknowledged, and the
 * one message in flight. A message that failed is sent again unchanged (same seq, same likes), so
 * the server can recognise a retry; new likes wait for the next message. A message that went out
 * but got no answer, which cannot be retried safely (a classic message has no key), is given up:
 * its likes are counted apart, as sent without an answer. Pure state, no I/O.
 *
 * @module
 */

/** A message to send: the keyed sequence number and the likes it carries. */
export interface Outgoing {
  readonly seq: number;
  readonly likes: number;
}

/** Options for {@linkcode PendingLikes}. */
export interface PendingLikesOptions {
  /** Most likes one message may carry (the server's max). @default {42} */
  readonly maxPerMessage?: number;
}

/**
 * The running count of unacknowledged likes, split into messages of at most `maxPerMessage`.
 *
 * @example A failed message is retried unchanged; new likes go into the next one
 * ```ts
 * import { PendingLikes } from "./pending_likes.ts";
 * import assert from "node:assert/strict";
 * const state = new PendingLikes({ maxPerMessage: 42 });
 * state.add(10);
 * assert.deepEqual(state.next(), { seq: 1, likes: 10 });
 * state.add(5); // while seq 1 is unacknowledged
 * assert.deepEqual(state.next(), { seq: 1, likes: 10 }); // retry
 * state.acknowledge(1);
 * assert.deepEqual(state.next(), { seq: 2, likes: 5 });
 * ```
 */
export class PendingLikes {
  readonly #max: number;
  #generated = 0;
  #acknowledged = 0;
  #unanswered = 0;
  #waiting = 0;
  #fresh = false;
  #lastSeq = 0;
  #inFlight: Outgoing | null = null;

  /** Starts with nothing owed. */
  constructor(options: PendingLikesOptions = {}) {
    const { maxPerMessage = 42 } = options;
    if (!Number.isInteger(maxPerMessage) || maxPerMessage < 1) {
      throw new RangeError(
        `Cannot split likes into messages as 'maxPerMessage' must be a positive integer: current value is ${maxPerMessage}`,
      );
    }
    this.#max = maxPerMessage;
  }

  /** Likes generated so far. */
  get generated(): number {
    return this.#generated;
  }

  /** Likes the server acknowledged so far. */
  get acknowledged(): number {
    return this.#acknowledged;
  }

  /** Likes sent in messages that got no answer and were given up (the server may have them). */
  get unanswered(): number {
    return this.#unanswered;
  }

  /** Likes still owed: generated, neither acknowledged nor given up (in flight or waiting). */
  get unacknowledged(): number {
    return this.#generated - this.#acknowledged - this.#unanswered;
  }

  /** The message sent and not yet acknowledged, if any. */
  get inFlight(): Outgoing | null {
    return this.#inFlight;
  }

  /** True when nothing is owed and no batch waits to be reported. */
  get settled(): boolean {
    return this.#inFlight === null && this.#waiting === 0 && !this.#fresh;
  }

  /** Records a generated batch (0 likes is a batch too: it is still reported to the server). */
  add(likes: number): void {
    if (!Number.isInteger(likes) || likes < 0) {
      throw new RangeError(
        `Cannot add likes as the count must be a non-negative integer: current value is ${likes}`,
      );
    }
    this.#generated += likes;
    this.#waiting += likes;
    this.#fresh = true;
  }

  /** The message to send now: the one in flight again, else a new one, else `null`. */
  next(): Outgoing | null {
    if (this.#inFlight) return this.#inFlight;
    if (this.#waiting === 0 && !this.#fresh) return null;
    const likes = Math.min(this.#waiting, this.#max);
    this.#waiting -= likes;
    this.#fresh = this.#waiting > 0;
    this.#inFlight = { seq: ++this.#lastSeq, likes };
    return this.#inFlight;
  }

  /** Marks the message `seq` acknowledged; an ACK for any other seq changes nothing. */
  acknowledge(seq: number): boolean {
    if (this.#inFlight?.seq !== seq) return false;
    this.#acknowledged += this.#inFlight.likes;
    this.#inFlight = null;
    return true;
  }

  /**
   * Gives up the message `seq`, which was sent but got no answer: its likes count as sent without
   * an answer and are not sent again; the next message carries new likes only.
   */
  giveUp(seq: number): boolean {
    if (this.#inFlight?.seq !== seq) return false;
    this.#unanswered += this.#inFlight.likes;
    this.#inFlight = null;
    return true;
  }
}
