/**
 * The store's defaults, written once: the embedded table and journal, the door
 * (`open_store.ts`), the server's options and flags all take them from here.
 *
 * @module
 */

/** Every default of the store. */
export const STORE_DEFAULTS = Object.freeze(
  {
    /** An acknowledgement waits for the flush that includes its like. */
    fsync: "always",
    /** With `fsync: "interval"`: the longest time between flushes, in ms (Redis `everysec`). */
    fsyncIntervalMs: 1000,
    /** Journal records between snapshots. */
    snapshotEvery: 100_000,
    /** Distinct clients the embedded table holds at once. */
    maxClients: 16384,
    /** A client silent this long is forgotten (its likes stay in the total), in ms: 7 days. */
    clientTtlMs: 7 * 24 * 3600 * 1000,
    /** Refuse to start on a damaged older journal segment rather than skip its records. */
    repair: false,
  } as const,
);
