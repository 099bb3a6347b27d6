/**
 * The server's own counters (messages accepted, duplicate, rejected; connections), shared by its
 * Workers. They are not the store's business: `respond.ts` and the connection Workers count
 * through this interface, and the embedded store's shared table happens to host them.
 *
 * @module
 */

/** One of the server's counters. */
export type Counter =
  | "accepted"
  | "duplicates"
  | "rejected"
  | "connectionsAccepted"
  | "connectionsOpen"
  | "connectionsRefused"
  | "expired";

/** Counting and reading the server's counters. */
export interface ServerCounters {
  /** Adds `delta` (default 1) to a counter. */
  count(counter: Counter, delta?: number): void;
  /** A counter's value. */
  counter(counter: Counter): number;
}
