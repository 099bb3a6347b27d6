/**
 * A node's replica of every owner's per-key like counts, exchanged as deltas (Scuttlebutt-style,
 * delta-state): each owner's state carries an **epoch** (when that owner started, in ms) and a
 * **version** that rises with every change the owner makes (a key's count rises, a key is
 * forgotten, its likes fold into the owner's retired count). Every key, forgotten key and the
 * retired count is stamped with the version that last changed it.
 *
 * A replica holds each owner's state *complete up to* its version: every change the owner made
 * at or below it is there (or was superseded). So a neighbour that holds version `b` needs only
 * what changed after `b` ({@linkcode Replica.deltas}), and applying it keeps the invariant
 * ({@linkcode Replica.apply}): changes at or below the receiver's version are already there, and
 * a delta that would leave a gap is refused until the gap is filled. A new epoch replaces the
 * owner's state whole: that is how an owner that lost or forgot data corrects every replica.
 * Only the owner changes its own state ({@linkcode Replica.setOwn}). Pure: no I/O here.
 *
 * @module
 */

/** One row as answered: `node` counted `likes` for `key` (a LikesServer's client id or name). */
export interface ReplicaEntry {
  readonly key: string;
  readonly node: string;
  readonly likes: number;
}

/** The key of an owner's row for the likes of clients it has forgotten (`--client-ttl`). */
export const RETIRED_KEY = "(retired)";

/** What a replica holds of one owner: its epoch, how far it is complete, when the owner read. */
export interface OwnerDigest {
  readonly epoch: number;
  readonly version: number;
  /** When the owner last read its own counts (ms since the epoch, by its clock). */
  readonly "as_of": number;
}

/** What changed of one owner's state between two versions, as it travels. */
export interface OwnerDelta {
  readonly owner: string;
  readonly epoch: number;
  /** The receiver must hold this owner's epoch up to at least `base` (0: from nothing). */
  readonly base: number;
  /** The version the receiver holds once applied. */
  readonly upto: number;
  readonly "as_of": number;
  /** `[key, likes, version]`, in version order. */
  readonly entries: readonly (readonly [string, number, number])[];
  /** Keys the owner forgot: `[key, version]`. */
  readonly removed: readonly (readonly [string, number])[];
  /** The owner's retired likes and the version that last changed them, if that is after `base`. */
  readonly retired?: readonly [number, number];
}

/** What {@linkcode Replica.apply} did with a delta. */
export type ApplyOutcome = "applied" | "already" | "stale" | "gap";

interface OwnerState {
  epoch: number;
  version: number;
  asOf: number;
  readonly keys: Map<string, { likes: number; v: number }>;
  /** Forgotten keys and when (kept to tell neighbours that are behind). */
  readonly removed: Map<string, number>;
  retired: { likes: number; v: number };
  /**
   * Every change to a key, in version order (a key changed again appears again; the older
   * place is skipped): what changed after a version is found without a scan of every key.
   */
  log: { key: string; v: number }[];
}

function emptyState(epoch: number): OwnerState {
  return {
    epoch,
    version: 0,
    asOf: 0,
    keys: new Map(),
    removed: new Map(),
    retired: { likes: 0, v: 0 },
    log: [],
  };
}

/** Records that `key` changed at `v` (the highest version yet), compacting the log when long. */
function logChange(state: OwnerState, key: string, v: number): void {
  state.log.push({ key, v });
  if (state.log.length > 2 * (state.keys.size + state.removed.size) + 1024) {
    state.log = state.log.filter(({ key, v }) =>
      (state.keys.get(key)?.v ?? state.removed.get(key)) === v
    );
  }
}

/** Stamps a new version on each key of `counts` whose likes differ from the state's. */
function setKeys(state: OwnerState, counts: Readonly<Record<string, number>>): void {
  for (const [key, likes] of Object.entries(counts)) {
    if (state.keys.get(key)?.likes === likes) continue;
    state.keys.set(key, { likes, v: ++state.version });
    state.removed.delete(key);
    logChange(state, key, state.version);
  }
}

/** The index of the first change in `log` after version `base`. */
function firstAfter(log: readonly { v: number }[], base: number): number {
  let [low, high] = [0, log.length];
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (log[mid]!.v <= base) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * The replica: owner → its state.
 *
 * @example An owner's change travels as a small delta
 * ```ts
 * import { Replica } from "./replica.ts";
 * import assert from "node:assert/strict";
 * const b = new Replica();
 * b.setOwn("B", 1000, { "LikesServer0-run": 5 }, 0, 1500);
 * const a = new Replica();
 * for (const delta of b.deltas("B", undefined)) a.apply(delta);
 * b.setOwn("B", 1000, { "LikesServer0-run": 7 }, 0, 1600);
 * const [delta] = b.deltas("B", a.digest().B);
 * assert.deepEqual(delta!.entries, [["LikesServer0-run", 7, 2]]);
 * assert.equal(a.apply(delta!), "applied");
 * assert.equal(a.total(), 7);
 * ```
 */
export class Replica {
  readonly #owners = new Map<string, OwnerState>();
  #version = 0;

  /** Grows by one whenever the replica changes: a cache keyed by it is never stale. */
  get version(): number {
    return this.#version;
  }

  /**
   * Sets `owner`'s state from its own table, read at `asOf`: keys whose count changed get a new
   * version, keys no longer there are forgotten, a new retired count is stamped. A new `epoch`
   * (a restart) starts the state afresh. Returns true if anything changed.
   */
  setOwn(
    owner: string,
    epoch: number,
    clients: Readonly<Record<string, number>>,
    retired: number,
    asOf: number,
  ): boolean {
    let state = this.#owners.get(owner);
    if (!state || state.epoch !== epoch) {
      state = emptyState(epoch);
      this.#owners.set(owner, state);
    }
    const before = state.version;
    setKeys(state, clients);
    if (state.keys.size > Object.keys(clients).length) {
      for (const key of state.keys.keys()) {
        if (Object.hasOwn(clients, key)) continue;
        state.keys.delete(key);
        state.removed.set(key, ++state.version);
        logChange(state, key, state.version);
      }
    }
    if (retired !== state.retired.likes) state.retired = { likes: retired, v: ++state.version };
    state.asOf = Math.max(state.asOf, asOf);
    if (state.version === before) return false;
    this.#version++;
    return true;
  }

  /**
   * Like {@linkcode Replica.setOwn} for only the keys in `changes` (the others stay as they are,
   * none is forgotten): what an owner that reads only what changed in its table passes. Returns
   * true if anything changed.
   *
   * @throws {RangeError} If the replica does not hold `owner` at `epoch` (call `setOwn` first).
   */
  updateOwn(
    owner: string,
    epoch: number,
    changes: Readonly<Record<string, number>>,
    retired: number,
    asOf: number,
  ): boolean {
    const state = this.#owners.get(owner);
    if (!state || state.epoch !== epoch) {
      throw new RangeError(
        `Cannot update ${owner}'s own state at epoch ${epoch}: the replica holds ${
          state ? `epoch ${state.epoch}` : "none"
        }`,
      );
    }
    const before = state.version;
    setKeys(state, changes);
    if (retired !== state.retired.likes) state.retired = { likes: retired, v: ++state.version };
    state.asOf = Math.max(state.asOf, asOf);
    if (state.version === before) return false;
    this.#version++;
    return true;
  }

  /** Stamps that `owner` read its counts at `asOf` and found them as they were. */
  touch(owner: string, asOf: number): void {
    const state = this.#owners.get(owner);
    if (state) state.asOf = Math.max(state.asOf, asOf);
  }

  /** The epoch this replica holds of `owner`, or undefined. */
  epochOf(owner: string): number | undefined {
    return this.#owners.get(owner)?.epoch;
  }

  /** How many keys the replica has forgotten for `owner` and still remembers as forgotten. */
  forgottenOf(owner: string): number {
    return this.#owners.get(owner)?.removed.size ?? 0;
  }

  /** Owner → what this replica holds of it. */
  digest(): Record<string, OwnerDigest> {
    const digest: Record<string, OwnerDigest> = {};
    for (const [owner, state] of this.#byOwner()) {
      digest[owner] = { epoch: state.epoch, version: state.version, "as_of": state.asOf };
    }
    return digest;
  }

  /**
   * What a replica that holds `theirs` of `owner` lacks, in deltas of at most `maxItems` keys
   * and forgotten keys each (none when it lacks nothing or holds a later epoch). Each delta's
   * `base` is the previous one's `upto`, so a receiver that missed one takes none after it.
   */
  deltas(
    owner: string,
    theirs: Pick<OwnerDigest, "epoch" | "version"> | undefined,
    maxItems = 10_000,
  ): OwnerDelta[] {
    const state = this.#owners.get(owner);
    if (!state) return [];
    const sameEpoch = theirs !== undefined && theirs.epoch === state.epoch;
    if (theirs !== undefined && theirs.epoch > state.epoch) return [];
    if (sameEpoch && theirs.version >= state.version) return [];
    const base = sameEpoch ? theirs.version : 0;
    type Item = {
      v: number;
      entry?: [string, number, number];
      removed?: [string, number];
      retired?: true;
    };
    const items: Item[] = [];
    for (let at = firstAfter(state.log, base); at < state.log.length; at++) {
      const { key, v } = state.log[at]!;
      const live = state.keys.get(key);
      if (live?.v === v) items.push({ v, entry: [key, live.likes, v] });
      else if (state.removed.get(key) === v) items.push({ v, removed: [key, v] });
      // else: changed again later, and found there
    }
    if (state.retired.v > base) {
      // In version order with the rest, so the chunk that covers its version carries it.
      const at = firstAfter(items, state.retired.v);
      items.splice(at, 0, { v: state.retired.v, retired: true });
    }
    const deltas: OwnerDelta[] = [];
    let from = base;
    for (let at = 0; at === 0 || at < items.length; at += maxItems) {
      const chunk = items.slice(at, at + maxItems);
      const last = at + maxItems >= items.length;
      const upto = last ? state.version : chunk.at(-1)!.v;
      const withRetired = chunk.some((item) => item.retired);
      deltas.push({
        owner,
        epoch: state.epoch,
        base: from,
        upto,
        "as_of": state.asOf,
        entries: chunk.flatMap((item) => item.entry ? [item.entry] : []),
        removed: chunk.flatMap((item) => item.removed ? [item.removed] : []),
        ...(withRetired ? { retired: [state.retired.likes, state.retired.v] as const } : {}),
      });
      from = upto;
    }
    return deltas;
  }

  /**
   * Applies a delta from a neighbour (checked by the caller): a later epoch replaces the
   * owner's state (from a delta with base 0); an earlier one is `stale`; a delta whose base is
   * past what this replica holds is a `gap` and changes nothing.
   */
  apply(delta: OwnerDelta): ApplyOutcome {
    let state = this.#owners.get(delta.owner);
    if (state && delta.epoch < state.epoch) return "stale";
    if (!state || delta.epoch > state.epoch) {
      if (delta.base !== 0) return "gap";
      state = emptyState(delta.epoch);
      this.#owners.set(delta.owner, state);
      this.#version++; // the old epoch's rows are gone
    }
    state.asOf = Math.max(state.asOf, delta.as_of);
    if (delta.base > state.version) return "gap";
    if (delta.upto <= state.version) return "already";
    const known = state.version;
    const changes: { key: string; v: number }[] = [];
    for (const [key, likes, v] of delta.entries) {
      if (v <= known) continue;
      state.keys.set(key, { likes, v });
      state.removed.delete(key);
      changes.push({ key, v });
    }
    for (const [key, v] of delta.removed) {
      if (v <= known) continue;
      state.keys.delete(key);
      state.removed.set(key, v);
      changes.push({ key, v });
    }
    // A delta's changes are in version order per list, not across the two lists.
    changes.sort((a, b) => a.v - b.v);
    for (const { key, v } of changes) logChange(state, key, v);
    if (delta.retired && delta.retired[1] > known) {
      state.retired = { likes: delta.retired[0], v: delta.retired[1] };
    }
    state.version = delta.upto;
    this.#version++;
    return "applied";
  }

  /** Each owner's state, ordered by owner. */
  #byOwner(): [string, OwnerState][] {
    return [...this.#owners].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** `owner`'s count for `key` as far as this replica knows (0 if it knows none). */
  get(owner: string, key: string): number {
    return this.#owners.get(owner)?.keys.get(key)?.likes ?? 0;
  }

  /** Every row, ordered by owner, then key; an owner's retired likes are a row of their own. */
  entries(): ReplicaEntry[] {
    const all: ReplicaEntry[] = [];
    for (const [owner, state] of this.#byOwner()) {
      for (const key of [...state.keys.keys()].sort()) {
        all.push({ key, node: owner, likes: state.keys.get(key)!.likes });
      }
      if (state.retired.likes > 0) {
        all.push({ key: RETIRED_KEY, node: owner, likes: state.retired.likes });
      }
    }
    return all;
  }

  /**
   * The rows of `keys` only (each owner's that holds one), by owner, then key: looked up, so
   * one key costs the same in a replica of ten keys or of a million.
   */
  rowsOf(keys: readonly string[]): ReplicaEntry[] {
    const wanted = [...new Set(keys)].sort();
    const rows: ReplicaEntry[] = [];
    for (const [owner, state] of this.#byOwner()) {
      for (const key of wanted) {
        const likes = key === RETIRED_KEY ? state.retired.likes : state.keys.get(key)?.likes ?? 0;
        if (likes > 0 || (key !== RETIRED_KEY && state.keys.has(key))) {
          rows.push({ key, node: owner, likes });
        }
      }
    }
    return rows;
  }

  /**
   * Likes per owner and the number of rows ({@linkcode entries}' length), in one pass over the
   * keys without building or sorting the rows: cheap enough for every `stats`, even at a
   * million keys.
   */
  summary(): { byNode: Record<string, number>; entries: number } {
    const byNode: Record<string, number> = {};
    let entries = 0;
    for (const [owner, state] of this.#byOwner()) {
      let likes = state.retired.likes;
      for (const key of state.keys.values()) likes += key.likes;
      entries += state.keys.size + (state.retired.likes > 0 ? 1 : 0);
      if (state.keys.size > 0 || state.retired.likes > 0) byNode[owner] = likes;
    }
    return { byNode, entries };
  }

  /** Likes counted by `owner` (all owners when omitted), retired ones included. */
  total(owner?: string): number {
    let sum = 0;
    for (const [name, state] of this.#owners) {
      if (owner !== undefined && name !== owner) continue;
      sum += state.retired.likes;
      for (const { likes } of state.keys.values()) sum += likes;
    }
    return sum;
  }

  /** How old each owner's part is at `now`, in ms (by that owner's own clock). */
  staleness(now: number): Record<string, number> {
    const ages: Record<string, number> = {};
    for (const [owner, { asOf }] of this.#byOwner()) {
      if (asOf > 0) ages[owner] = Math.max(0, now - asOf);
    }
    return ages;
  }

  /** True when both replicas hold exactly the same rows. */
  equals(other: Replica): boolean {
    return JSON.stringify(this.entries()) === JSON.stringify(other.entries());
  }
}
