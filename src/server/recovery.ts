/**
 * Recovery: rebuild the counting state from the newest valid snapshot plus the journal segments
 * after it. Records are checked one by one: a torn tail (a crash mid-write) or a record with a bad
 * checksum is reported and skipped, and every complete record is kept.
 *
 * @module
 */

import { DataDirError, listDataFiles, segmentName, snapshotName } from "./data_dir.ts";
import { decodeRecord, type JournalRecord, RECORD_BYTES } from "./journal_record.ts";
import { type ClientState, parseSnapshot } from "./snapshot.ts";

/** The state recovered from a data directory. */
export interface Recovered {
  /** Client name → state. */
  readonly clients: Map<string, ClientState>;
  /** Likes counted for everyone. */
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

/**
 * Applies one journal record to `state` (the same rule the live server uses, so that replay is
 * exact): keyed records count once per (client, seq); classic ones always.
 *
 * @returns Whether it was counted.
 */
export function applyRecord(
  state: { clients: Map<string, ClientState>; total: number },
  record: JournalRecord,
): boolean {
  let client = state.clients.get(record.name);
  if (!client) {
    client = { count: 0, lastSeq: 0, lastLikes: 0 };
    state.clients.set(record.name, client);
  }
  if (record.kind === "keyed") {
    if (record.seq <= client.lastSeq) return false;
    client.lastSeq = record.seq;
    client.lastLikes = record.likes;
  }
  client.count += record.likes;
  state.total += record.likes;
  return true;
}

/**
 * Reads a data directory (already locked by the caller).
 *
 * @throws {DataDirError} If snapshots exist but none is readable, so counts would be lost.
 */
export async function recover(dir: string): Promise<Recovered> {
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
    const data = parseSnapshot(await Deno.readTextFile(`${dir}/${snapshotName(n)}`));
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
  for (const n of replay) {
    const bytes = await Deno.readFile(`${dir}/${segmentName(n)}`);
    const whole = bytes.length - (bytes.length % RECORD_BYTES);
    for (let offset = 0; offset < whole; offset += RECORD_BYTES) {
      const record = decodeRecord(bytes.subarray(offset, offset + RECORD_BYTES));
      if (!record) {
        problems.push(`${segmentName(n)}: record at byte ${offset} fails its checksum; skipped`);
        continue;
      }
      applyRecord(state, record);
      state.records++;
      state.replayed++;
    }
    if (whole < bytes.length) {
      problems.push(
        `${segmentName(n)}: torn tail of ${
          bytes.length - whole
        } bytes (an incomplete record); discarded`,
      );
    }
    state.segments.push(n);
  }
  const last = Math.max(0, snapshot ?? 0, ...segments);
  return { ...state, snapshot, nextSegment: last + 1 };
}
