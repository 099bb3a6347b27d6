/**
 * The one door to OpenTelemetry. Deno exports what the `npm:@opentelemetry/api` instruments
 * record when the process runs with `OTEL_DENO=true` (it registers its own providers with the
 * API; nothing here configures anything). Without it, the API hands out no-op instruments:
 * {@linkcode telemetryEnabled} lets the hot path skip even reading a clock then.
 *
 * @module
 */

import {
  createNoopMeter,
  type Histogram,
  type Meter,
  metrics,
  trace,
  type Tracer,
} from "@opentelemetry/api";

/** The instrumentation scope every metric and span of the suite is recorded under. */
export const SCOPE = "likes";

const NOOP_METER = createNoopMeter().constructor;

/** The suite's meter (a no-op one unless Deno's OpenTelemetry is on). */
export function likesMeter(): Meter {
  return metrics.getMeter(SCOPE);
}

/**
 * Bucket bounds of every duration histogram, in ms: from 50 µs (a reply from memory) to 10 s
 * (a query at its deadline).
 */
export const MS_BUCKETS = [
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  25,
  50,
  100,
  250,
  500,
  1000,
  2500,
  5000,
  10000,
];

/** A histogram of durations in ms, with {@linkcode MS_BUCKETS}. */
export function msHistogram(name: string, description: string): Histogram {
  return likesMeter().createHistogram(name, {
    description,
    unit: "ms",
    advice: { explicitBucketBoundaries: MS_BUCKETS },
  });
}

/** The suite's tracer (a non-recording one unless Deno's OpenTelemetry is on). */
export function likesTracer(): Tracer {
  return trace.getTracer(SCOPE);
}

/**
 * True when this process exports telemetry (`OTEL_DENO=true`): then, and only then, the
 * instruments record anything.
 *
 * @example
 * ```ts
 * import { telemetryEnabled } from "./otel.ts";
 * import assert from "node:assert/strict";
 * assert.equal(typeof telemetryEnabled(), "boolean");
 * ```
 */
export function telemetryEnabled(): boolean {
  return !(likesMeter() instanceof NOOP_METER);
}
