/**
 * The PrimaryLikesServer's metrics, as the recorder the entry point hands to `serveLikes()`
 * (the server imports nothing of telemetry: it calls what it is given). The counts
 * (`likes.messages`, `likes.counted`, `likes.connections.open`) are carried over from the
 * server's shared counters a few times a second (`carry_over.ts`), so counting costs the hot path
 * nothing more than it did; the histograms (`likes.ack.duration`, `likes.journal.flush.*`) record
 * what the server reports as it happens. While telemetry is off there is no recorder at all.
 *
 * @module
 */

import { type CarryOver, carryOver, delta } from "./carry_over.ts";
import { likesMeter, msHistogram, telemetryEnabled } from "./otel.ts";

/** Bucket bounds of `likes.journal.flush.records` (records made durable by one flush). */
export const FLUSH_RECORD_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/** The server's counts this reads (the server's `ServerReadings`). */
export interface LikesServerCounts {
  /** Messages answered so far, one reading per (result, protocol). */
  readonly messages: readonly {
    readonly result: string;
    readonly protocol: string;
    read(): number;
  }[];
  /** Likes counted so far. */
  likesCounted(): number;
  /** Client connections open now. */
  connectionsOpen(): number;
}

/** The server's metrics, recorded from what the server tells (its `ServerRecorder`). */
export interface LikesServerTelemetry {
  /**
   * Carries the counts over to `likes.messages` {result, protocol}, `likes.counted` and
   * `likes.connections.open`; stopping carries the final counts over.
   */
  watch(counts: LikesServerCounts): CarryOver;
  /** Records one journal flush in `likes.journal.flush.duration` and `.records`. */
  flushed(ms: number, records: number): void;
  /** Records `messages` samples of `ms` in `likes.ack.duration`. */
  replied(ms: number, messages: number): void;
}

/**
 * The server's metrics, or `undefined` while telemetry is off (`OTEL_DENO` not `true`), so that
 * the server then records nothing and reads no clock for it. Make one per server.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serverTelemetry } from "./server_telemetry.ts";
 * // A test process runs without OTEL_DENO=true: nothing to record with.
 * assert.equal(serverTelemetry(), undefined);
 * ```
 */
export function serverTelemetry(): LikesServerTelemetry | undefined {
  if (!telemetryEnabled()) return undefined;
  const meter = likesMeter();
  const ack = msHistogram(
    "likes.ack.duration",
    "From a message's arrival to its reply being written",
  );
  const flushDuration = msHistogram(
    "likes.journal.flush.duration",
    "How long one journal flush (fdatasync) took",
  );
  const flushRecords = meter.createHistogram("likes.journal.flush.records", {
    description: "Journal records one flush made durable (group commit)",
    unit: "{record}",
    advice: { explicitBucketBoundaries: FLUSH_RECORD_BUCKETS },
  });
  return {
    watch(counts) {
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
      const pushes = [
        ...counts.messages.map(({ result, protocol, read }) => {
          const attributes = { result, protocol };
          return delta(read, (d) => messages.add(d, attributes));
        }),
        delta(() => counts.likesCounted(), (d) => counted.add(d)),
        delta(() => counts.connectionsOpen(), (d) => open.add(d)),
      ];
      return carryOver(() => pushes.forEach((push) => push()));
    },
    flushed(ms, records) {
      flushDuration.record(ms);
      flushRecords.record(records);
    },
    replied(ms, messages) {
      for (let i = 0; i < messages; i++) ack.record(ms);
    },
  };
}
