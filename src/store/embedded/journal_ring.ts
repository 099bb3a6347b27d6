/**
 * The journal's hand-over from the connection Workers to the journal writer: a ring of fixed-size
 * records in a SharedArrayBuffer. Workers append (many producers; each append reserves the next
 * index, so a client's records are in the order its messages were applied, as long as the append
 * happens under that client's lock). The main thread takes records in index order (one consumer),
 * writes and flushes them, and publishes how many are durable; Workers wait for that before they
 * acknowledge.
 *
 * This file alone uses `Atomics` on the ring's buffer.
 *
 * @module
 */

import { encodeRecord, type JournalRecord, RECORD_BYTES } from "./journal_record.ts";
import { allocateSized, capacityOf } from "./sized_buffer.ts";

/** Options for {@linkcode JournalRing.create}. */
export interface JournalRingOptions {
  /** How many records fit (rounded up to a power of two). @default {65536} */
  readonly capacity?: number;
}

const HEADER_SLOTS = 8;
// Slot 0 holds the capacity (see sized_buffer.ts).
const HEAD = 1;
const TAIL = 2;
const DURABLE = 3;
const CONSUMER_WAITING = 4;
/** 1 once the journal writer failed: nothing more becomes durable. */
const FAILED = 5;

/**
 * `Atomics.waitAsync` that also holds a timer, because a pending `waitAsync` alone does not keep
 * Deno's event loop alive (the process or Worker could end with the wait still pending).
 */
async function waitChange(
  view: BigInt64Array,
  index: number,
  value: bigint,
  timeoutMs: number,
): Promise<void> {
  const wait = Atomics.waitAsync(view, index, value, timeoutMs);
  if (!wait.async) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const held = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs + 1)));
  await Promise.race([wait.value, held]);
  clearTimeout(timer);
}

function layout(capacity: number) {
  const ready = HEADER_SLOTS * 8;
  const data = ready + capacity * 8;
  return { ready, data, size: data + capacity * RECORD_BYTES };
}

const RING_BUFFER = {
  size: (capacity: number) => layout(capacity).size,
  min: 2,
  max: 1 << 22,
  what: "the journal ring as 'capacity'",
};

/**
 * A multi-producer, single-consumer ring of journal records over a SharedArrayBuffer.
 *
 * @example Append, take, publish
 * ```ts
 * import { JournalRing } from "./journal_ring.ts";
 * import assert from "node:assert/strict";
 * const ring = JournalRing.create({ capacity: 4 });
 * const index = ring.append({ kind: "keyed", name: "c", seq: 1, likes: 2 }, 0);
 * const batch = ring.take(10);
 * assert.deepEqual([index, batch.first, batch.count], [0, 0, 1]);
 * ring.publishDurable(batch.first + batch.count);
 * assert.equal(ring.isDurable(index), true);
 * ```
 */
export class JournalRing {
  readonly #buffer: SharedArrayBuffer;
  readonly #capacity: number;
  readonly #mask: number;
  readonly #header: BigInt64Array;
  readonly #ready: BigInt64Array;
  readonly #data: Uint8Array;
  readonly #view: DataView;

  private constructor(buffer: SharedArrayBuffer, capacity: number) {
    const at = layout(capacity);
    this.#buffer = buffer;
    this.#capacity = capacity;
    this.#mask = capacity - 1;
    this.#header = new BigInt64Array(buffer, 0, HEADER_SLOTS);
    this.#ready = new BigInt64Array(buffer, at.ready, capacity);
    this.#data = new Uint8Array(buffer, at.data, capacity * RECORD_BYTES);
    this.#view = new DataView(buffer, at.data, capacity * RECORD_BYTES);
  }

  /** Allocates an empty ring. */
  static create(options: JournalRingOptions = {}): JournalRing {
    const { buffer, capacity } = allocateSized(options.capacity ?? 65536, RING_BUFFER);
    return new JournalRing(buffer, capacity);
  }

  /**
   * Attaches to a buffer made by {@linkcode JournalRing.create} (for example in a Worker).
   *
   * @throws {TypeError} If the buffer was not made by `JournalRing.create()`.
   */
  static attach(buffer: SharedArrayBuffer): JournalRing {
    return new JournalRing(buffer, capacityOf(buffer, RING_BUFFER.size));
  }

  /** The shared buffer, to post to a Worker. */
  get buffer(): SharedArrayBuffer {
    return this.#buffer;
  }

  /** How many records fit. */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Appends a record and returns its index. Waits (blocking this thread) while the ring is full,
   * which pushes back on clients when the disk cannot keep up.
   */
  append(record: JournalRecord, slot: number): number {
    const index = Atomics.add(this.#header, HEAD, 1n);
    for (let tail = Atomics.load(this.#header, TAIL); index - tail >= this.#capacity;) {
      // A failed writer frees no room: the record is never written, and never durable.
      if (this.failed()) return Number(index);
      Atomics.wait(this.#header, TAIL, tail, 50);
      tail = Atomics.load(this.#header, TAIL);
    }
    this.#fill(index, record, slot);
    return Number(index);
  }

  /**
   * Appends a record if the ring has room right now, without waiting; returns its index, or -1
   * when the ring is full. For the thread that also drains the ring, which must never wait on it.
   */
  tryAppend(record: JournalRecord, slot: number): number {
    if (this.failed()) return -1;
    let index = Atomics.load(this.#header, HEAD);
    while (true) {
      if (index - Atomics.load(this.#header, TAIL) >= this.#capacity) return -1;
      const seen = Atomics.compareExchange(this.#header, HEAD, index, index + 1n);
      if (seen === index) break; // reserved
      index = seen;
    }
    this.#fill(index, record, slot);
    return Number(index);
  }

  #fill(index: bigint, record: JournalRecord, slot: number): void {
    const at = Number(index) & this.#mask;
    encodeRecord(this.#data, this.#view, at * RECORD_BYTES, record, slot, Date.now());
    Atomics.store(this.#ready, at, index + 1n);
    if (Atomics.load(this.#header, CONSUMER_WAITING) === 1n) Atomics.notify(this.#ready, at);
  }

  /**
   * Takes up to `max` records that are ready, in index order, as one copied byte array, and frees
   * their room in the ring. With `spare`, the array has room for that many more records after
   * them (zeroed; `bytes.length` includes it), for example for a flush marker.
   */
  take(max: number, spare = 0): { first: number; count: number; bytes: Uint8Array } {
    const tail = Atomics.load(this.#header, TAIL);
    let count = 0;
    while (
      count < max &&
      Atomics.load(this.#ready, Number(tail + BigInt(count)) & this.#mask) ===
        tail + BigInt(count) + 1n
    ) {
      count++;
    }
    const bytes = new Uint8Array((count + (count > 0 ? spare : 0)) * RECORD_BYTES);
    const start = Number(tail) & this.#mask;
    const firstPart = Math.min(count, this.#capacity - start);
    bytes.set(this.#data.subarray(start * RECORD_BYTES, (start + firstPart) * RECORD_BYTES));
    if (firstPart < count) {
      bytes.set(
        this.#data.subarray(0, (count - firstPart) * RECORD_BYTES),
        firstPart * RECORD_BYTES,
      );
    }
    if (count > 0) {
      Atomics.store(this.#header, TAIL, tail + BigInt(count));
      Atomics.notify(this.#header, TAIL);
    }
    return { first: Number(tail), count, bytes };
  }

  /** Resolves when the next record is ready, or after `timeoutMs`. */
  async waitForRecords(timeoutMs: number): Promise<void> {
    const tail = Atomics.load(this.#header, TAIL);
    const at = Number(tail) & this.#mask;
    const seen = Atomics.load(this.#ready, at);
    if (seen === tail + 1n) return;
    Atomics.store(this.#header, CONSUMER_WAITING, 1n);
    try {
      await waitChange(this.#ready, at, seen, timeoutMs);
    } finally {
      Atomics.store(this.#header, CONSUMER_WAITING, 0n);
    }
  }

  /** Records appended so far (reserved indexes). */
  appended(): number {
    return Number(Atomics.load(this.#header, HEAD));
  }

  /** Declares every record with an index below `count` durable, and wakes the waiters. */
  publishDurable(count: number): void {
    Atomics.store(this.#header, DURABLE, BigInt(count));
    Atomics.notify(this.#header, DURABLE);
  }

  /**
   * Declares that the journal writer failed: no record becomes durable from now on. Wakes every
   * waiter, so that no reply waits for a flush that will never come.
   */
  fail(): void {
    Atomics.store(this.#header, FAILED, 1n);
    Atomics.notify(this.#header, DURABLE);
    Atomics.notify(this.#header, TAIL);
  }

  /** True once {@linkcode JournalRing.fail} was called. */
  failed(): boolean {
    return Atomics.load(this.#header, FAILED) === 1n;
  }

  /** How many records are durable (all indexes below it). */
  durable(): number {
    return Number(Atomics.load(this.#header, DURABLE));
  }

  /** True when the record at `index` is durable. */
  isDurable(index: number): boolean {
    return index < this.durable();
  }

  /**
   * Resolves when the durable count changes from `seen` (or after `timeoutMs`); returns the new
   * durable count.
   */
  async waitDurableChange(seen: number, timeoutMs: number): Promise<number> {
    await waitChange(this.#header, DURABLE, BigInt(seen), timeoutMs);
    return this.durable();
  }
}
