/**
 * A byte-level fast path for the requests a busy server sees most: a valid classic or keyed
 * message, parsed straight from the frame's bytes without building intermediate strings. It
 * accepts exactly what {@linkcode parseRequest} accepts for those forms and returns the same
 * request; for anything else (including every invalid input) it returns `null`, and the caller
 * runs `parseRequest`, which also explains what is wrong.
 *
 * @module
 */

import { CR, isBlank, isDigit, ZERO } from "./ascii.ts";
import {
  type ClassicRequest,
  type KeyedRequest,
  MAX_CLIENT_ID_LENGTH,
  MAX_SEQ,
} from "./grammar.ts";

const CLASSIC = new TextEncoder().encode("LikesServer");
const LIKE = new TextEncoder().encode("LIKE");

/** `[A-Za-z0-9._:@-]`, the characters of a client id. */
const ID_CHAR = new Uint8Array(256);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@-") {
  ID_CHAR[c.charCodeAt(0)] = 1;
}

const classicNames: string[] = [];

/** `LikesServer<n>`, cached for small n (the names repeat on every message). */
function classicName(n: number): string {
  if (n >= 65536) return `LikesServer${n}`;
  return (classicNames[n] ??= `LikesServer${n}`);
}

/**
 * Parses a valid classic or keyed message from `bytes`, or returns `null`.
 *
 * @example
 * ```ts
 * import { parseFast } from "./fast_parse.ts";
 * import assert from "node:assert/strict";
 * const bytes = (s: string) => new TextEncoder().encode(s);
 * assert.deepEqual(parseFast(bytes("LikesServer3  14"), 42), { kind: "classic", client: "LikesServer3", likes: 14 });
 * assert.equal(parseFast(bytes("LikesServer3 43"), 42), null); // the full parser explains why
 * ```
 */
export function parseFast(
  bytes: Uint8Array,
  maxLikes: number,
): ClassicRequest | KeyedRequest | null {
  let start = 0;
  let end = bytes.length;
  while (start < end && (isBlank(bytes[start]!) || bytes[start] === CR)) start++;
  while (end > start && (isBlank(bytes[end - 1]!) || bytes[end - 1] === CR)) end--;
  if (end - start < 4) return null;
  if (startsWith(bytes, start, end, CLASSIC)) {
    return classic(bytes, start + CLASSIC.length, end, maxLikes);
  }
  if (startsWith(bytes, start, end, LIKE) && isBlank(bytes[start + LIKE.length]!)) {
    return keyed(bytes, start + LIKE.length, end, maxLikes);
  }
  return null;
}

function startsWith(bytes: Uint8Array, start: number, end: number, prefix: Uint8Array): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[start + i] !== prefix[i]) return false;
  return true;
}

/** Reads digits at `at`; returns [value, next index] or null if there are none or too many. */
function digits(
  bytes: Uint8Array,
  at: number,
  end: number,
  maxDigits: number,
): [number, number] | null {
  let value = 0;
  let i = at;
  while (i < end && isDigit(bytes[i]!)) {
    if (i - at === maxDigits) return null;
    value = value * 10 + (bytes[i]! - ZERO);
    i++;
  }
  return i === at ? null : [value, i];
}

function skipBlanks(bytes: Uint8Array, at: number, end: number): number {
  while (at < end && isBlank(bytes[at]!)) at++;
  return at;
}

function classic(
  bytes: Uint8Array,
  at: number,
  end: number,
  maxLikes: number,
): ClassicRequest | null {
  const name = digits(bytes, at, end, 9);
  if (!name) return null;
  const afterName = name[1];
  const likesAt = skipBlanks(bytes, afterName, end);
  if (likesAt === afterName) return null;
  const likes = digits(bytes, likesAt, end, 10);
  if (!likes || likes[1] !== end || likes[0] > maxLikes) return null;
  return { kind: "classic", client: classicName(name[0]), likes: likes[0] };
}

function keyed(bytes: Uint8Array, at: number, end: number, maxLikes: number): KeyedRequest | null {
  const idAt = skipBlanks(bytes, at, end);
  let idEnd = idAt;
  while (idEnd < end && ID_CHAR[bytes[idEnd]!] === 1) idEnd++;
  const idLength = idEnd - idAt;
  if (idLength === 0 || idLength > MAX_CLIENT_ID_LENGTH) return null;
  const seqAt = skipBlanks(bytes, idEnd, end);
  if (seqAt === idEnd) return null;
  const seq = digits(bytes, seqAt, end, 16);
  if (!seq || seq[0] < 1 || seq[0] > MAX_SEQ) return null;
  const likesAt = skipBlanks(bytes, seq[1], end);
  if (likesAt === seq[1]) return null;
  const likes = digits(bytes, likesAt, end, 10);
  if (!likes || likes[1] !== end || likes[0] > maxLikes) return null;
  const client = String.fromCharCode.apply(
    null,
    bytes.subarray(idAt, idEnd) as unknown as number[],
  );
  return { kind: "keyed", client, seq: seq[0], likes: likes[0] };
}
