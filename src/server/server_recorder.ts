/**
 * What the server tells whoever records its metrics. `serveLikes()` is handed a
 * {@linkcode ServerRecorder} (the entry point passes telemetry's, when `OTEL_DENO=true`); the
 * server imports nothing of telemetry, and without a recorder it records nothing and reads no
 * clock for it.
 *
 * @module
 */

import { MESSAGE_OUTCOMES, messageCounter, type ServerCounters } from "./server_counters.ts";

/** One message count the server keeps: messages answered with `result` over `protocol`. */
export interface MessageReading {
  readonly result: string;
  readonly protocol: string;
  /** The count so far (it only grows). */
  read(): number;
}

/** The server's counts, read as they change (they live in shared memory, the Workers add to them). */
export interface ServerReadings {
  /** Messages answered, one reading per (result, protocol). */
  readonly messages: readonly MessageReading[];
  /** Likes counted so far (a duplicate adds none). */
  likesCounted(): number;
  /** Client connections open now. */
  connectionsOpen(): number;
}

/** Records the server's metrics; every part is optional. */
export interface ServerRecorder {
  /**
   * Called once the server runs: read `readings` when you like. The returned handle is stopped
   * when the server has stopped, after the last message was counted.
   */
  watch?(readings: ServerReadings): { stop(): void };
  /** A journal flush took `ms` and made `records` durable. */
  flushed?(ms: number, records: number): void;
  /**
   * `messages` waited `ms` from their arrival until their reply was written. Called on the thread
   * that started the server, in batches the Workers post a few times a second (and when they stop).
   */
  replied?(ms: number, messages: number): void;
}

/** The readings of the server's own counters, for {@linkcode ServerRecorder.watch}. */
export function serverReadings(counters: ServerCounters): ServerReadings {
  return {
    messages: MESSAGE_OUTCOMES.map(({ result, protocol }) => {
      const counter = messageCounter(result, protocol);
      return { result, protocol, read: () => counters.counter(counter) };
    }),
    likesCounted: () => counters.counter("likesCounted"),
    connectionsOpen: () => counters.counter("connectionsOpen"),
  };
}
