/**
 * What one node's threads share, in `SharedArrayBuffer`s: the answer cache, the set of query ids
 * already seen (so a query reaching the node twice, on any of its query Workers, is known as a
 * repeat: answered afresh, counted in `repeats`), the health of its neighbours (written by the main thread's heartbeats, read by the
 * Workers' queries), and the query counters its `stats` reports.
 *
 * @module
 */

import { PeerTable } from "./peer_table.ts";
import { type CacheStats, SharedCache } from "./shared_cache.ts";

/** How long a query id is remembered, in ms: past any query's deadline. */
export const SEEN_TTL_MS = 120_000;

/** The counters every query Worker adds to. */
export const COUNTERS = [
  "answered",
  "repeats",
  "failed",
  "open",
  "refused",
  "unauthenticated",
] as const;
/** One of {@linkcode COUNTERS}. */
export type CounterName = typeof COUNTERS[number];

/** The buffers to post to a Worker. */
export interface NodeBuffers {
  readonly cache: SharedArrayBuffer;
  readonly seen: SharedArrayBuffer;
  readonly counters: SharedArrayBuffer;
  readonly peers: SharedArrayBuffer;
  /** The config's node ids, in the order of the peer table's slots. */
  readonly peerIds: readonly string[];
}

/** One node's shared state, as seen from one thread. */
export class NodeShared {
  /** Answers, keyed by query, served while younger than the TTL. */
  readonly cache: SharedCache;
  /** Query ids already seen here (a second arrival is a repeat). */
  readonly seen: SharedCache;
  /** Each neighbour's health. */
  readonly peers: PeerTable;
  readonly #counters: Int32Array;
  readonly #buffers: NodeBuffers;

  private constructor(buffers: NodeBuffers) {
    this.#buffers = buffers;
    this.cache = SharedCache.attach(buffers.cache);
    this.seen = SharedCache.attach(buffers.seen);
    this.peers = PeerTable.attach(buffers.peers, buffers.peerIds);
    this.#counters = new Int32Array(buffers.counters, 0, COUNTERS.length);
  }

  /** Allocates the state of a node of a config with the nodes `peerIds`. */
  static create(
    cache: { readonly ttlMs: number; readonly capacityBytes: number },
    peerIds: readonly string[],
  ): NodeShared {
    return new NodeShared({
      cache: SharedCache.create(cache).buffer,
      seen: SharedCache.create({ ttlMs: SEEN_TTL_MS, capacityBytes: 1 << 18, maxEntries: 4096 })
        .buffer,
      counters: new SharedArrayBuffer(4 * COUNTERS.length),
      peers: PeerTable.create(peerIds).buffer,
      peerIds: [...peerIds],
    });
  }

  /** Uses the state another thread created. */
  static attach(buffers: NodeBuffers): NodeShared {
    return new NodeShared(buffers);
  }

  /** The buffers, to post to a Worker. */
  get buffers(): NodeBuffers {
    return this.#buffers;
  }

  /** Adds `delta` to a counter. */
  add(name: CounterName, delta = 1): void {
    Atomics.add(this.#counters, COUNTERS.indexOf(name), delta);
  }

  /** A counter's value. */
  count(name: CounterName): number {
    return Atomics.load(this.#counters, COUNTERS.indexOf(name));
  }

  /** The cache's counters. */
  cacheStats(): CacheStats {
    return this.cache.stats();
  }
}
