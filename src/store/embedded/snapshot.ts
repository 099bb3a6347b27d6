/**
 * Snapshot files: the complete counting state at the start of a journal segment, so that recovery
 * replays only the segments from there on. A snapshot is written to a temporary file, flushed,
 * renamed into place and its directory flushed, so it is either whole or absent; a CRC-32 line
 * catches anything else.
 *
 * @module
 */

import { crc32 } from "./crc32.ts";
import { snapshotName, syncDir } from "./data_dir.ts";

/** One client's durable state. */
export interface ClientState {
  /** Likes counted for it. */
  count: number;
  /** Last keyed sequence number counted (0 if none). */
  lastSeq: number;
  /** Likes that last sequence number carried. */
  lastLikes: number;
  /** When a message from it was last applied (ms since the epoch), for `--client-ttl`. */
  lastSeen: number;
}

/** What a snapshot holds. */
export interface SnapshotData {
  /** Replay starts at this journal segment. */
  readonly segment: number;
  /** Likes counted for everyone. */
  readonly total: number;
  /** Journal records applied since the data directory was created. */
  readonly records: number;
  /** Client name → state. */
  readonly clients: ReadonlyMap<string, Readonly<ClientState>>;
}

const FORMAT = "likes-snapshot/2";
/** The format before clients carried their last-seen time; still read. */
const FORMAT_1 = "likes-snapshot/1";
const encoder = new TextEncoder();

/**
 * Formats a snapshot file: one JSON line, then its CRC-32 in hex.
 *
 * @example Round trip
 * ```ts
 * import { formatSnapshot, parseSnapshot } from "./snapshot.ts";
 * import assert from "node:assert/strict";
 * const data = { segment: 3, total: 5, records: 2, clients: new Map([["c", { count: 5, lastSeq: 2, lastLikes: 1, lastSeen: 1_700_000_000_000 }]]) };
 * assert.deepEqual(parseSnapshot(formatSnapshot(data)), data);
 * ```
 */
export function formatSnapshot(data: SnapshotData): string {
  const body = JSON.stringify({
    format: FORMAT,
    segment: data.segment,
    total: data.total,
    records: data.records,
    clients: [...data.clients].map((
      [name, s],
    ) => [name, s.count, s.lastSeq, s.lastLikes, s.lastSeen]),
  });
  return `${body}\n${crc32(encoder.encode(body)).toString(16).padStart(8, "0")}\n`;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Parses a snapshot file; returns `null` if it is damaged or not a snapshot. Clients of a
 * format-1 snapshot (which did not record it) count as last seen at `now`.
 */
export function parseSnapshot(text: string, now: number = Date.now()): SnapshotData | null {
  const [body, sum] = text.split("\n");
  if (body === undefined || sum === undefined) return null;
  if (crc32(encoder.encode(body)).toString(16).padStart(8, "0") !== sum) return null;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return null;
  }
  const v = value as Record<string, unknown>;
  const fields = v.format === FORMAT ? 5 : v.format === FORMAT_1 ? 4 : 0;
  if (fields === 0 || !isCount(v.segment) || !isCount(v.total) || !isCount(v.records)) {
    return null;
  }
  if (!Array.isArray(v.clients)) return null;
  const clients = new Map<string, ClientState>();
  for (const entry of v.clients) {
    if (
      !Array.isArray(entry) || entry.length !== fields || typeof entry[0] !== "string" ||
      !entry.slice(1).every(isCount)
    ) {
      return null;
    }
    clients.set(entry[0], {
      count: entry[1],
      lastSeq: entry[2],
      lastLikes: entry[3],
      lastSeen: fields === 5 ? entry[4] : now,
    });
  }
  return { segment: v.segment, total: v.total, records: v.records, clients };
}

/** Writes a snapshot into `dir` atomically and durably; returns its file name. */
export async function writeSnapshot(dir: string, data: SnapshotData): Promise<string> {
  const name = snapshotName(data.segment);
  const temporary = `${dir}/${name}.tmp`;
  {
    using file = await Deno.open(temporary, { write: true, create: true, truncate: true });
    const bytes = encoder.encode(formatSnapshot(data));
    for (let written = 0; written < bytes.length;) {
      written += await file.write(bytes.subarray(written));
    }
    await file.syncData();
  }
  await Deno.rename(temporary, `${dir}/${name}`);
  await syncDir(dir);
  return name;
}
