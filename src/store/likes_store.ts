/**
 * The store seam: what the protocol side (`respond.ts`, `Connection`) asks of wherever the counts
 * live. A store applies a classic or keyed message and answers with the counts and a
 * {@linkcode Receipt}; a reply that needs its like to be durable waits for `settled(receipt)`.
 * That is the one name, everywhere, for "this reply waits for that record". The embedded store
 * (`src/store/embedded/`: the shared table, the journal, snapshots, recovery) is one
 * implementation; `store_contract.ts` holds the tests any store must pass.
 *
 * Each thread that answers messages holds its own view of the store (a Worker attaches the
 * shared memory); every view sees the same counts.
 *
 * @module
 */

/**
 * What a reply waits for before it may be sent: an opaque, non-negative number the store
 * issued, or {@linkcode NO_RECEIPT} when there is nothing to wait for. Receipts only grow, so a
 * batch of replies waits for the largest of theirs.
 */
export type Receipt = number;

/** The receipt of a reply that waits for nothing. */
export const NO_RECEIPT: Receipt = -1;

/** What applying one message did. */
export type ApplyResult =
  | {
    /** Counted (`applied`), or a keyed seq already counted (`duplicate`: not counted again). */
    readonly status: "applied" | "duplicate";
    /** The client's count and the total after it. */
    readonly client: number;
    readonly total: number;
    /**
     * Wait for this before acknowledging: the record that counted the message (for a duplicate,
     * the one that counted the original). {@linkcode NO_RECEIPT} if nothing needs waiting for.
     */
    readonly receipt: Receipt;
  }
  /** A keyed seq beyond the next one: refused, nothing counted. */
  | { readonly status: "gap"; readonly expected: number }
  /** A keyed seq already counted with other likes: refused, nothing counted. */
  | { readonly status: "conflict"; readonly likes: number }
  /** No room for a new client (temporary: idle clients are forgotten). */
  | { readonly status: "full" }
  /**
   * Counting it would take the client's count or the total past 2^53 - 1, beyond which counts
   * are no longer exact numbers (nor restartable from a snapshot): refused, nothing counted.
   */
  | { readonly status: "limit" };

/** A value now (an in-memory store) or later (a store across the network). */
export type Eventually<T> = T | Promise<T>;

/**
 * A store across the network could not be asked (not connected, or it refused before running
 * anything): nothing was counted, so sending the message again is safe. A **definite** error.
 */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
}

/**
 * A store across the network was asked but its answer was lost (the connection closed, or no
 * answer came in time): the message may or may not have been counted. An **indefinite** error:
 * only a keyed message may be sent again (its seq is counted once).
 */
export class StoreOutcomeUnknownError extends Error {
  override readonly name = "StoreOutcomeUnknownError";
}

/**
 * Where the counts live, as seen from the thread that answers messages. A store in memory
 * answers at once; a store across the network (Redis) answers with promises, which reject with
 * {@linkcode StoreUnavailableError} when it cannot be asked (nothing counted, the client
 * retries) or {@linkcode StoreOutcomeUnknownError} when its answer was lost (maybe counted).
 */
export interface LikesStore {
  /** Counts a classic message (`LikesServer<N> <likes>`); every delivery counts. */
  applyClassic(name: string, likes: number): Eventually<ApplyResult>;
  /** Counts a keyed message once per (client, seq); seqs must come in order. */
  applyKeyed(name: string, seq: number, likes: number): Eventually<ApplyResult>;
  /**
   * `undefined` if what `receipt` stands for is durable already (the cheap, common case, and
   * always for {@linkcode NO_RECEIPT}), else a promise that resolves once it is — or rejects
   * if it never will be (the journal failed): then the reply must not be sent.
   */
  settled(receipt: Receipt): Promise<void> | undefined;
  /** All likes counted. */
  total(): Eventually<number>;
  /** The counts of the named clients that are known (others are left out). */
  countsOf(names: readonly string[]): Eventually<Record<string, number>>;
  /** The `limit` clients with the most likes. */
  topClients(limit: number): Eventually<Record<string, number>>;
  /** How many clients the store knows now. */
  clientCount(): Eventually<number>;
  /** How many clients it can hold at once. */
  readonly maxClients: number;
}
