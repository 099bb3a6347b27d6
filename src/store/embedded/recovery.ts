/**
 * Recovery: rebuild the counting state from the newest valid snapshot plus the journal segments
 * after it, by the rule the live server applies.
 *
 * - A keyed record counts only if its seq is the client's last one plus 1 (a record after a gap
 *   is not counted: the message it follows never became durable, so neither was it acknowledged).
 * - The last segment may end in a tail that was written but not flushed when the server died; a
 *   power loss can leave it partly on disk and out of order. So its first torn or corrupt record
 *   is the end of the log: it and everything after it are discarded, and the file is cut there —
 *   unless a flush marker after it names a later flush than the one that covered it
 *   ({@linkcode laterFlush}): then the record had been flushed, and a damaged flushed record is
 *   corruption, handled as in an older segment.
 * - An older segment was flushed completely before the next one began, so a corrupt record there
 *   is damage, not a crash: recovery refuses to start unless told to `repair`, which skips such
 *   records (their likes are lost) and accepts the sequence gaps they leave.
 *
 * @module
 */

import { DataDirError, listDataFiles, segmentName, snapshotName } from "./data_dir.ts";
import {
  decodeFlushMarker,
  decodeRecord,
  type JournalRecord,
  RECORD_BYTES,
  recordTime,
} from "./journal_record.ts";
import { type ClientState, parseSnapshot } from "./snapshot.ts";

/** The state recovered from a data directory. */
export interface Recovered {
  /** Client name → state. */
  readonly clients: Map<string, ClientState>;
  /** Likes counted for everyone (expired clients' likes included). */
  total: number;
  /** Records applied since the data directory was created. */
  records: number;
  /** The snapshot used, if any. */
  readonly snapshot: number | null;
  /** Journal records replayed after the snapshot. */
  replayed: number;
  /** Segments replayed. */
  readonly segments: number[];
  /** What was wrong and skipped, one human line each. */
  readonly problems: string[];
  /** The number the next journal segment gets. */
  readonly nextSegment: number;
}

/** Options for {@linkcode recover}. */
export interface RecoverOptions {
  /**
   * Skip corrupt records in older segments (and accept the sequence gaps they leave) instead of
   * refusing to start. @default {false}
   */
  readonly repair?: boolean;
  /** Clock, for clients of old snapshots that did not record when they were last seen. */
  readonly now?: number;
}

/** What {@linkcode applyRecord} did with a record. */
export type Applied = "counted" | "duplicate" | "gap" | "expired";

/**
 * Applies one journal record to `state` by the rule the live server uses, so that replay is exact:
 * a keyed record counts once, and only as its client's next seq; classic ones always count; an
 * `expire` record forgets the client (its likes stay in the total). With `acceptGaps` (repair),
 * a keyed record after a gap is counted too.
 *
 * @param time When the record was written (ms since the epoch): its client's last-seen time.
 * @returns What it did; a `gap` record was not counted.
 */
export function applyRecord(
  state: { clients: Map<string, ClientState>; total: number },
  record: JournalRecord,
  time = 0,
  acceptGaps = false,
): Applied {
  if (record.kind === "expire") {
    state.clients.delete(record.name);
    return "expired";
  }
  let client = state.clients.get(record.name);
  if (!client) {
    client = { count: 0, lastSeq: 0, lastLikes: 0, lastSeen: time };
    state.clients.set(record.name, client);
  }
  if (record.kind === "keyed") {
    if (record.seq <= client.lastSeq) return "duplicate";
    if (record.seq !== client.lastSeq + 1 && !acceptGaps) {
      if (client.lastSeq === 0 && client.count === 0) state.clients.delete(record.name);
      return "gap";
    }
    client.lastSeq = record.seq;
    client.lastLikes = record.likes;
  }
  client.count += record.likes;
  client.lastSeen = Math.max(client.lastSeen, time);
  state.total += record.likes;
  return "counted";
}

/**
 * Reads a data directory (already locked by the caller); cuts a torn tail off the last segment.
 *
 * @throws {DataDirError} If snapshots exist but none is readable, so counts would be lost; or if
 *   an older segment holds a corrupt record and `repair` is not set.
 */
export async function recover(dir: string, options: RecoverOptions = {}): Promise<Recovered> {
  const { repair = false, now = Date.now() } = options;
  const { segments, snapshots } = await listDataFiles(dir);
  const problems: string[] = [];
  const state: Recovered = {
    clients: new Map(),
    total: 0,
    records: 0,
    snapshot: null,
    replayed: 0,
    segments: [],
    problems,
    nextSegment: 1,
  };
  let from = 0;
  let snapshot: number | null = null;
  for (const n of [...snapshots].reverse()) {
    const data = parseSnapshot(await Deno.readTextFile(`${dir}/${snapshotName(n)}`), now);
    if (data && data.segment === n) {
      for (const [name, client] of data.clients) state.clients.set(name, { ...client });
      state.total = data.total;
      state.records = data.records;
      snapshot = n;
      from = n;
      break;
    }
    problems.push(`snapshot ${snapshotName(n)} is damaged; trying an older one`);
  }
  if (snapshot === null && snapshots.length > 0 && segments[0] !== 1) {
    throw new DataDirError(
      `Cannot recover ${dir}: every snapshot is damaged and the journal no longer starts at segment 1; refusing to start with lost counts`,
    );
  }
  const replay = segments.filter((n) => n >= from);
  const gaps = new Map<string, number>();
  for (const n of replay) {
    const path = `${dir}/${segmentName(n)}`;
    const last = n === replay[replay.length - 1];
    const bytes = await Deno.readFile(path);
    let end = bytes.length; // where the log ends in this segment
    for (let offset = 0; offset < bytes.length; offset += RECORD_BYTES) {
      const whole = offset + RECORD_BYTES <= bytes.length;
      const record = whole ? decodeRecord(bytes.subarray(offset, offset + RECORD_BYTES)) : null;
      if (!record && whole && decodeFlushMarker(bytes.subarray(offset, offset + RECORD_BYTES))) {
        continue; // a flush marker: it only says which flush covered the records before it
      }
      if (record) {
        const time = recordTime(bytes.subarray(offset, offset + RECORD_BYTES));
        const applied = applyRecord(state, record, time, repair);
        if (applied === "gap") gaps.set(record.name, (gaps.get(record.name) ?? 0) + 1);
        state.records++;
        state.replayed++;
        continue;
      }
      const what = whole
        ? `a record that fails its checksum at byte ${offset}`
        : `a torn record of ${bytes.length - offset} bytes at byte ${offset}`;
      const flushed = last && whole ? laterFlush(bytes, offset) : null;
      if (last && flushed === null) {
        end = offset;
        problems.push(
          `${segmentName(n)}: ${what}; the log ends there (an unsynced tail): ${
            bytes.length - offset
          } bytes discarded`,
        );
        break;
      }
      if (flushed) {
        if (!repair) {
          throw new DataDirError(
            `Cannot recover ${dir}: ${
              segmentName(n)
            } holds ${what}, and flush ${flushed.later} was written after the flush (${flushed.covering} or earlier) that covered it: it was flushed, so this is damage, not a torn tail; start with --repair to skip that record (its likes are lost) and keep the ${flushed.recordsAfter} record(s) after it`,
          );
        }
        problems.push(
          `${
            segmentName(n)
          }: ${what}, in a flushed part of the segment, skipped (--repair); its likes are lost`,
        );
        continue;
      }
      if (!repair) {
        throw new DataDirError(
          `Cannot recover ${dir}: ${
            segmentName(n)
          } holds ${what}, in a segment that was fully flushed (damage, not a crash); start with --repair to skip it and lose its likes`,
        );
      }
      problems.push(`${segmentName(n)}: ${what} skipped (--repair); its likes are lost`);
    }
    if (end < bytes.length) await cutAt(path, end);
    // What survived of an unflushed tail (a kill -9 keeps it in the page cache) is flushed now:
    // the next segment will follow this one, and only the newest may end unflushed.
    else if (last) await flush(path);
    state.segments.push(n);
  }
  for (const [name, count] of gaps) {
    problems.push(
      `client ${JSON.stringify(name)}: ${count} keyed record(s) after a missing seq not counted`,
    );
  }
  const lastFile = Math.max(0, snapshot ?? 0, ...segments);
  return { ...state, snapshot, nextSegment: lastFile + 1 };
}

/** What {@linkcode laterFlush} found after a bad slot. */
export interface LaterFlush {
  /** The flush that covered the bad slot, or a later one (the first marker after it). */
  readonly covering: number;
  /** A flush written after that one, by a marker further on. */
  readonly later: number;
  /** Valid records after the bad slot (what `--repair` keeps). */
  readonly recordsAfter: number;
}

/**
 * Whether the bad slot at `offset` of a segment had been flushed: it had when a valid flush
 * marker after it names a later flush than the first marker after it (which names the flush that
 * covered the slot, or a later one). The writer starts a batch of a later flush only once the
 * flush before it returned, so such a marker proves the slot was on disk: damage, not a torn
 * tail. Returns `null` when nothing proves it (the slot may be part of an unflushed tail, which
 * can be torn or partly written in any order).
 *
 * @example
 * ```ts
 * import { encodeFlushMarker, encodeRecord, RECORD_BYTES } from "./journal_record.ts";
 * import { laterFlush } from "./recovery.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array(5 * RECORD_BYTES);
 * const view = new DataView(bytes.buffer);
 * const record = (at: number, seq: number) =>
 *   encodeRecord(bytes, view, at * RECORD_BYTES, { kind: "keyed", name: "c", seq, likes: 1 }, 0, 0);
 * record(0, 1); // slot 0 will be damaged
 * encodeFlushMarker(bytes, view, 1 * RECORD_BYTES, { flush: 1, records: 1 }, 0);
 * record(2, 2);
 * encodeFlushMarker(bytes, view, 3 * RECORD_BYTES, { flush: 2, records: 1 }, 0);
 * bytes[10]! ^= 1;
 * assert.deepEqual(laterFlush(bytes, 0), { covering: 1, later: 2, recordsAfter: 1 });
 * assert.equal(laterFlush(bytes, 2 * RECORD_BYTES), null, "nothing after flush 2 proves it");
 * ```
 */
export function laterFlush(bytes: Uint8Array, offset: number): LaterFlush | null {
  let covering: number | undefined;
  let later: number | undefined;
  let recordsAfter = 0;
  for (let at = offset + RECORD_BYTES; at + RECORD_BYTES <= bytes.length; at += RECORD_BYTES) {
    const slot = bytes.subarray(at, at + RECORD_BYTES);
    const marker = decodeFlushMarker(slot);
    if (marker) {
      covering ??= marker.flush;
      if (later === undefined && marker.flush > covering) later = marker.flush;
    } else if (decodeRecord(slot)) {
      recordsAfter++;
    }
  }
  return covering === undefined || later === undefined ? null : { covering, later, recordsAfter };
}

/** Flushes a segment's data to disk. */
async function flush(path: string): Promise<void> {
  using file = await Deno.open(path, { read: true });
  await file.syncData();
}

/** Cuts a segment at `length` bytes and flushes that, so the discarded tail cannot come back. */
async function cutAt(path: string, length: number): Promise<void> {
  using file = await Deno.open(path, { read: true, write: true });
  await file.truncate(length);
  await file.syncData();
}
