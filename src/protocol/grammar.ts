/**
 * The wire grammar shared by every side: parse and format requests and replies.
 * No I/O here; framing (bytes → frames) lives in `framing.ts`.
 *
 * Requests (one per frame, fields separated by one or more spaces or tabs):
 * - classic: `LikesServer<N> <likes>`
 * - keyed:   `LIKE <client> <seq> <likes>`
 * - query:   `STATS` (totals and the clients with the most likes) or `STATS <client>…` (those
 *   clients only)
 *
 * @module
 */

/** The seed exercise's largest number of likes in one message. */
export const DEFAULT_MAX_LIKES = 42;
/** The PrimaryLikesServer's well-known TCP port (the seed exercise's). */
export const DEFAULT_LIKES_PORT = 4242;
/** Longest client id a keyed message may carry. */
export const MAX_CLIENT_ID_LENGTH = 64;
/** Largest sequence number (the largest integer a JSON number holds exactly). */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/** The two request forms a LikesServer can send: `keyed` (exactly once) and `classic`. */
export const PROTOCOLS = ["keyed", "classic"] as const;
/** One of {@linkcode PROTOCOLS}. */
export type Protocol = typeof PROTOCOLS[number];

/** One connection for every message, or a new one for each (as the seed's clients do). */
export const CONNECTION_PATTERNS = ["per-message", "persistent"] as const;
/** One of {@linkcode CONNECTION_PATTERNS}. */
export type ConnectionPattern = typeof CONNECTION_PATTERNS[number];

/** A classic message: `LikesServer<N> <likes>`; it has no key, so a retry counts again. */
export interface ClassicRequest {
  readonly kind: "classic";
  /** Canonical name, `LikesServer<N>` with N without leading zeros. */
  readonly client: string;
  readonly likes: number;
}

/** A keyed message: `LIKE <client> <seq> <likes>`; a repeated (client, seq) is counted once. */
export interface KeyedRequest {
  readonly kind: "keyed";
  readonly client: string;
  readonly seq: number;
  readonly likes: number;
}

/** The `STATS` query: all totals, plus the clients named (none: the top clients). */
export interface StatsRequest {
  readonly kind: "stats";
  /** Client ids (or `LikesServer<N>` names) to report; empty for the top clients. */
  readonly clients: readonly string[];
}

/** Any request a server accepts. */
export type Request = ClassicRequest | KeyedRequest | StatsRequest;

/** Options for {@linkcode parseRequest}. */
export interface ParseOptions {
  /** Largest number of likes one message may carry. @default {42} */
  readonly maxLikes?: number;
}

/** A frame that is not a valid request; `reason` is what the `ERR` reply says. */
export class ProtocolError extends SyntaxError {
  /** The offending input (already a printable preview). */
  readonly input: string;
  /** Creates the error; `reason` becomes the message. */
  constructor(reason: string, input: string, options?: ErrorOptions) {
    super(reason, options);
    this.name = "ProtocolError";
    this.input = input;
  }
}

const CLASSIC_NAME = /^LikesServer(\d{1,9})$/;
const CLIENT_ID = /^[A-Za-z0-9._:@-]+$/;
const DIGITS = /^\d+$/;
const FIELD_SEPARATOR = /[ \t]+/;
const CLASSIC_FORM = `"LikesServer<N> <likes>"`;
const KEYED_FORM = `"LIKE <client> <seq> <likes>"`;

/**
 * Returns a short, printable, quoted preview of some input for error replies and logs.
 *
 * @example Control characters are escaped
 * ```ts
 * import { preview } from "./grammar.ts";
 * import assert from "node:assert/strict";
 * assert.equal(preview("a\u0001b"), '"a\\u0001b"');
 * ```
 */
export function preview(text: string, maxChars = 40): string {
  const cut = text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
  return JSON.stringify(cut);
}

/**
 * Decodes a frame's bytes into text if every byte is printable ASCII, a space, a tab or a CR.
 *
 * @throws {ProtocolError} If the frame holds any other byte (binary data or non-ASCII text).
 */
export function decodeFrame(bytes: Uint8Array): string {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if ((b < 0x20 && b !== 0x09 && b !== 0x0d) || b > 0x7e) {
      const shown = Array.from(bytes.subarray(0, 16), (x) => x.toString(16).padStart(2, "0"));
      throw new ProtocolError(
        `binary data: byte 0x${
          b.toString(16).padStart(2, "0")
        } at offset ${i}; only printable ASCII is allowed`,
        `0x${shown.join("")}${bytes.length > 16 ? "…" : ""}`,
      );
    }
  }
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/**
 * Parses one frame's text into a request.
 *
 * @throws {ProtocolError} If the text is not a valid request; the message is the reason.
 *
 * @example Classic and keyed messages
 * ```ts
 * import { parseRequest } from "./grammar.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseRequest("LikesServer3   14"), { kind: "classic", client: "LikesServer3", likes: 14 });
 * assert.deepEqual(parseRequest("LIKE edge-7 5 2"), { kind: "keyed", client: "edge-7", seq: 5, likes: 2 });
 * ```
 */
export function parseRequest(text: string, options: ParseOptions = {}): Request {
  const { maxLikes = DEFAULT_MAX_LIKES } = options;
  const trimmed = text.replace(/^[ \t\r]+|[ \t\r]+$/g, "");
  if (trimmed === "") throw new ProtocolError("empty message", preview(text));
  const fields = trimmed.split(FIELD_SEPARATOR);
  const head = fields[0]!;
  if (head.toUpperCase() === "STATS") {
    const clients = fields.slice(1);
    for (const client of clients) checkClientId(client, trimmed);
    return { kind: "stats", clients };
  }
  if (head === "LIKE") return parseKeyed(fields, trimmed, maxLikes);
  if (head.startsWith("LikesServer")) return parseClassic(fields, trimmed, maxLikes);
  throw new ProtocolError(
    `unknown message ${preview(head, 20)}: expected ${CLASSIC_FORM}, ${KEYED_FORM} or "STATS"`,
    preview(trimmed),
  );
}

function parseClassic(fields: string[], text: string, maxLikes: number): ClassicRequest {
  const name = CLASSIC_NAME.exec(fields[0]!);
  if (!name) {
    throw new ProtocolError(
      `bad name ${preview(fields[0]!, 24)}: expected LikesServer<N> with N a number`,
      preview(text),
    );
  }
  if (fields.length < 2) {
    throw new ProtocolError(`missing likes: expected ${CLASSIC_FORM}`, preview(text));
  }
  if (fields.length > 2) {
    throw new ProtocolError(`too many fields: expected ${CLASSIC_FORM}`, preview(text));
  }
  const likes = parseLikes(fields[1]!, text, maxLikes);
  return { kind: "classic", client: `LikesServer${Number(name[1])}`, likes };
}

function parseKeyed(fields: string[], text: string, maxLikes: number): KeyedRequest {
  if (fields.length !== 4) {
    throw new ProtocolError(
      `${fields.length < 4 ? "missing" : "too many"} fields: expected ${KEYED_FORM}`,
      preview(text),
    );
  }
  const client = fields[1]!;
  checkClientId(client, text);
  const seqText = fields[2]!;
  const seq = DIGITS.test(seqText) && seqText.length <= 16 ? Number(seqText) : NaN;
  if (!(seq >= 1 && seq <= MAX_SEQ)) {
    throw new ProtocolError(
      `bad seq ${preview(seqText, 24)}: expected an integer from 1 to ${MAX_SEQ}`,
      preview(text),
    );
  }
  const likes = parseLikes(fields[3]!, text, maxLikes);
  return { kind: "keyed", client, seq, likes };
}

function checkClientId(client: string, text: string): void {
  if (client.length > MAX_CLIENT_ID_LENGTH || !CLIENT_ID.test(client)) {
    throw new ProtocolError(
      `bad client id ${
        preview(client, 24)
      }: 1 to ${MAX_CLIENT_ID_LENGTH} characters of A-Z a-z 0-9 . _ : @ -`,
      preview(text),
    );
  }
}

function parseLikes(token: string, text: string, maxLikes: number): number {
  if (DIGITS.test(token)) {
    const likes = token.length <= 10 ? Number(token) : Infinity;
    if (likes > maxLikes) {
      throw new ProtocolError(
        `likes ${preview(token, 24)} above max ${maxLikes}: expected 0 to ${maxLikes}`,
        preview(text),
      );
    }
    return likes;
  }
  if (/^-\d+$/.test(token)) {
    throw new ProtocolError(
      `negative likes ${preview(token, 24)}: expected 0 to ${maxLikes}`,
      preview(text),
    );
  }
  throw new ProtocolError(
    `likes ${preview(token, 24)} not a whole number: expected digits, 0 to ${maxLikes}`,
    preview(text),
  );
}

/**
 * Formats a classic message (without terminator).
 *
 * @example
 * ```ts
 * import { formatClassic } from "./grammar.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatClassic(3, 14), "LikesServer3 14");
 * ```
 */
export function formatClassic(id: number, likes: number): string {
  return `LikesServer${id} ${likes}`;
}

/** Formats a keyed message (without terminator): `LIKE <client> <seq> <likes>`. */
export function formatKeyed(client: string, seq: number, likes: number): string {
  return `LIKE ${client} ${seq} ${likes}`;
}

/** What a server tells a keyed client about its message. */
export interface KeyedAck {
  /** The acknowledged sequence number. */
  readonly seq: number;
  /** Likes counted for this client so far. */
  readonly client: number;
  /** Likes counted for everyone so far. */
  readonly total: number;
  /** True when this (client, seq) had been counted before and was not counted again. */
  readonly duplicate: boolean;
}

/** The reply to an accepted classic message: exactly `ACK`, as classic clients compare it byte for byte. */
export const CLASSIC_ACK = "ACK";

/**
 * Formats the reply to an accepted keyed message.
 *
 * @example
 * ```ts
 * import { formatKeyedAck } from "./grammar.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatKeyedAck({ seq: 7, client: 120, total: 5000, duplicate: true }), "ACK seq=7 client=120 total=5000 dup");
 * ```
 */
export function formatKeyedAck(ack: KeyedAck): string {
  return `ACK seq=${ack.seq} client=${ack.client} total=${ack.total}${ack.duplicate ? " dup" : ""}`;
}

/**
 * The reason of the one `ERR` reply that does not mean "nothing was counted": the store (Redis)
 * was asked, but its answer was lost, so the message may have been counted (an indefinite error).
 * A keyed message may be sent again (counted once); a classic one should not be.
 */
export const OUTCOME_UNKNOWN = "store unknown";

/**
 * True for a reply that says the message may have been counted (`ERR store unknown…`).
 *
 * @example
 * ```ts
 * import { isOutcomeUnknown } from "./grammar.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isOutcomeUnknown("ERR store unknown: the answer was lost"), true);
 * assert.equal(isOutcomeUnknown("ERR store unavailable"), false);
 * ```
 */
export function isOutcomeUnknown(reply: string): boolean {
  return reply.startsWith(`ERR ${OUTCOME_UNKNOWN}`);
}

/** Formats an error reply: `ERR <reason>` on one line. */
export function formatError(reason: string): string {
  return `ERR ${reason.replace(/[\r\n\0]+/g, " ")}`;
}

/** A reply as a client sees it. */
export type Reply =
  | { readonly ok: true; readonly ack: KeyedAck | null }
  | { readonly ok: false; readonly reason: string };

const KEYED_ACK = /^ACK seq=(\d+) client=(\d+) total=(\d+)( dup)?$/;

/**
 * Parses a reply line (without terminator): `ACK`, a keyed ACK, or `ERR <reason>`.
 *
 * @throws {ProtocolError} If the line is neither.
 */
export function parseReply(line: string): Reply {
  const text = line.replace(/[\r\n\0]+$/, "");
  if (text === CLASSIC_ACK) return { ok: true, ack: null };
  const keyed = KEYED_ACK.exec(text);
  if (keyed) {
    return {
      ok: true,
      ack: {
        seq: Number(keyed[1]),
        client: Number(keyed[2]),
        total: Number(keyed[3]),
        duplicate: keyed[4] !== undefined,
      },
    };
  }
  if (text.startsWith("ERR")) return { ok: false, reason: text.slice(3).trim() };
  throw new ProtocolError("unexpected reply: expected ACK or ERR", preview(text));
}
