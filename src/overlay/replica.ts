/**
 * A node's replica of every node's per-key like counts: a state-based grow-only counter (a
 * G-counter in the CRDT sense) with one entry per (owning node, key). Only the owner raises its
 * own entries (from what its PrimaryLikesServer counted); everyone merges what neighbours send by
 * taking the maximum of each entry. Merging is commutative, associative and idempotent, so
 * exchanges in any order, lost, repeated or stale, converge to the same state once every entry
 * has travelled. Pure: no I/O here.
 *
 * @module
 */

/** One entry: `node` counted `likes` for `key` (a LikesServer's client id or classic name). */
export interface ReplicaEntry {
  readonly key: string;
  readonly node: string;
  readonly likes: number;
}

const NODE = /^[A-Z]$/;

/**
 * Checks one entry as it arrives from the network.
 *
 * @throws {RangeError} If the node is not one letter, the key is empty or longer than 64
 *   characters, or the likes are not a non-negative safe integer.
 */
export function checkEntry(entry: ReplicaEntry): ReplicaEntry {
  const { key, node, likes } = entry;
  if (typeof node !== "string" || !NODE.test(node)) {
    throw new RangeError(
      `Cannot merge an entry as its node must be one letter A-Z: current value is ${
        JSON.stringify(node)
      }`,
    );
  }
  if (typeof key !== "string" || key.length === 0 || key.length > 64) {
    throw new RangeError(
      `Cannot merge an entry as its key must be 1 to 64 characters: current value is ${
        JSON.stringify(key)
      }`,
    );
  }
  if (!Number.isSafeInteger(likes) || likes < 0) {
    throw new RangeError(
      `Cannot merge an entry as its likes must be a whole number of at least 0: current value is ${
        JSON.stringify(likes)
      }`,
    );
  }
  return entry;
}

/**
 * The replica: node → key → likes, merged by maximum.
 *
 * @example Merge is a maximum, so order and repetition do not matter
 * ```ts
 * import { Replica } from "./replica.ts";
 * import assert from "node:assert/strict";
 * const a = new Replica();
 * a.observe("B", "LikesServer0-run", 5);
 * const c = new Replica();
 * c.merge([{ node: "B", key: "LikesServer0-run", likes: 3 }]); // stale
 * c.merge(a.entries());
 * c.merge(a.entries()); // again
 * assert.equal(c.total(), 5);
 * ```
 */
export class Replica {
  readonly #counts = new Map<string, Map<string, number>>();
  #version = 0;

  /** Grows by one whenever an entry rises: a cache keyed by it is never stale. */
  get version(): number {
    return this.#version;
  }

  /** `node`'s count for `key` as far as this replica knows (0 if it knows none). */
  get(node: string, key: string): number {
    return this.#counts.get(node)?.get(key) ?? 0;
  }

  /** Raises `node`'s count for `key` to `likes` if that is higher; true if it rose. */
  observe(node: string, key: string, likes: number): boolean {
    let keys = this.#counts.get(node);
    if (!keys) {
      keys = new Map();
      this.#counts.set(node, keys);
    }
    if (likes <= (keys.get(key) ?? -1)) return false;
    keys.set(key, likes);
    this.#version++;
    return true;
  }

  /**
   * Merges entries from another replica (each checked); returns how many rose.
   *
   * @throws {RangeError} On a malformed entry (entries before it are merged).
   */
  merge(entries: Iterable<ReplicaEntry>): number {
    let rose = 0;
    for (const entry of entries) {
      const { node, key, likes } = checkEntry(entry);
      if (this.observe(node, key, likes)) rose++;
    }
    return rose;
  }

  /** Every entry, ordered by node, then key. */
  entries(): ReplicaEntry[] {
    const all: ReplicaEntry[] = [];
    for (const node of [...this.#counts.keys()].sort()) {
      const keys = this.#counts.get(node)!;
      for (const key of [...keys.keys()].sort()) all.push({ key, node, likes: keys.get(key)! });
    }
    return all;
  }

  /** Likes counted by `node` (all nodes when omitted), as far as this replica knows. */
  total(node?: string): number {
    let sum = 0;
    for (const [owner, keys] of this.#counts) {
      if (node !== undefined && owner !== node) continue;
      for (const likes of keys.values()) sum += likes;
    }
    return sum;
  }

  /** True when both replicas hold exactly the same entries. */
  equals(other: Replica): boolean {
    const mine = this.entries();
    const theirs = other.entries();
    return mine.length === theirs.length &&
      mine.every((e, i) =>
        e.node === theirs[i]!.node && e.key === theirs[i]!.key && e.likes === theirs[i]!.likes
      );
  }
}
