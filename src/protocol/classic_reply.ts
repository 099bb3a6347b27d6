/**
 * Replies from classic servers, read the way classic clients read them. Classic servers for this
 * exercise differ in what they answer — `ACK` and close, `ACK\n`, a fixed-size buffer such as
 * `Received likes count` padded with NULs, `1`, or nothing at all — so a LikesServer that talks
 * to them takes the reply from its first read (cut at the first `\n` or NUL), and `--ack` says
 * which replies acknowledge a message. Pure: no sockets here.
 *
 * @module
 */

import { isOutcomeUnknown } from "./grammar.ts";

/**
 * What acknowledges a message from a classic server: a reply starting with `ACK` (`prefix`), any
 * reply but `ERR…` (`any`), or, for servers that never answer, delivery itself (`none`: the
 * message was written and the server closed, or stayed silent, without resetting).
 */
export const ACK_MODES = ["prefix", "any", "none"] as const;
/** One of {@linkcode ACK_MODES}. */
export type AckMode = typeof ACK_MODES[number];

const decoder = new TextDecoder();

/**
 * The reply in the bytes of a first read: up to the first `\n` or NUL, without a trailing `\r`.
 *
 * @example
 * ```ts
 * import { classicReplyText } from "./classic_reply.ts";
 * import assert from "node:assert/strict";
 * const buffer = new Uint8Array(64);
 * buffer.set(new TextEncoder().encode("Received likes count"));
 * assert.equal(classicReplyText(buffer), "Received likes count");
 * assert.equal(classicReplyText(new TextEncoder().encode("ACK\r\nextra")), "ACK");
 * ```
 */
export function classicReplyText(bytes: Uint8Array): string {
  let end = 0;
  while (end < bytes.length && bytes[end] !== 0x0a && bytes[end] !== 0x00) end++;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  return decoder.decode(bytes.subarray(0, end));
}

/** How a classic server answered one message. */
export type ReplyVerdict =
  /** Acknowledged: the server has it. */
  | "acknowledged"
  /** `ERR…`: the server refused it and counted nothing; sending it again is safe. */
  | "rejected"
  /** Anything else: the server may or may not have counted it. */
  | "unknown";

/**
 * Judges a reply (`null`: the server closed or stayed silent without answering) by `mode`.
 *
 * @example
 * ```ts
 * import { judgeClassicReply } from "./classic_reply.ts";
 * import assert from "node:assert/strict";
 * assert.equal(judgeClassicReply("ACK", "prefix"), "acknowledged");
 * assert.equal(judgeClassicReply("1", "prefix"), "unknown");
 * assert.equal(judgeClassicReply("1", "any"), "acknowledged");
 * assert.equal(judgeClassicReply(null, "none"), "acknowledged");
 * assert.equal(judgeClassicReply("ERR likes above max", "any"), "rejected");
 * assert.equal(judgeClassicReply("ERR store unknown: it may have been counted", "any"), "unknown");
 * ```
 */
export function judgeClassicReply(reply: string | null, mode: AckMode): ReplyVerdict {
  if (reply !== null && isOutcomeUnknown(reply)) return "unknown"; // maybe counted
  if (reply?.startsWith("ERR")) return "rejected";
  switch (mode) {
    case "prefix":
      return reply?.startsWith("ACK") ? "acknowledged" : "unknown";
    case "any":
      return reply === null || reply.trim() === "" ? "unknown" : "acknowledged";
    case "none":
      return "acknowledged";
  }
}
