/**
 * The health of a node's neighbours in a `SharedArrayBuffer`: the main thread (which sends the
 * heartbeats) writes each neighbour's {@linkcode PeerStatus}; the query Workers read it, so a
 * query skips a neighbour that is down at once instead of waiting out its deadline. One slot per
 * node of the config; a slot never written reads as null (not watched: not a neighbour).
 *
 * @module
 */

import type { PeerStatus } from "./peer_health.ts";

// Float64 slot fields: written (0/1), state (0 up, 1 down), since, last heard (NaN: never), downs.
const WRITTEN = 0, STATE = 1, SINCE = 2, LAST_HEARD = 3, DOWNS = 4, SLOT = 5;
// Int32 header: a sequence that is odd while a slot is being written (a seqlock).
const SEQ = 0;

/** Neighbours' health, shared by the threads of one node. */
export class PeerTable {
  readonly #buffer: SharedArrayBuffer;
  readonly #ids: readonly string[];
  readonly #seq: Int32Array;
  readonly #slots: Float64Array;

  private constructor(buffer: SharedArrayBuffer, ids: readonly string[]) {
    this.#buffer = buffer;
    this.#ids = ids;
    this.#seq = new Int32Array(buffer, 0, 2);
    this.#slots = new Float64Array(buffer, 8, ids.length * SLOT);
  }

  /** A table for the nodes `ids` (every node of the config, in one order all threads share). */
  static create(ids: readonly string[]): PeerTable {
    return new PeerTable(new SharedArrayBuffer(8 + ids.length * SLOT * 8), ids);
  }

  /** Uses a table another thread created, with the same `ids`. */
  static attach(buffer: SharedArrayBuffer, ids: readonly string[]): PeerTable {
    return new PeerTable(buffer, ids);
  }

  /** The shared memory, to post to a Worker. */
  get buffer(): SharedArrayBuffer {
    return this.#buffer;
  }

  /** Records `id`'s status (one writer: the main thread). */
  write(id: string, status: PeerStatus): void {
    const at = this.#at(id);
    Atomics.add(this.#seq, SEQ, 1);
    this.#slots[at + STATE] = status.state === "down" ? 1 : 0;
    this.#slots[at + SINCE] = status.since;
    this.#slots[at + LAST_HEARD] = status.lastHeard ?? NaN;
    this.#slots[at + DOWNS] = status.downs;
    this.#slots[at + WRITTEN] = 1;
    Atomics.add(this.#seq, SEQ, 1);
  }

  /** `id`'s status as last written, or null if it is not watched. */
  read(id: string): PeerStatus | null {
    const at = this.#at(id);
    while (true) {
      const before = Atomics.load(this.#seq, SEQ);
      if (before % 2 === 1) continue; // a write is under way: a few instructions
      const s = this.#slots;
      const status: PeerStatus | null = s[at + WRITTEN] !== 1 ? null : {
        state: s[at + STATE] === 1 ? "down" : "up",
        since: s[at + SINCE]!,
        lastHeard: Number.isNaN(s[at + LAST_HEARD]) ? null : s[at + LAST_HEARD]!,
        downs: s[at + DOWNS]!,
      };
      if (Atomics.load(this.#seq, SEQ) === before) return status;
    }
  }

  #at(id: string): number {
    const index = this.#ids.indexOf(id);
    if (index < 0) throw new RangeError(`${JSON.stringify(id)} is not a node of the config`);
    return index * SLOT;
  }
}
