/**
 * The server's own counters (messages by result and protocol, likes counted, connections), in
 * shared memory of their own that every connection Worker attaches ({@linkcode SharedCounters}).
 * They are not the store's business: `respond.ts` and the connection Workers count through
 * {@linkcode ServerCounters}, whichever store holds the likes. Each (result, protocol) pair has
 * its own counter, so a reader (`STATS`, the metrics) never subtracts one racing counter from
 * another.
 *
 * @module
 */

import type { Protocol } from "../protocol/grammar.ts";

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
  | "connectionsRefused";

/** Counting and reading the server's counters. */
export interface ServerCounters {
  /** Adds `delta` (default 1) to a counter. */
  count(counter: Counter, delta?: number): void;
  /** A counter's value. */
  counter(counter: Counter): number;
}

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

/** Where each counter lives in the shared buffer. */
const SLOTS: Readonly<Record<Counter, number>> = {
  countedClassic: 0,
  countedKeyed: 1,
  duplicates: 2,
  invalidClassic: 3,
  invalidKeyed: 4,
  unavailableClassic: 5,
  unavailableKeyed: 6,
  unknownClassic: 7,
  unknownKeyed: 8,
  likesCounted: 9,
  connectionsAccepted: 10,
  connectionsOpen: 11,
  connectionsRefused: 12,
};
const SLOT_COUNT = Object.keys(SLOTS).length;

/**
 * The server's counters in a `SharedArrayBuffer`: create them once, attach the same buffer in
 * each Worker; every update is one atomic operation.
 *
 * @example Connections across two Workers' views
 * ```ts
 * import { SharedCounters } from "./server_counters.ts";
 * import assert from "node:assert/strict";
 * const counters = SharedCounters.create();
 * const other = SharedCounters.attach(counters.buffer);
 * assert.deepEqual([counters.openConnection(2), other.openConnection(2)], [1, 2]);
 * assert.equal(other.openConnection(2), -2, "refused: two are open");
 * counters.closeConnection();
 * counters.count("countedClassic", 3);
 * assert.equal(other.counter("countedClassic"), 3);
 * assert.equal(other.counter("connectionsOpen"), 1);
 * ```
 */
export class SharedCounters implements ServerCounters {
  readonly #slots: BigInt64Array<SharedArrayBuffer>;

  private constructor(buffer: SharedArrayBuffer) {
    this.#slots = new BigInt64Array(buffer);
  }

  /** New counters, all zero. */
  static create(): SharedCounters {
    return new SharedCounters(new SharedArrayBuffer(SLOT_COUNT * 8));
  }

  /**
   * Attaches to the buffer of counters made by {@linkcode SharedCounters.create}.
   *
   * @throws {TypeError} If the buffer does not have the counters' size.
   */
  static attach(buffer: SharedArrayBuffer): SharedCounters {
    if (buffer.byteLength !== SLOT_COUNT * 8) {
      throw new TypeError(
        `Cannot attach the server's counters as the buffer has ${buffer.byteLength} bytes: expected ${
          SLOT_COUNT * 8
        }`,
      );
    }
    return new SharedCounters(buffer);
  }

  /** The shared buffer, to post to a Worker. */
  get buffer(): SharedArrayBuffer {
    return this.#slots.buffer;
  }

  /** Adds `delta` (default 1) to a counter. */
  count(counter: Counter, delta = 1): void {
    Atomics.add(this.#slots, SLOTS[counter], BigInt(delta));
  }

  /** A counter's value. */
  counter(counter: Counter): number {
    return Number(Atomics.load(this.#slots, SLOTS[counter]));
  }

  /**
   * Counts a new open connection unless `max` are open already (across every Worker).
   *
   * @returns The number now open, or minus the number open when the connection is refused.
   */
  openConnection(max: number): number {
    const slot = SLOTS.connectionsOpen;
    const open = Number(Atomics.add(this.#slots, slot, 1n)) + 1;
    if (open <= max) return open;
    Atomics.sub(this.#slots, slot, 1n);
    return -(open - 1);
  }

  /** Counts a connection opened by {@linkcode SharedCounters.openConnection} as closed. */
  closeConnection(): void {
    Atomics.sub(this.#slots, SLOTS.connectionsOpen, 1n);
  }
}
