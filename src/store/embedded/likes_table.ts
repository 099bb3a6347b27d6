/**
 * The PrimaryLikesServer's counting state in one SharedArrayBuffer, shared by every Worker:
 * the global total, how many idle clients were forgotten, and a hash table of at most `maxClients` clients, each
 * with its likes counted, its last applied sequence number, the likes that sequence carried and
 * when it was last seen.
 *
 * This is the only file that uses `Atomics` on the buffer. Every update is an atomic operation;
 * applying a message runs under a per-client lock (a futex-style mutex built on
 * `Atomics.wait`/`notify`), so two Workers never apply the same (client, seq) twice and a client
 * cannot be expired while a message for it is being applied. A counted message is also appended
 * to the journal ring, if there is one, under that lock — so each client's records are journaled
 * in the order they were counted.
 *
 * Clients idle longer than a time-to-live can be expired ({@linkcode LikesTable.expireIdle}),
 * like Kafka expires producer ids: their slot becomes a tombstone that a new client can take, an
 * `expire` record goes to the journal so that recovery forgets them too, and their likes stay in
 * the total. Lookups need no lock (open addressing, linear probing, at most half full); inserts
 * and expiry take one table-wide lock. Each Worker caches name → slot with the slot's generation,
 * which expiry bumps, so a stale cache entry is noticed.
 *
 * @module
 */

import type { ApplyResult } from "../likes_store.ts";
import type { JournalRing } from "./journal_ring.ts";
import { allocateSized, capacityOf } from "./sized_buffer.ts";
import type { ClientState } from "./snapshot.ts";
import { STORE_DEFAULTS } from "../store_defaults.ts";

/** Options for {@linkcode LikesTable.create}. */

/** The largest count kept: 2^53 - 1, the last integer a JavaScript number holds exactly. */
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);
export interface LikesTableOptions {
  /** How many distinct clients the table holds at once. @default {16384} */
  readonly maxClients?: number;
  /** Where counted messages are journaled (none: memory only). */
  readonly journal?: JournalRing;
  /** Clock, for when clients were last seen. @default {Date.now} */
  readonly clock?: () => number;
}

export type { ApplyResult } from "../likes_store.ts";

/** Longest client name the table stores, in bytes (ASCII). */
export const MAX_NAME_BYTES = 64;
/** Largest `maxClients` (the table then takes about 490 MB). */
export const MAX_CLIENTS_LIMIT = 1 << 21;

const HEADER_SLOTS = 24;
// Slot 0 holds the capacity (see sized_buffer.ts).
const TOTAL = 1;
// Slots 2-7 and 11-17 once held the server's counters (now in the server's own memory).
/** Header slot: how many clients were forgotten for being idle. */
const FORGOTTEN = 10;
/** Header slot: how many clients the table holds. */
const CLIENTS = 8;
/** Header slot: `maxClients`. */
const MAX_CLIENTS = 9;
/** Control slot (Int32): the lock that inserts and expiry take. */
const STRUCTURE_LOCK = 0;
const CONTROL_SLOTS = 4;

const EMPTY = 0;
const CLAIMING = 1;
const READY = 2;
const DELETED = 3;

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
  const control = header + HEADER_SLOTS * 8;
  const states = control + CONTROL_SLOTS * 4;
  const locks = states + capacity * 4;
  const generations = locks + capacity * 4;
  const lengths = generations + capacity * 4;
  const hashes = lengths + capacity * 4;
  const lastLikes = hashes + capacity * 4;
  const lastSeen = lastLikes + capacity * 4;
  const changed = lastSeen + capacity * 4;
  const changedEnd = changed + capacity * 4;
  const counts = Math.ceil(changedEnd / 8) * 8;
  const seqs = counts + capacity * 8;
  const records = seqs + capacity * 8;
  const names = records + capacity * 8;
  const size = names + capacity * MAX_NAME_BYTES;
  return {
    header,
    control,
    states,
    locks,
    generations,
    lengths,
    hashes,
    lastLikes,
    lastSeen,
    changed,
    counts,
    seqs,
    records,
    names,
    size,
  };
}

const TABLE_BUFFER = {
  size: (capacity: number) => layout(capacity).size,
  min: 2,
  max: MAX_CLIENTS_LIMIT * 2,
  what: "the likes table as twice 'maxClients'",
};

/** A cached lookup: the slot and the generation it had. */
interface Entry {
  readonly slot: number;
  readonly generation: number;
}

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
  readonly #control: Int32Array;
  readonly #states: Int32Array;
  readonly #locks: Int32Array;
  readonly #generations: Int32Array;
  readonly #lengths: Int32Array;
  readonly #hashes: Int32Array;
  readonly #lastLikes: Int32Array;
  /** Per slot: when the client was last seen, in whole seconds since the epoch. */
  readonly #lastSeen: Uint32Array;
  /** Per slot: 1 when its count changed since {@linkcode LikesTable.takeChanged} last looked. */
  readonly #changed: Int32Array;
  readonly #counts: BigInt64Array;
  readonly #seqs: BigInt64Array;
  /** Per slot: 1 + the journal index of the record that counted its last seq (0: none). */
  readonly #records: BigInt64Array;
  readonly #names: Uint8Array;
  readonly #journal: JournalRing | undefined;
  readonly #clock: () => number;
  /** This thread's cache of lookups (checked against the slot's generation on every use). */
  readonly #entries = new Map<string, Entry>();
  readonly #nameOf: (string | undefined)[] = [];
  readonly #nameGeneration: number[] = [];

  private constructor(
    buffer: SharedArrayBuffer,
    capacity: number,
    journal: JournalRing | undefined,
    clock: () => number,
  ) {
    const at = layout(capacity);
    this.#buffer = buffer;
    this.#capacity = capacity;
    this.#header = new BigInt64Array(buffer, at.header, HEADER_SLOTS);
    this.#control = new Int32Array(buffer, at.control, CONTROL_SLOTS);
    this.#states = new Int32Array(buffer, at.states, capacity);
    this.#locks = new Int32Array(buffer, at.locks, capacity);
    this.#generations = new Int32Array(buffer, at.generations, capacity);
    this.#lengths = new Int32Array(buffer, at.lengths, capacity);
    this.#hashes = new Int32Array(buffer, at.hashes, capacity);
    this.#lastLikes = new Int32Array(buffer, at.lastLikes, capacity);
    this.#lastSeen = new Uint32Array(buffer, at.lastSeen, capacity);
    this.#changed = new Int32Array(buffer, at.changed, capacity);
    this.#counts = new BigInt64Array(buffer, at.counts, capacity);
    this.#seqs = new BigInt64Array(buffer, at.seqs, capacity);
    this.#records = new BigInt64Array(buffer, at.records, capacity);
    this.#journal = journal;
    this.#clock = clock;
    this.#names = new Uint8Array(buffer, at.names, capacity * MAX_NAME_BYTES);
  }

  /**
   * Allocates a new, empty table for `maxClients` clients.
   *
   * @throws {RangeError} If `maxClients` is not an integer from 1 to {@linkcode MAX_CLIENTS_LIMIT}.
   */
  static create(options: LikesTableOptions = {}): LikesTable {
    const { maxClients = STORE_DEFAULTS.maxClients, journal, clock = Date.now } = options;
    if (!Number.isInteger(maxClients) || maxClients < 1 || maxClients > MAX_CLIENTS_LIMIT) {
      throw new RangeError(
        `Cannot create the likes table as 'maxClients' must be an integer from 1 to ${MAX_CLIENTS_LIMIT}: current value is ${maxClients}`,
      );
    }
    // At most half full, so that probing stays short even with tombstones about.
    const { buffer, capacity } = allocateSized(maxClients * 2, TABLE_BUFFER);
    new BigInt64Array(buffer, 0, HEADER_SLOTS)[MAX_CLIENTS] = BigInt(maxClients);
    return new LikesTable(buffer, capacity, journal, clock);
  }

  /**
   * Attaches to a buffer made by {@linkcode LikesTable.create} (for example in a Worker), with
   * the same journal (attached to the same ring buffer) if the table has one.
   *
   * @throws {TypeError} If the buffer was not made by `LikesTable.create()`.
   */
  static attach(
    buffer: SharedArrayBuffer,
    journal?: JournalRing,
    clock: () => number = Date.now,
  ): LikesTable {
    return new LikesTable(buffer, capacityOf(buffer, TABLE_BUFFER.size), journal, clock);
  }

  /** The shared buffer, to post to a Worker. */
  get buffer(): SharedArrayBuffer {
    return this.#buffer;
  }

  /** How many distinct clients the table holds at most. */
  get maxClients(): number {
    return Number(Atomics.load(this.#header, MAX_CLIENTS));
  }

  /** Likes counted for everyone (expired clients' likes included). */
  total(): number {
    return Number(Atomics.load(this.#header, TOTAL));
  }

  /** How many clients were forgotten for being idle ({@linkcode LikesTable.expireIdle}). */
  forgotten(): number {
    return Number(Atomics.load(this.#header, FORGOTTEN));
  }

  /**
   * Adds `n` to the total unless that, or the client's count (its lock held), would pass
   * 2^53 - 1; returns the new total, or -1 when refused (nothing added).
   */
  #reserveTotal(slot: number, n: bigint): bigint {
    if (Atomics.load(this.#counts, slot) + n > MAX_EXACT) return -1n;
    const total = Atomics.add(this.#header, TOTAL, n) + n;
    if (total <= MAX_EXACT) return total;
    Atomics.sub(this.#header, TOTAL, n); // another Worker may have seen it above for a moment
    return -1n;
  }

  /** Counts a classic message (no key: every delivery counts) and journals it. */
  applyClassic(name: string, likes: number): ApplyResult {
    while (true) {
      const entry = this.#lookup(name, true);
      if (entry === FULL) return { status: "full" };
      if (entry === NOT_FOUND) continue; // cannot happen when creating
      const { slot } = entry;
      this.#lock(slot);
      try {
        if (!this.#current(entry)) continue; // expired meanwhile: look it up again
        const n = BigInt(likes);
        const total = this.#reserveTotal(slot, n);
        if (total < 0n) return { status: "limit" };
        const record = this.#journal?.append({ kind: "classic", name, seq: 0, likes }, slot) ??
          -1;
        const client = Atomics.add(this.#counts, slot, n) + n;
        Atomics.store(this.#changed, slot, 1);
        this.#touch(slot);
        return { status: "applied", client: Number(client), total: Number(total), receipt: record };
      } finally {
        this.#unlock(slot);
      }
    }
  }

  /**
   * Applies a keyed message exactly once: `seq` must be the client's last applied one plus 1;
   * an earlier `seq` is a duplicate (acknowledged, not counted), a later one is a gap.
   */
  applyKeyed(name: string, seq: number, likes: number): ApplyResult {
    while (true) {
      // A client is only registered by its first message, so gaps cannot fill the table.
      const entry = this.#lookup(name, seq === 1);
      if (entry === NOT_FOUND) return { status: "gap", expected: 1 };
      if (entry === FULL) return { status: "full" };
      const { slot } = entry;
      this.#lock(slot);
      try {
        if (!this.#current(entry)) continue; // expired meanwhile: look it up again
        const last = Number(Atomics.load(this.#seqs, slot));
        if (seq === last + 1) {
          const n = BigInt(likes);
          const total = this.#reserveTotal(slot, n);
          if (total < 0n) return { status: "limit" };
          // Journaled under the lock, so a client's records are in the journal in its seq order.
          const record = this.#journal?.append({ kind: "keyed", name, seq, likes }, slot) ?? -1;
          const client = Atomics.add(this.#counts, slot, n) + n;
          Atomics.store(this.#changed, slot, 1);
          Atomics.store(this.#seqs, slot, BigInt(seq));
          Atomics.store(this.#lastLikes, slot, likes);
          Atomics.store(this.#records, slot, BigInt(record + 1));
          this.#touch(slot);
          return {
            status: "applied",
            client: Number(client),
            total: Number(total),
            receipt: record,
          };
        }
        if (seq > last) return { status: "gap", expected: last + 1 };
        const lastLikes = Atomics.load(this.#lastLikes, slot);
        if (seq === last && likes !== lastLikes) return { status: "conflict", likes: lastLikes };
        this.#touch(slot);
        return {
          status: "duplicate",
          client: Number(Atomics.load(this.#counts, slot)),
          total: this.total(),
          receipt: Number(Atomics.load(this.#records, slot)) - 1,
        };
      } finally {
        this.#unlock(slot);
      }
    }
  }

  /**
   * Puts back recovered clients and the recovered total (before any Worker starts); returns each
   * client's slot.
   *
   * @throws {RangeError} If there are more clients than `maxClients`.
   */
  restoreAll(
    clients: Iterable<readonly [string, Readonly<ClientState>]>,
    total: number,
  ): Map<string, number> {
    const slots = new Map<string, number>();
    for (const [name, state] of clients) {
      const entry = this.#lookup(name, true);
      if (entry === FULL || entry === NOT_FOUND) {
        throw new RangeError(
          `Cannot restore client ${
            JSON.stringify(name)
          } as the table is full (${this.maxClients} clients)`,
        );
      }
      const { slot } = entry;
      Atomics.store(this.#counts, slot, BigInt(state.count));
      Atomics.store(this.#changed, slot, 1);
      Atomics.store(this.#seqs, slot, BigInt(state.lastSeq));
      Atomics.store(this.#lastLikes, slot, state.lastLikes);
      Atomics.store(this.#lastSeen, slot, Math.floor(state.lastSeen / 1000));
      slots.set(name, slot);
    }
    Atomics.store(this.#header, TOTAL, BigInt(total));
    return slots;
  }

  /**
   * Forgets every client last seen before `cutoff` (ms since the epoch): its slot is freed, an
   * `expire` record is journaled, its likes stay in the total. Never waits for a client's lock
   * (a client whose message is being applied right now is not idle) nor for room in the journal:
   * it may run on the thread that drains the journal, for which a Worker holding a client's lock
   * may be waiting. When the ring is full it stops, and a later call goes on.
   *
   * @returns The names of the clients expired.
   */
  expireIdle(cutoff: number): string[] {
    const before = Math.floor(cutoff / 1000);
    const expired: string[] = [];
    this.#lockStructure();
    try {
      for (let slot = 0; slot < this.#capacity; slot++) {
        if (Atomics.load(this.#states, slot) !== READY) continue;
        if (Atomics.load(this.#lastSeen, slot) >= before) continue;
        if (!this.#tryLock(slot)) continue; // busy: not idle
        try {
          if (Atomics.load(this.#states, slot) !== READY) continue;
          if (Atomics.load(this.#lastSeen, slot) >= before) continue;
          const name = this.#readName(slot);
          const record = this.#journal?.tryAppend({ kind: "expire", name, seq: 0, likes: 0 }, slot);
          if (record === -1) break; // the journal is full: the next sweep goes on
          Atomics.add(this.#generations, slot, 1);
          Atomics.store(this.#states, slot, DELETED);
          Atomics.sub(this.#header, CLIENTS, 1n);
          expired.push(name);
        } finally {
          this.#unlock(slot);
        }
      }
      if (expired.length > 0) this.#clearTombstoneRuns();
    } finally {
      this.#unlockStructure();
    }
    Atomics.add(this.#header, FORGOTTEN, BigInt(expired.length));
    return expired;
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
    const all = this.clients();
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
      const entry = this.#lookup(name, false);
      if (entry !== FULL && entry !== NOT_FOUND) {
        counts[name] = Number(Atomics.load(this.#counts, entry.slot));
      }
    }
    return counts;
  }

  /** How many slots the table has: what {@linkcode LikesTable.clients} walks. */
  get slots(): number {
    return this.#capacity;
  }

  /**
   * Each client in slots `from` to `to` (by default all) and the likes counted for it, in slot
   * order, read without stopping the writers. A list, not an object: an object of a million
   * names takes seconds to build. Walk a large table a range at a time to keep a thread
   * responsive.
   */
  clients(from = 0, to = this.#capacity): [name: string, likes: number][] {
    const all: [string, number][] = [];
    for (let slot = Math.max(0, from); slot < Math.min(to, this.#capacity); slot++) {
      if (Atomics.load(this.#states, slot) !== READY) continue;
      all.push([this.#readName(slot), Number(Atomics.load(this.#counts, slot))]);
    }
    return all;
  }

  /** The total and the likes counted per client, read without stopping the writers. */
  snapshot(): { total: number; clients: Record<string, number> } {
    return { total: this.total(), clients: Object.fromEntries(this.clients()) };
  }

  /**
   * The clients whose count changed since the last call (or ever, the first time), with their
   * counts now: what an observer that keeps its own copy needs, at the cost of the changes (plus
   * a scan of one flag per slot) rather than of the whole table. For one reader at a time; a
   * count that changes during the call is in this answer or the next. Clients forgotten are not
   * reported here: compare {@linkcode LikesTable.forgotten} and read a
   * {@linkcode LikesTable.snapshot} when it moved.
   */
  takeChanged(): Record<string, number> {
    const clients: Record<string, number> = {};
    for (let slot = 0; slot < this.#capacity; slot++) {
      if (Atomics.load(this.#changed, slot) === 0) continue;
      // Cleared before the count is read: a writer's later change sets it again.
      Atomics.store(this.#changed, slot, 0);
      if (Atomics.load(this.#states, slot) !== READY) continue;
      const generation = Atomics.load(this.#generations, slot);
      const name = this.#readName(slot);
      const count = Number(Atomics.load(this.#counts, slot));
      // Still the same client: one that took the slot meanwhile set the flag again.
      const same = Atomics.load(this.#states, slot) === READY &&
        Atomics.load(this.#generations, slot) === generation;
      if (same) clients[name] = count;
    }
    return clients;
  }

  #touch(slot: number): void {
    Atomics.store(this.#lastSeen, slot, Math.floor(this.#clock() / 1000));
  }

  /** True while a looked-up slot still belongs to the client it was looked up for. */
  #current(entry: Entry): boolean {
    return Atomics.load(this.#states, entry.slot) === READY &&
      Atomics.load(this.#generations, entry.slot) === entry.generation;
  }

  /**
   * The client's slot (from this thread's cache when it is still current); else, if `create`, a
   * new one (`FULL` when the table holds `maxClients`), or `NOT_FOUND`.
   */
  #lookup(name: string, create: boolean): Entry | typeof FULL | typeof NOT_FOUND {
    const cached = this.#entries.get(name);
    if (cached !== undefined) {
      if (this.#current(cached)) return cached;
      this.#entries.delete(name);
    }
    if (name.length === 0 || name.length > MAX_NAME_BYTES) {
      throw new RangeError(
        `Cannot store client name as it must be 1 to ${MAX_NAME_BYTES} ASCII characters: current length is ${name.length}`,
      );
    }
    const hash = fnv1a(name);
    const found = this.#probe(name, hash);
    if (found !== NOT_FOUND || !create) return found;
    this.#lockStructure();
    try {
      // Again under the lock: another thread may have inserted it meanwhile.
      const again = this.#probe(name, hash);
      if (again !== NOT_FOUND) return again;
      if (this.clientCount() >= this.maxClients) return FULL;
      return this.#insert(name, hash);
    } finally {
      this.#unlockStructure();
    }
  }

  /** Finds a client without locking: probing stops at an empty slot, passing tombstones. */
  #probe(name: string, hash: number): Entry | typeof NOT_FOUND {
    const mask = this.#capacity - 1;
    for (
      let probe = 0, slot = hash & mask;
      probe < this.#capacity;
      probe++, slot = (slot + 1) & mask
    ) {
      let state = Atomics.load(this.#states, slot);
      while (state === CLAIMING) {
        Atomics.wait(this.#states, slot, CLAIMING, 1);
        state = Atomics.load(this.#states, slot);
      }
      if (state === EMPTY) return NOT_FOUND;
      if (state !== READY || Atomics.load(this.#hashes, slot) !== hash) continue;
      const entry = { slot, generation: Atomics.load(this.#generations, slot) };
      // The name is compared after reading the generation, then the generation is checked
      // again: a slot expired and taken by another client meanwhile is not mistaken for this one.
      if (this.#readName(slot) === name && this.#current(entry)) return this.#remember(name, entry);
    }
    return NOT_FOUND;
  }

  /** Takes the first tombstone or empty slot on the probe path (under the structure lock). */
  #insert(name: string, hash: number): Entry | typeof FULL {
    const mask = this.#capacity - 1;
    for (
      let probe = 0, slot = hash & mask;
      probe < this.#capacity;
      probe++, slot = (slot + 1) & mask
    ) {
      const state = Atomics.load(this.#states, slot);
      if (state === EMPTY || state === DELETED) {
        Atomics.store(this.#states, slot, CLAIMING);
        const generation = Atomics.add(this.#generations, slot, 1) + 1;
        this.#writeName(slot, name, hash);
        Atomics.store(this.#counts, slot, 0n);
        Atomics.store(this.#seqs, slot, 0n);
        Atomics.store(this.#lastLikes, slot, 0);
        Atomics.store(this.#records, slot, 0n);
        Atomics.store(this.#changed, slot, 1);
        this.#touch(slot);
        Atomics.add(this.#header, CLIENTS, 1n);
        Atomics.store(this.#states, slot, READY);
        Atomics.notify(this.#states, slot);
        return this.#remember(name, { slot, generation });
      }
    }
    return FULL;
  }

  /**
   * Turns tombstones that an empty slot follows back into empty slots (no probe path crosses
   * them), so that lookups of unknown names stay short. Under the structure lock.
   */
  #clearTombstoneRuns(): void {
    const mask = this.#capacity - 1;
    for (let slot = 0; slot < this.#capacity; slot++) {
      if (Atomics.load(this.#states, slot) !== EMPTY) continue;
      for (let back = (slot - 1) & mask; back !== slot; back = (back - 1) & mask) {
        if (Atomics.load(this.#states, back) !== DELETED) break;
        Atomics.store(this.#states, back, EMPTY);
      }
    }
  }

  #remember(name: string, entry: Entry): Entry {
    // A Worker that sees a stream of one-off names must not grow its cache without bound.
    if (this.#entries.size >= this.#capacity) this.#entries.clear();
    this.#entries.set(name, entry);
    return entry;
  }

  #writeName(slot: number, name: string, hash: number): void {
    const base = slot * MAX_NAME_BYTES;
    for (let i = 0; i < name.length; i++) this.#names[base + i] = name.charCodeAt(i) & 0x7f;
    Atomics.store(this.#lengths, slot, name.length);
    Atomics.store(this.#hashes, slot, hash);
  }

  #readName(slot: number): string {
    const generation = Atomics.load(this.#generations, slot);
    const known = this.#nameOf[slot];
    if (known !== undefined && this.#nameGeneration[slot] === generation) return known;
    const base = slot * MAX_NAME_BYTES;
    const length = Atomics.load(this.#lengths, slot);
    const name = String.fromCharCode(...this.#names.subarray(base, base + length));
    this.#nameOf[slot] = name;
    this.#nameGeneration[slot] = generation;
    return name;
  }

  #lockStructure(): void {
    this.#acquire(this.#control, STRUCTURE_LOCK);
  }

  #unlockStructure(): void {
    this.#release(this.#control, STRUCTURE_LOCK);
  }

  #lock(slot: number): void {
    this.#acquire(this.#locks, slot);
  }

  #unlock(slot: number): void {
    this.#release(this.#locks, slot);
  }

  /** Takes a client's lock only if it is free right now. */
  #tryLock(slot: number): boolean {
    return Atomics.compareExchange(this.#locks, slot, UNLOCKED, LOCKED) === UNLOCKED;
  }

  #acquire(locks: Int32Array, at: number): void {
    let c = Atomics.compareExchange(locks, at, UNLOCKED, LOCKED);
    if (c === UNLOCKED) return;
    do {
      if (c === CONTENDED || Atomics.compareExchange(locks, at, LOCKED, CONTENDED) !== UNLOCKED) {
        Atomics.wait(locks, at, CONTENDED, 5);
      }
    } while ((c = Atomics.compareExchange(locks, at, UNLOCKED, CONTENDED)) !== UNLOCKED);
  }

  #release(locks: Int32Array, at: number): void {
    if (Atomics.sub(locks, at, 1) !== LOCKED) {
      Atomics.store(locks, at, UNLOCKED);
      Atomics.notify(locks, at, 1);
    }
  }
}
