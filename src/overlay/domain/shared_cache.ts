/**
 * A query-result cache in one `SharedArrayBuffer`, so every thread of a node (the main thread
 * and its Workers, each attaching the same buffer) sees the same entries and the same counters.
 *
 * - **Bounded in bytes.** Keys and values live in an arena used as a ring: a new entry is
 *   written after the last one, and the oldest entries in its way are evicted (first in, first
 *   out). An entry larger than the whole arena is not cached (counted as `tooLarge`).
 * - **TTL that expires.** An entry older than the TTL is a miss (counted as `expired`), and its
 *   room is reclaimed. Within the TTL an entry serves, however the counts changed since: bounded
 *   staleness, as the seed's design (and HTTP caches) have it, not "never older than the counts".
 * - **The asker's say.** A lookup may ask for an entry no older than `maxAgeMs` (HTTP's
 *   `Cache-Control: max-age`); an entry older than that is a miss for it (counted as `tooOld`)
 *   and stays for others. An entry stored with an age (built from parts already that old) is
 *   that old from the start.
 *
 * Every operation takes a short spin-then-wait lock (`Atomics`), so threads never see half an
 * entry. Times are milliseconds from `Date.now()` (the same clock in every thread).
 *
 * @module
 */

/** Options for {@linkcode SharedCache.create}. */
export interface SharedCacheOptions {
  /** Bytes for keys and values together. @default {1048576} */
  readonly capacityBytes?: number;
  /** Most entries at once. @default {1024} */
  readonly maxEntries?: number;
  /** How long an entry stays valid, in ms. */
  readonly ttlMs: number;
}

/** A hit: the cached value and how old it is. */
export interface CacheHit {
  readonly value: string;
  readonly ageMs: number;
}

/** What the cache has done since it was created. */
export interface CacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  readonly expired: number;
  /** Lookups that found an entry within the TTL but older than the asker's `maxAgeMs`. */
  readonly tooOld: number;
  readonly tooLarge: number;
  readonly entries: number;
  readonly bytes: number;
  readonly capacityBytes: number;
  readonly ttlMs: number;
}

// Int32 header: lock, next write offset, next slot sequence.
const LOCK = 0, HEAD = 1, SEQ = 2, INT_HEADER = 4;
// Float64 header: the counters, then the settings.
const HITS = 0, MISSES = 1, EVICTIONS = 2, EXPIRED = 3, TOO_OLD = 4, TOO_LARGE = 5;
const TTL = 6, CAPACITY = 7, MAX_ENTRIES = 8, FLOAT_HEADER = 9;
// Slot fields (Float64): live, hash, offset, key bytes, value bytes, the time its data is from.
const LIVE = 0, HASH = 1, OFFSET = 2, KEY_BYTES = 3, VALUE_BYTES = 4, STORED_AT = 5;
const SLOT = 6;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function hashOf(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

/**
 * The cache. Create it once per node, pass {@linkcode SharedCache.buffer} to each Worker, and
 * {@linkcode SharedCache.attach} it there.
 *
 * @example
 * ```ts
 * import { SharedCache } from "./shared_cache.ts";
 * import assert from "node:assert/strict";
 * const cache = SharedCache.create({ ttlMs: 5000 });
 * cache.set("get_all", '{"rows":[]}', 1000);
 * assert.deepEqual(cache.get("get_all", 1200), { value: '{"rows":[]}', ageMs: 200 });
 * assert.equal(cache.get("get_all", 1200, 100), null); // the asker wants it fresher: a miss
 * assert.equal(cache.get("get_all", 6001), null); // past the TTL: a miss
 * ```
 */
export class SharedCache {
  readonly #buffer: SharedArrayBuffer;
  readonly #ints: Int32Array;
  readonly #floats: Float64Array;
  readonly #slots: Float64Array;
  readonly #arena: Uint8Array;
  readonly #maxEntries: number;
  readonly #capacity: number;

  private constructor(buffer: SharedArrayBuffer) {
    this.#buffer = buffer;
    this.#ints = new Int32Array(buffer, 0, INT_HEADER);
    const header = new Float64Array(buffer, INT_HEADER * 4, FLOAT_HEADER);
    this.#maxEntries = header[MAX_ENTRIES]!;
    this.#capacity = header[CAPACITY]!;
    this.#floats = header;
    const slotsAt = INT_HEADER * 4 + FLOAT_HEADER * 8;
    this.#slots = new Float64Array(buffer, slotsAt, this.#maxEntries * SLOT);
    this.#arena = new Uint8Array(buffer, slotsAt + this.#maxEntries * SLOT * 8, this.#capacity);
  }

  /**
   * Allocates a cache.
   *
   * @throws {RangeError} If a size or the TTL is not a positive whole number.
   */
  static create(options: SharedCacheOptions): SharedCache {
    const { capacityBytes = 1 << 20, maxEntries = 1024, ttlMs } = options;
    for (const [name, value] of [["capacityBytes", capacityBytes], ["maxEntries", maxEntries]]) {
      if (!Number.isInteger(value) || (value as number) < 1) {
        throw new RangeError(
          `Cannot create the cache as '${name}' must be a positive integer: current value is ${value}`,
        );
      }
    }
    if (!Number.isFinite(ttlMs) || ttlMs < 0) {
      throw new RangeError(
        `Cannot create the cache as 'ttlMs' must be 0 or more: current value is ${ttlMs}`,
      );
    }
    const bytes = INT_HEADER * 4 + FLOAT_HEADER * 8 + maxEntries * SLOT * 8 + capacityBytes;
    const buffer = new SharedArrayBuffer(bytes);
    const header = new Float64Array(buffer, INT_HEADER * 4, FLOAT_HEADER);
    header[TTL] = ttlMs;
    header[CAPACITY] = capacityBytes;
    header[MAX_ENTRIES] = maxEntries;
    return new SharedCache(buffer);
  }

  /** Uses a cache another thread created. */
  static attach(buffer: SharedArrayBuffer): SharedCache {
    return new SharedCache(buffer);
  }

  /** The shared memory, to post to a Worker. */
  get buffer(): SharedArrayBuffer {
    return this.#buffer;
  }

  /**
   * The entry for `key`, if at `now` it is within the TTL and no older than `maxAgeMs` (0: the
   * asker takes nothing from the cache; counted as a miss).
   */
  get(key: string, now = Date.now(), maxAgeMs = Infinity): CacheHit | null {
    const keyBytes = encoder.encode(key);
    const hash = hashOf(keyBytes);
    this.#lock();
    try {
      const slot = this.#find(keyBytes, hash);
      if (slot < 0) {
        this.#floats[MISSES]!++;
        return null;
      }
      const at = slot * SLOT;
      const age = now - this.#slots[at + STORED_AT]!;
      if (age > this.#floats[TTL]!) {
        this.#slots[at + LIVE] = 0;
        this.#floats[EXPIRED]!++;
        this.#floats[MISSES]!++;
        return null;
      }
      if (age > maxAgeMs) {
        this.#floats[TOO_OLD]!++;
        this.#floats[MISSES]!++;
        return null;
      }
      this.#floats[HITS]!++;
      const offset = this.#slots[at + OFFSET]! + keyBytes.length;
      const value = decoder.decode(
        this.#arena.slice(offset, offset + this.#slots[at + VALUE_BYTES]!),
      );
      return { value, ageMs: Math.max(0, age) };
    } finally {
      this.#unlock();
    }
  }

  /**
   * Stores `value` for `key` at `now`, already `ageMs` old (its oldest part was read that long
   * ago); false if it is larger than the cache.
   */
  set(key: string, value: string, now = Date.now(), ageMs = 0): boolean {
    const keyBytes = encoder.encode(key);
    this.#lock();
    try {
      return this.#store(keyBytes, hashOf(keyBytes), encoder.encode(value), now - ageMs, now);
    } finally {
      this.#unlock();
    }
  }

  /**
   * Records `key` if it is not already there (and within the TTL): true the first time, false
   * after, atomically across threads. A node marks each query id this way, so that every thread
   * sees a repeat.
   */
  claim(key: string, now = Date.now()): boolean {
    const keyBytes = encoder.encode(key);
    const hash = hashOf(keyBytes);
    this.#lock();
    try {
      const slot = this.#find(keyBytes, hash);
      if (slot >= 0 && now - this.#slots[slot * SLOT + STORED_AT]! <= this.#floats[TTL]!) {
        return false;
      }
      return this.#store(keyBytes, hash, new Uint8Array(0), now, now);
    } finally {
      this.#unlock();
    }
  }

  /** The counters and current size. */
  stats(): CacheStats {
    this.#lock();
    try {
      let entries = 0, bytes = 0;
      for (let slot = 0; slot < this.#maxEntries; slot++) {
        const at = slot * SLOT;
        if (this.#slots[at + LIVE] !== 1) continue;
        entries++;
        bytes += this.#slots[at + KEY_BYTES]! + this.#slots[at + VALUE_BYTES]!;
      }
      const f = this.#floats;
      return {
        hits: f[HITS]!,
        misses: f[MISSES]!,
        evictions: f[EVICTIONS]!,
        expired: f[EXPIRED]!,
        tooOld: f[TOO_OLD]!,
        tooLarge: f[TOO_LARGE]!,
        entries,
        bytes,
        capacityBytes: this.#capacity,
        ttlMs: f[TTL]!,
      };
    } finally {
      this.#unlock();
    }
  }

  /** Writes an entry whose data is from `storedAt`; the lock is held. */
  #store(
    keyBytes: Uint8Array,
    hash: number,
    valueBytes: Uint8Array,
    storedAt: number,
    now: number,
  ): boolean {
    const length = keyBytes.length + valueBytes.length;
    if (length > this.#capacity) {
      this.#floats[TOO_LARGE]!++;
      return false;
    }
    const old = this.#find(keyBytes, hash);
    if (old >= 0) this.#slots[old * SLOT + LIVE] = 0;
    let head = this.#ints[HEAD]!;
    if (head + length > this.#capacity) head = 0;
    for (let slot = 0; slot < this.#maxEntries; slot++) {
      const at = slot * SLOT;
      if (this.#slots[at + LIVE] !== 1) continue;
      const start = this.#slots[at + OFFSET]!;
      const end = start + this.#slots[at + KEY_BYTES]! + this.#slots[at + VALUE_BYTES]!;
      if (start < head + length && head < end) this.#evict(slot, now);
    }
    const slot = this.#ints[SEQ]! % this.#maxEntries;
    this.#ints[SEQ] = (this.#ints[SEQ]! + 1) % 0x40000000;
    if (this.#slots[slot * SLOT + LIVE] === 1) this.#evict(slot, now);
    this.#arena.set(keyBytes, head);
    this.#arena.set(valueBytes, head + keyBytes.length);
    const at = slot * SLOT;
    this.#slots[at + HASH] = hash;
    this.#slots[at + OFFSET] = head;
    this.#slots[at + KEY_BYTES] = keyBytes.length;
    this.#slots[at + VALUE_BYTES] = valueBytes.length;
    this.#slots[at + STORED_AT] = storedAt;
    this.#slots[at + LIVE] = 1;
    this.#ints[HEAD] = head + length;
    return true;
  }

  /** An entry in the way of a new one: evicted, or merely expired if past its TTL anyway. */
  #evict(slot: number, now: number): void {
    const at = slot * SLOT;
    this.#slots[at + LIVE] = 0;
    if (now - this.#slots[at + STORED_AT]! > this.#floats[TTL]!) this.#floats[EXPIRED]!++;
    else this.#floats[EVICTIONS]!++;
  }

  #find(keyBytes: Uint8Array, hash: number): number {
    for (let slot = 0; slot < this.#maxEntries; slot++) {
      const at = slot * SLOT;
      if (this.#slots[at + LIVE] !== 1 || this.#slots[at + HASH] !== hash) continue;
      if (this.#slots[at + KEY_BYTES] !== keyBytes.length) continue;
      const offset = this.#slots[at + OFFSET]!;
      let same = true;
      for (let i = 0; i < keyBytes.length && same; i++) {
        same = this.#arena[offset + i] === keyBytes[i];
      }
      if (same) return slot;
    }
    return -1;
  }

  #lock(): void {
    for (let spins = 0; Atomics.compareExchange(this.#ints, LOCK, 0, 1) !== 0; spins++) {
      if (spins > 100) Atomics.wait(this.#ints, LOCK, 1, 1);
    }
  }

  #unlock(): void {
    Atomics.store(this.#ints, LOCK, 0);
    Atomics.notify(this.#ints, LOCK, 1);
  }
}
