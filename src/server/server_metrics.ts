/**
 * The PrimaryLikesServer's metrics. The counts (`likes.messages`, `likes.counted`,
 * `likes.connections.open`) are carried over from the server's shared counters a few times a
 * second (`carry_over.ts`), so counting costs the hot path nothing more than it did; the histograms
 * (`likes.ack.duration`, `likes.journal.flush.*`) record as things happen. Nothing is recorded,
 * and no clock read for it, while telemetry is off.
 *
 * @module
 */

import {
  type Counter,
  MESSAGE_OUTCOMES,
  messageCounter,
  type ServerCounters,
} from "./server_counters.ts";
import { type CarryOver, carryOver, delta } from "../telemetry/carry_over.ts";
import { likesMeter, msHistogram, telemetryEnabled } from "../telemetry/otel.ts";

/** Bucket bounds of `likes.journal.flush.records` (records made durable by one flush). */
export const FLUSH_RECORD_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/**
 * Carries the server's shared counters over to `likes.messages` {result, protocol},
 * `likes.counted` and `likes.connections.open` (see `carry_over.ts`): the hot path keeps
 * counting only in shared memory, and stopping carries the final counts over. Does nothing while
 * telemetry is off. Call it once per server, on the thread that owns it.
 */
export function exportServerCounters(counters: ServerCounters): CarryOver {
  if (!telemetryEnabled()) return { stop() {} };
  const meter = likesMeter();
  const messages = meter.createCounter("likes.messages", {
    description:
      "Messages answered, by result (counted, duplicate, invalid, unavailable, unknown) and " +
      "protocol (classic, keyed)",
    unit: "{message}",
  });
  const counted = meter.createCounter("likes.counted", {
    description: "Likes counted (a duplicate adds none)",
    unit: "{like}",
  });
  const open = meter.createUpDownCounter("likes.connections.open", {
    description: "Client connections open now",
    unit: "{connection}",
  });
  const read = (counter: Counter) => () => counters.counter(counter);
  const pushes = [
    ...MESSAGE_OUTCOMES.map(({ result, protocol }) => {
      const attributes = { result, protocol };
      return delta(read(messageCounter(result, protocol)), (d) => messages.add(d, attributes));
    }),
    delta(read("likesCounted"), (d) => counted.add(d)),
    delta(read("connectionsOpen"), (d) => open.add(d)),
  ];
  return carryOver(() => pushes.forEach((push) => push()));
}

/** Times replies: how long messages waited from their arrival until their reply was written. */
export interface AckTimer {
  /** The clock arrivals are read from, in ms. */
  now(): number;
  /** `messages` that arrived at `arrivedAt` (by {@linkcode AckTimer.now}) were just answered. */
  replied(arrivedAt: number, messages: number): void;
}

/** The `likes.ack.duration` histogram as an {@linkcode AckTimer}, or `undefined` when off. */
export function ackTimer(): AckTimer | undefined {
  if (!telemetryEnabled()) return undefined;
  const histogram = msHistogram(
    "likes.ack.duration",
    "From a message's arrival to its reply being written",
  );
  return {
    now: () => performance.now(),
    replied(arrivedAt, messages) {
      const ms = performance.now() - arrivedAt;
      for (let i = 0; i < messages; i++) histogram.record(ms);
    },
  };
}

/** Told about each journal flush: how long it took and how many records it made durable. */
export type FlushObserver = (ms: number, records: number) => void;

/**
 * `likes.journal.flush.duration` and `likes.journal.flush.records` as a
 * {@linkcode FlushObserver}, or `undefined` when telemetry is off.
 */
export function journalFlushObserver(): FlushObserver | undefined {
  if (!telemetryEnabled()) return undefined;
  const meter = likesMeter();
  const duration = msHistogram(
    "likes.journal.flush.duration",
    "How long one journal flush (fdatasync) took",
  );
  const records = meter.createHistogram("likes.journal.flush.records", {
    description: "Journal records one flush made durable (group commit)",
    unit: "{record}",
    advice: { explicitBucketBoundaries: FLUSH_RECORD_BUCKETS },
  });
  return (ms, count) => {
    duration.record(ms);
    records.record(count);
  };
}
