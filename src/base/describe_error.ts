/**
 * The one way a failure is put into words for a log line, a reply or a report.
 *
 * @module
 */

/** Which part of an error {@linkcode describeError} names. */
export type ErrorPart = "name: message" | "message" | "name";

/**
 * `error` in words: by default its name and message (`TimedOut: connection timed out`); only
 * the message, or only the name (for a log line that must stay short). A thrown non-Error is
 * written as it is.
 *
 * @example
 * ```ts
 * import { describeError } from "./describe_error.ts";
 * import assert from "node:assert/strict";
 * const error = new RangeError("too big");
 * assert.equal(describeError(error), "RangeError: too big");
 * assert.equal(describeError(error, "message"), "too big");
 * assert.equal(describeError(error, "name"), "RangeError");
 * assert.equal(describeError("plain"), "plain");
 * ```
 */
export function describeError(error: unknown, part: ErrorPart = "name: message"): string {
  if (!(error instanceof Error)) return String(error);
  return part === "name"
    ? error.name
    : part === "message"
    ? error.message
    : `${error.name}: ${error.message}`;
}
