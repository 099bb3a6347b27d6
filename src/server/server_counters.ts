/**
 * The server's own counters (messages by result and protocol, likes counted, connections), shared
 * by its Workers. They are not the store's business: `respond.ts` and the connection Workers count
 * through this interface, and the embedded store's shared table happens to host them. Each
 * (result, protocol) pair has its own counter, so a reader (`STATS`, the metrics) never subtracts
 * one racing counter from another.
 *
 * @module
 */

/** One of the server's counters. */
export type Counter =
  | "countedClassic"
  | "countedKeyed"
  | "duplicates"
  | "invalidClassic"
  | "invalidKeyed"
  | "unavailableClassic"
  | "unavailableKeyed"
  | "unknownClassic"
  | "unknownKeyed"
  | "likesCounted"
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

/** The two wire forms a message comes in. */
export type Protocol = "classic" | "keyed";

/** What became of a message: the `result` of the `likes.messages` metric. */
export type MessageResult = "counted" | "duplicate" | "invalid" | "unavailable" | "unknown";

/** The counter for messages of `protocol` with `result` (keyed only for `duplicate`). */
export function messageCounter(result: MessageResult, protocol: Protocol): Counter {
  switch (result) {
    case "counted":
      return protocol === "classic" ? "countedClassic" : "countedKeyed";
    case "duplicate":
      return "duplicates";
    case "invalid":
      return protocol === "classic" ? "invalidClassic" : "invalidKeyed";
    case "unavailable":
      return protocol === "classic" ? "unavailableClassic" : "unavailableKeyed";
    case "unknown":
      return protocol === "classic" ? "unknownClassic" : "unknownKeyed";
  }
}

/** Every (result, protocol) pair a message can end in (classic messages are never duplicates). */
export const MESSAGE_OUTCOMES: readonly { result: MessageResult; protocol: Protocol }[] = [
  { result: "counted", protocol: "classic" },
  { result: "counted", protocol: "keyed" },
  { result: "duplicate", protocol: "keyed" },
  { result: "invalid", protocol: "classic" },
  { result: "invalid", protocol: "keyed" },
  { result: "unavailable", protocol: "classic" },
  { result: "unavailable", protocol: "keyed" },
  { result: "unknown", protocol: "classic" },
  { result: "unknown", protocol: "keyed" },
];

/**
 * Messages in `STATS`' classes: accepted (counted), duplicate, rejected (not counted), and
 * unknown (the store's answer was lost: maybe counted; Redis only).
 */
export interface MessageTotals {
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  readonly unknown: number;
}

/**
 * Sums the counters into `STATS`' classes.
 *
 * @example
 * ```ts
 * import { messageTotals, type Counter } from "./server_counters.ts";
 * import assert from "node:assert/strict";
 * const values: Partial<Record<Counter, number>> = { countedClassic: 2, countedKeyed: 3, invalidKeyed: 1, unavailableClassic: 1 };
 * const counters = { count() {}, counter: (c: Counter) => values[c] ?? 0 };
 * assert.deepEqual(messageTotals(counters), { accepted: 5, duplicates: 0, rejected: 2, unknown: 0 });
 * ```
 */
export function messageTotals(counters: ServerCounters): MessageTotals {
  const c = (name: Counter) => counters.counter(name);
  return {
    accepted: c("countedClassic") + c("countedKeyed"),
    duplicates: c("duplicates"),
    rejected: c("invalidClassic") + c("invalidKeyed") + c("unavailableClassic") +
      c("unavailableKeyed"),
    unknown: c("unknownClassic") + c("unknownKeyed"),
  };
}
