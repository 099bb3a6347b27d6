/**
 * Replica rows packed in columns, to cross from a node's main thread to a query Worker. A
 * structured clone of a million row objects blocks both threads for about two seconds here (long
 * enough to miss heartbeats); of a million strings and two typed arrays, about a tenth of that.
 *
 * @module
 */

import type { ReplicaEntry } from "./replica.ts";

/** Rows as columns: row `i` is `keys[i]`, owned by `owners[ownerOf[i]]`, with `likes[i]`. */
export interface PackedRows {
  readonly keys: readonly string[];
  readonly owners: readonly string[];
  readonly ownerOf: Uint16Array;
  readonly likes: Float64Array;
}

/** Packs rows in columns, in their order. */
export function packRows(rows: readonly ReplicaEntry[]): PackedRows {
  const owners: string[] = [];
  const indexOf = new Map<string, number>();
  const keys = new Array<string>(rows.length);
  const ownerOf = new Uint16Array(rows.length);
  const likes = new Float64Array(rows.length);
  rows.forEach((row, i) => {
    let owner = indexOf.get(row.node);
    if (owner === undefined) {
      owner = owners.push(row.node) - 1;
      indexOf.set(row.node, owner);
    }
    keys[i] = row.key;
    ownerOf[i] = owner;
    likes[i] = row.likes;
  });
  return { keys, owners, ownerOf, likes };
}

/** The buffers a `postMessage` of `packed` may transfer rather than copy. */
export function transferablesOf(packed: PackedRows): ArrayBuffer[] {
  return [packed.ownerOf.buffer as ArrayBuffer, packed.likes.buffer as ArrayBuffer];
}

/** The rows `packRows` packed, in the same order. */
export function unpackRows({ keys, owners, ownerOf, likes }: PackedRows): ReplicaEntry[] {
  const rows = new Array<ReplicaEntry>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    rows[i] = { key: keys[i]!, node: owners[ownerOf[i]!]!, likes: likes[i]! };
  }
  return rows;
}
