/**
 * W3C trace context (`traceparent`) as it travels in the node protocol: formatted from a span's
 * context, parsed from a message, and made up when the caller records no span of its own, so a
 * query always carries one trace id from the client across every node. Pure.
 *
 * @module
 */

import { type SpanContext, TraceFlags } from "@opentelemetry/api";

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/**
 * A span context as a `traceparent` value, or `undefined` for an invalid one (the all-zero ids
 * of a span that records nothing and has no parent).
 *
 * @example
 * ```ts
 * import { formatTraceparent } from "./trace_context.ts";
 * import assert from "node:assert/strict";
 * const context = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: 1 };
 * assert.equal(formatTraceparent(context), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
 * ```
 */
export function formatTraceparent(context: SpanContext): string | undefined {
  if (!isValid(context.traceId, context.spanId)) return undefined;
  const flags = (context.traceFlags & 0xff).toString(16).padStart(2, "0");
  return `00-${context.traceId}-${context.spanId}-${flags}`;
}

/**
 * Reads a `traceparent` value from a message: the remote span context it names, or `null`
 * when it is missing or malformed (the query is then the start of a new trace).
 *
 * @example
 * ```ts
 * import { parseTraceparent } from "./trace_context.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?.spanId, "00f067aa0ba902b7");
 * assert.equal(parseTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"), null);
 * assert.equal(parseTraceparent(42), null);
 * ```
 */
export function parseTraceparent(value: unknown): SpanContext | null {
  if (typeof value !== "string") return null;
  const match = TRACEPARENT.exec(value);
  if (!match || !isValid(match[1]!, match[2]!)) return null;
  return {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: parseInt(match[3]!, 16),
    isRemote: true,
  };
}

/** A new sampled span context with random ids (for a caller that records no span itself). */
export function randomSpanContext(): SpanContext {
  return {
    traceId: randomHex(16),
    spanId: randomHex(8),
    traceFlags: TraceFlags.SAMPLED,
  };
}

function isValid(traceId: string, spanId: string): boolean {
  return traceId !== ZERO_TRACE && spanId !== ZERO_SPAN;
}

function randomHex(bytes: number): string {
  const random = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
}
