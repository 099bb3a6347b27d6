/**
 * The PrimaryLikesServer's counting state in one SharedArrayBuffer, shared by every Worker:
 * the global total, statistics counters, and a fixed-capacity hash table of clients, each with
 * its likes counted, its last applied sequence number and the likes that sequence carried.
 *
 * This is the only file that uses `Atomics` on the buffer. Every update is an atomic operation;
 * a keyed message's check-and-apply runs under a per-client lock (a futex-style mutex built on
 * `Atomics.wait`/`notify`), so two Workers never apply the same (client, seq) twice. A counted
 * message is also appended to the journal ring, if there is one — keyed ones under the client's
 * lock, so that each client's records are journaled in the order they were counted.
 *
 * @module
 */

import type { JournalRing } from "./journal_ring.ts";
import { allocateSized, capacityOf } from "./sized_buffer.ts";

/** Options for {@linkcode LikesTable.create}. */
export interface LikesTableOptions {
  /** How many distinct clients the table holds (rounded up to a power of two). @default {16384} */
  readonly maxClients?: number;
  /** Where counted messages are journaled (none: memory only). */
  readonly journal?: JournalRing;
}

/** The outcome of applying a message. */
export type ApplyResult =
  /** Counted now (`applied`) or counted before and acknowledged again (`duplicate`). */
  | {
    readonly status: "applied" | "duplicate";
    readonly client: number;
    readonly total: number;
    /**
     * The journal record that must be durable before this is acknowledged (for a duplicate, the
     * one that counted the client's last seq); -1 when there is none to wait for.
     */
    readonly record: number;
  }
  /** A keyed message skipped sequence numbers; `expected` is the next one in order. */
  | { readonly status: "gap"; readonly expected: number }
  /** The last sequence number came again with other likes. */
  | { readonly status: "conflict"; readonly likes: number }
  /** The client table has no room for another client. */
  | { readonly status: "full" };

/** Statistics counters kept in the table. */
export type Counter =
  | "accepted"
  | "duplicates"
  | "rejected"
  | "connectionsAccepted"
  | "connectionsOpen"
  | "connectionsRefused";

/** Longest client name the table stores, in bytes (ASCII). */
export const MAX_NAME_BYTES = 64;

const HEADER_SLOTS = 16;
// Slot 0 holds the capacity (see sized_buffer.ts).
const TOTAL = 1;
const COUNTERS: Record<Counter, number> = {
  accepted: 2,
  duplicates: 3,
  rejected: 4,
  connectionsAccepted: 5,
  connectionsOpen: 6,
  connectionsRefused: 7,
};
/** Header slot: how many clients the table holds. */
const CLIENTS = 8;

const EMPTY = 0;
const CLAIMING = 1;
const READY = 2;

const FULL = -1;
const NOT_FOUND = -2;

const UNLOCKED = 0;
const LOCKED = 1;
const CONTENDED = 2;

function fnv1a(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

function layout(capacity: number) {
  const header = 0;
  const states = header + HEADER_SLOTS * 8;
  const locks = states + capacity * 4;
  const lengths = locks + capacity * 4;
  const hashes = lengths + capacity * 4;
  const lastLikes = hashes + capacity * 4;
  const lastLikesEnd = lastLikes + capacity * 4;
  const counts = Math.ceil(lastLikesEnd / 8) * 8;
  const seqs = counts + capacity * 8;
  const records = seqs + capacity * 8;
  const names = records + capacity * 8;
  const size = names + capacity * MAX_NAME_BYTES;
  return { header, states, locks, lengths, hashes, lastLikes, counts, seqs, records, names, size };
}

const TABLE_BUFFER = {
  size: (capacity: number) => layout(capacity).size,
  min: 1,
  max: 1 << 22,
  what: "the likes table as 'maxClients'",
};

/**
 * Counting state over a SharedArrayBuffer; create it once, then attach to the same buffer in
 * each Worker.
 *
 * @example Count, deduplicate and read back
 * ```ts
 * import { LikesTable } from "./likes_table.ts";
 * import assert from "node:assert/strict";
 * const table = LikesTable.create({ maxClients: 16 });
 * table.applyClassic("LikesServer1", 5);
 * assert.equal(table.applyKeyed("edge-1", 1, 3).status, "applied");
 * assert.equal(table.applyKeyed("edge-1", 1, 3).status, "duplicate");
 * assert.deepEqual(table.snapshot(), { total: 8, clients: { "LikesServer1": 5, "edge-1": 3 } });
 * ```
 */
export class LikesTable {
  readonly #buffer: SharedArrayBuffer;
  readonly #capacity: number;
  readonly #header: BigInt64Array;
  readonly #states: Int32Array;
  readonly #locks: Int32Array;
  readonly #lengths: Int32Array;
  readonly #hashes: Int32Array;
  readonly #lastLikes: Int32Array;
  readonly #counts: BigInt64Array;
  readonly #seqs: BigInt64Array;
  /** Per slot: 1 + the journal index of the record that counted its last seq (0: none). */
  readonly #records: BigInt64Array;
  readonly #names: Uint8Array;
  readonly #journal: JournalRing | undefined;
  readonly #slots = new Map<string, number>();
  readonly #nameOf: (string | undefined)[] = [];

  private constructor(buffer: SharedArrayBuffer, capacity: number, journal?: JournalRing) {
    const at = layout(capacity);
    this.#buffer = buffer;
    this.#capacity = capacity;
    this.#header = new BigInt64Array(buffer, at.header, HEADER_SLOTS);
    this.#states = new Int32Array(buffer, at.states, capacity);
    this.#locks = new Int32Array(buffer, at.locks, capacity);
    this.#lengths = new Int32Array(buffer, at.lengths, capacity);
    this.#hashes = new Int32Array(buffer, at.hashes, capacity);
    this.#lastLikes = new Int32Array(buffer, at.lastLikes, capacity);
    this.#counts = new BigInt64Array(buffer, at.counts, capacity);
    this.#seqs = new BigInt64Array(buffer, at.seqs, capacity);
    this.#records = new BigInt64Array(buffer, at.records, capacity);
    this.#journal = journal;
    this.#names = new Uint8Array(buffer, at.names, capacity * MAX_NAME_BYTES);
  }

  /** Allocates a new, empty table. */
  static create(options: LikesTableOptions = {}): LikesTable {
    const { maxClients = 16384, journal } = options;
    const { buffer, capacity } = allocateSized(maxClients, TABLE_BUFFER);
    return new LikesTable(buffer, capacity, journal);
  }

  /**
   * Attaches to a buffer made by {@linkcode LikesTable.create} (for example in a Worker), with
   * the same journal (attached to the same ring buffer) if the table has one.
   *
   * @throws {TypeError} If the buffer was not made by `LikesTable.create()`.
   */
  static attach(buffer: SharedArrayBuffer, journal?: JournalRing): LikesTable {
    return new LikesTable(buffer, capacityOf(buffer, TABLE_BUFFER.size), journal);
  }

  /** The shared buffer, to post to a Worker. */
  get buffer(): SharedArrayBuffer {
    return this.#buffer;
  }

  /** How many distinct clients fit. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Likes counted for everyone. */
  total(): number {
    return Number(Atomics.load(this.#header, TOTAL));
  }

  /** Adds `delta` (default 1) to a statistics counter. */
  count(counter: Counter, delta = 1): void {
    Atomics.add(this.#header, COUNTERS[counter], BigInt(delta));
  }

  /**
   * Counts a new open connection unless `max` are open already (across every Worker).
   *
   * @returns The number now open, or minus the number open when the connection is refused.
   */
  openConnection(max: number): number {
    const slot = COUNTERS.connectionsOpen;
    const open = Number(Atomics.add(this.#header, slot, 1n)) + 1;
    if (open <= max) return open;
    Atomics.sub(this.#header, slot, 1n);
    return -(open - 1);
  }

  /** Counts a connection opened by {@linkcode LikesTable.openConnection} as closed. */
  closeConnection(): void {
    Atomics.sub(this.#header, COUNTERS.connectionsOpen, 1n);
  }

  /** Reads a statistics counter. */
  counter(counter: Counter): number {
    return Number(Atomics.load(this.#header, COUNTERS[counter]));
  }

  /** Counts a classic message (no key: every delivery counts) and journals it. */
  applyClassic(name: string, likes: number): ApplyResult {
    const slot = this.#slotOf(name);
    if (slot < 0) return { status: "full" };
    const record = this.#journal?.append({ kind: "classic", name, seq: 0, likes }, slot) ?? -1;
    const n = BigInt(likes);
    const client = Atomics.add(this.#counts, slot, n) + n;
    const total = Atomics.add(this.#header, TOTAL, n) + n;
    return { status: "applied", client: Number(client), total: Number(total), record };
  }

  /**
   * Applies a keyed message exactly once: `seq` must be the client's last applied one plus 1;
   * an earlier `seq` is a duplicate (acknowledged, not counted), a later one is a gap.
   */
  applyKeyed(name: string, seq: number, likes: number): ApplyResult {
    // A client is only registered by its first message, so gaps cannot fill the table.
    const slot = this.#slotOf(name, seq === 1);
    if (slot === NOT_FOUND) return { status: "gap", expected: 1 };
    if (slot < 0) return { status: "full" };
    this.#lock(slot);
    try {
      const last = Number(Atomics.load(this.#seqs, slot));
      if (seq === last + 1) {
        // Journaled under the lock, so a client's records are in the journal in its seq order.
        const record = this.#journal?.append({ kind: "keyed", name, seq, likes }, slot) ?? -1;
        const n = BigInt(likes);
        const client = Atomics.add(this.#counts, slot, n) + n;
        Atomics.store(this.#seqs, slot, BigInt(seq));
        Atomics.store(this.#lastLikes, slot, likes);
        Atomics.store(this.#records, slot, BigInt(record + 1));
        const total = Atomics.add(this.#header, TOTAL, n) + n;
        return { status: "applied", client: Number(client), total: Number(total), record };
      }
      if (seq > last) return { status: "gap", expected: last + 1 };
      const lastLikes = Atomics.load(this.#lastLikes, slot);
      if (seq === last && likes !== lastLikes) return { status: "conflict", likes: lastLikes };
      return {
        status: "duplicate",
        client: Number(Atomics.load(this.#counts, slot)),
        total: this.total(),
        record: Number(Atomics.load(this.#records, slot)) - 1,
      };
    } finally {
      this.#unlock(slot);
    }
  }

  /**
   * Puts back a recovered client (before any Worker starts) and returns its slot.
   *
   * @throws {RangeError} If the table has no room for it.
   */
  restore(name: string, state: { count: number; lastSeq: number; lastLikes: number }): number {
    const slot = this.#slotOf(name);
    if (slot < 0) {
      throw new RangeError(
        `Cannot restore client ${
          JSON.stringify(name)
        } as the table is full (${this.#capacity} clients)`,
      );
    }
    Atomics.store(this.#counts, slot, BigInt(state.count));
    Atomics.store(this.#seqs, slot, BigInt(state.lastSeq));
    Atomics.store(this.#lastLikes, slot, state.lastLikes);
    Atomics.add(this.#header, TOTAL, BigInt(state.count));
    return slot;
  }

  /** The total and the likes counted per client, read without stopping the writers. */
  snapshot(): { total: number; clients: Record<string, number> } {
    const clients: Record<string, number> = {};
    for (let slot = 0; slot < this.#capacity; slot++) {
      if (Atomics.load(this.#states, slot) !== READY) continue;
      clients[this.#readName(slot)] = Number(Atomics.load(this.#counts, slot));
    }
    return { total: this.total(), clients };
  }

  /** How many clients the table holds. */
  clientCount(): number {
    return Number(Atomics.load(this.#header, CLIENTS));
  }

  /**
   * The `limit` clients with the most likes (ties in name order): what `STATS` lists, bounded
   * however many clients there are.
   */
  topClients(limit: number): Record<string, number> {
    const all: [string, number][] = [];
    for (let slot = 0; slot < this.#capacity; slot++) {
      if (Atomics.load(this.#states, slot) !== READY) continue;
      all.push([this.#readName(slot), Number(Atomics.load(this.#counts, slot))]);
    }
    if (all.length > limit) {
      all.sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0));
      all.length = limit;
    }
    return Object.fromEntries(all);
  }

  /** Likes counted for each of `names` the table holds (unknown names are left out). */
  countsOf(names: readonly string[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const name of names) {
      if (name.length === 0 || name.length > MAX_NAME_BYTES) continue;
      const slot = this.#slotOf(name, false);
      if (slot >= 0) counts[name] = Number(Atomics.load(this.#counts, slot));
    }
    return counts;
  }

  /** The client's slot; else, if `create`, a new one (`FULL` when none is left), or `NOT_FOUND`. */
  #slotOf(name: string, create = true): number {
    const cached = this.#slots.get(name);
    if (cached !== undefined) return cached;
    if (name.length === 0 || name.length > MAX_NAME_BYTES) {
      throw new RangeError(
        `Cannot store client name as it must be 1 to ${MAX_NAME_BYTES} ASCII characters: current length is ${name.length}`,
      );
    }
    const hash = fnv1a(name);
    const mask = this.#capacity - 1;
    for (let probe = 0, slot = hash & mask; probe < this.#capacity; probe++) {
      let state = Atomics.load(this.#states, slot);
      if (state === EMPTY) {
        if (!create) return NOT_FOUND;
        state = Atomics.compareExchange(this.#states, slot, EMPTY, CLAIMING);
        if (state === EMPTY) {
          this.#writeName(slot, name, hash);
          Atomics.add(this.#header, CLIENTS, 1n);
          Atomics.store(this.#states, slot, READY);
          Atomics.notify(this.#states, slot);
          return this.#remember(name, slot);
        }
      }
      while (state === CLAIMING) {
        Atomics.wait(this.#states, slot, CLAIMING, 1);
        state = Atomics.load(this.#states, slot);
      }
      if (Atomics.load(this.#hashes, slot) === hash && this.#readName(slot) === name) {
        return this.#remember(name, slot);
      }
      slot = (slot + 1) & mask;
    }
    return create ? FULL : NOT_FOUND;
  }

  #remember(name: string, slot: number): number {
    this.#slots.set(name, slot);
    this.#nameOf[slot] = name;
    return slot;
  }

  #writeName(slot: number, name: string, hash: number): void {
    const base = slot * MAX_NAME_BYTES;
    for (let i = 0; i < name.length; i++) this.#names[base + i] = name.charCodeAt(i) & 0x7f;
    Atomics.store(this.#lengths, slot, name.length);
    Atomics.store(this.#hashes, slot, hash);
  }

  #readName(slot: number): string {
    const known = this.#nameOf[slot];
    if (known !== undefined) return known;
    const base = slot * MAX_NAME_BYTES;
    const length = Atomics.load(this.#lengths, slot);
    const name = String.fromCharCode(...this.#names.subarray(base, base + length));
    this.#nameOf[slot] = name;
    return name;
  }

  #lock(slot: number): void {
    let c = Atomics.compareExchange(this.#locks, slot, UNLOCKED, LOCKED);
    if (c === UNLOCKED) return;
    do {
      if (
        c === CONTENDED ||
        Atomics.compareExchange(this.#locks, slot, LOCKED, CONTENDED) !== UNLOCKED
      ) {
        Atomics.wait(this.#locks, slot, CONTENDED, 5);
      }
    } while ((c = Atomics.compareExchange(this.#locks, slot, UNLOCKED, CONTENDED)) !== UNLOCKED);
  }

  #unlock(slot: number): void {
    if (Atomics.sub(this.#locks, slot, 1) !== LOCKED) {
      Atomics.store(this.#locks, slot, UNLOCKED);
      Atomics.notify(this.#locks, slot, 1);
    }
  }
}
