/**
 * The journal's on-disk record: fixed 96 bytes, little-endian, with a CRC-32 over the rest, so a
 * torn tail (a crash mid-write) or a flipped byte is detected record by record. Pure: encode into
 * and decode from byte views.
 *
 * ```
 * offset size field
 *      0    4 crc32 of bytes 4..95
 *      4    1 kind: 1 classic, 2 keyed, 3 expire (the client's state was forgotten)
 *      5    1 name length (1..64)
 *      6    2 reserved (0)
 *      8    4 likes
 *     12    4 table slot (in-memory hint; ignored when reading back)
 *     16    8 seq (keyed; 0 for classic), float64
 *     24   64 client name, ASCII, zero-padded
 *     88    8 time written (ms since the epoch), float64
 * ```
 *
 * After each batch it writes, the journal writer appends a **flush marker** of the same size:
 * kind 4, name length 0, `likes` = how many records the batch holds (just before the marker),
 * `seq` = the batch's flush number (1, 2, … within a segment: the flush that will make it durable;
 * batches written while one flush is pending share its number). A marker whose flush number is
 * higher than a record's was written only after that record's flush had returned, so recovery can
 * tell a damaged flushed record (a later flush follows it) from a torn unflushed tail.
 *
 * @module
 */

import { crc32 } from "./crc32.ts";

/** Size of one record in bytes. */
export const RECORD_BYTES = 96;
/** Longest client name a record holds. */
export const RECORD_NAME_BYTES = 64;

/** Record kinds (and the flush marker's). */
export const KIND = { classic: 1, keyed: 2, expire: 3, flush: 4 } as const;

/**
 * One journaled event: a counted message (`classic`, `keyed`), or a client whose state was
 * forgotten after its time-to-live (`expire`, with seq and likes 0).
 */
export interface JournalRecord {
  readonly kind: "classic" | "keyed" | "expire";
  readonly name: string;
  /** The keyed sequence number (0 for classic). */
  readonly seq: number;
  readonly likes: number;
}

/**
 * Writes `record` at `offset` of `bytes` (the CRC last); `view` is a DataView over the same memory
 * as `bytes`. Allocates nothing, because it runs once for every message a server counts.
 *
 * @example Round trip
 * ```ts
 * import { decodeRecord, encodeRecord, RECORD_BYTES } from "./journal_record.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array(RECORD_BYTES);
 * encodeRecord(bytes, new DataView(bytes.buffer), 0, { kind: "keyed", name: "c1", seq: 7, likes: 3 }, 5, 0);
 * assert.deepEqual(decodeRecord(bytes), { kind: "keyed", name: "c1", seq: 7, likes: 3 });
 * ```
 */
export function encodeRecord(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  record: JournalRecord,
  slot: number,
  time: number,
): void {
  const { name } = record;
  bytes[offset + 4] = KIND[record.kind];
  bytes[offset + 5] = name.length;
  bytes[offset + 6] = 0;
  bytes[offset + 7] = 0;
  view.setUint32(offset + 8, record.likes, true);
  view.setUint32(offset + 12, slot, true);
  view.setFloat64(offset + 16, record.seq, true);
  const at = offset + 24;
  for (let i = 0; i < name.length; i++) bytes[at + i] = name.charCodeAt(i) & 0x7f;
  bytes.fill(0, at + name.length, at + RECORD_NAME_BYTES);
  view.setFloat64(offset + 88, time, true);
  view.setUint32(offset, crc32(bytes, offset + 4, offset + RECORD_BYTES), true);
}

/** When an encoded record was written (ms since the epoch): when its client was last seen. */
export function recordTime(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, RECORD_BYTES).getFloat64(88, true);
}

/** The table slot hint of an encoded record (for the writer's shadow state). */
export function recordSlot(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, RECORD_BYTES).getUint32(12, true);
}

/**
 * Reads one record; returns `null` if its checksum or fields are wrong.
 *
 * @throws {RangeError} If `bytes` is shorter than a record.
 */
export function decodeRecord(bytes: Uint8Array): JournalRecord | null {
  if (bytes.length < RECORD_BYTES) {
    throw new RangeError(`Cannot decode a record from ${bytes.length} bytes: need ${RECORD_BYTES}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, RECORD_BYTES);
  if (view.getUint32(0, true) !== crc32(bytes, 4, RECORD_BYTES)) return null;
  const kind = view.getUint8(4);
  const length = view.getUint8(5);
  const seq = view.getFloat64(16, true);
  const kinds = ["classic", "keyed", "expire"] as const;
  const named = kinds[kind - 1];
  if (named === undefined || length < 1 || length > RECORD_NAME_BYTES) return null;
  if (!Number.isSafeInteger(seq) || seq < 0) return null;
  const name = String.fromCharCode(...bytes.subarray(24, 24 + length));
  return { kind: named, name, seq, likes: view.getUint32(8, true) };
}

/** A flush marker: which flush covers the batch of `records` records just before it. */
export interface FlushMarker {
  /** The flush number, from 1 within a segment. */
  readonly flush: number;
  /** How many records the batch holds. */
  readonly records: number;
}

/**
 * Writes a flush marker at `offset` of `bytes` (see the module documentation).
 *
 * @example Round trip
 * ```ts
 * import { decodeFlushMarker, decodeRecord, encodeFlushMarker, RECORD_BYTES } from "./journal_record.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array(RECORD_BYTES);
 * encodeFlushMarker(bytes, new DataView(bytes.buffer), 0, { flush: 3, records: 12 }, 0);
 * assert.deepEqual(decodeFlushMarker(bytes), { flush: 3, records: 12 });
 * assert.equal(decodeRecord(bytes), null, "a marker is no record");
 * ```
 */
export function encodeFlushMarker(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  marker: FlushMarker,
  time: number,
): void {
  bytes.fill(0, offset + 4, offset + RECORD_BYTES);
  bytes[offset + 4] = KIND.flush;
  view.setUint32(offset + 8, marker.records, true);
  view.setFloat64(offset + 16, marker.flush, true);
  view.setFloat64(offset + 88, time, true);
  view.setUint32(offset, crc32(bytes, offset + 4, offset + RECORD_BYTES), true);
}

/**
 * Reads a flush marker; returns `null` if `bytes` holds none (a record, damage, zeros).
 *
 * @throws {RangeError} If `bytes` is shorter than a record.
 */
export function decodeFlushMarker(bytes: Uint8Array): FlushMarker | null {
  if (bytes.length < RECORD_BYTES) {
    throw new RangeError(`Cannot decode a marker from ${bytes.length} bytes: need ${RECORD_BYTES}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, RECORD_BYTES);
  if (view.getUint8(4) !== KIND.flush || view.getUint8(5) !== 0) return null;
  if (view.getUint32(0, true) !== crc32(bytes, 4, RECORD_BYTES)) return null;
  const flush = view.getFloat64(16, true);
  if (!Number.isSafeInteger(flush) || flush < 1) return null;
  return { flush, records: view.getUint32(8, true) };
}
