/**
 * The embedded store's main-thread side: open and lock the data directory, recover the counts
 * (snapshot + journal), build the shared table, start the journal writer and the sweeper that
 * forgets idle clients; at the end flush, snapshot and release. The Workers attach views of it
 * with {@linkcode attachEmbedded}.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import { type DataDir, DataDirError, openDataDir } from "./data_dir.ts";
import { EmbeddedStore } from "./embedded_store.ts";
import { JournalRing } from "./journal_ring.ts";
import { type FsyncMode, JournalWriter } from "./journal_writer.ts";
import { LikesTable } from "./likes_table.ts";
import { recover, type Recovered } from "./recovery.ts";
import type { ClientState } from "./snapshot.ts";

/** Options for {@linkcode openEmbedded}. */
export interface OpenEmbeddedOptions {
  /** The journal's directory; without it the counts live in memory only. */
  readonly dataDir?: string;
  /** When an acknowledgement may go out relative to the flush. */
  readonly fsync: FsyncMode;
  /** With `fsync: "interval"`: the longest time between flushes, in ms. */
  readonly fsyncIntervalMs?: number;
  /** Journal records between snapshots. */
  readonly snapshotEvery?: number;
  /** How many distinct clients the table holds at once. */
  readonly maxClients: number;
  /** Clients idle longer than this are forgotten (at start and regularly), in ms. */
  readonly clientTtlMs: number;
  /** Skip corrupt records in older journal segments instead of refusing to start. */
  readonly repair: boolean;
  /** Where the store says what it recovered, forgot or warns about. */
  readonly log: Logger;
  /** Called once if the journal writer fails. */
  readonly onFatal: (error: Error) => void;
  /** Told after each journal flush how long it took (ms) and how many records it covered. */
  readonly onFlush?: (ms: number, records: number) => void;
}

/** What a Worker needs to attach its view of the store. */
export interface EmbeddedBuffers {
  readonly table: SharedArrayBuffer;
  readonly journal: SharedArrayBuffer | null;
  /** Whether replies wait for the journal (`--fsync always` or `interval`). */
  readonly waitForJournal: boolean;
}

/** The open store, on the thread that owns it. */
export interface EmbeddedHost {
  /** The shared table. */
  readonly table: LikesTable;
  /** What recovery found (null without a data directory). */
  readonly recovered: Recovered | null;
  /** To post to each Worker. */
  readonly buffers: EmbeddedBuffers;
  /** Journal records written and flushes done since start (`null` without a data directory). */
  journalStats(): { records: number; flushes: number; segment: number } | null;
  /** After the Workers stopped: writes the rest of the journal, snapshots, releases the directory. */
  close(): Promise<void>;
}

/** How often idle clients are looked for: a quarter of the TTL, from 0.1 s to 1 minute. */
function expiryInterval(ttlMs: number): number {
  return Math.min(60_000, Math.max(100, ttlMs / 4));
}

/** Removes the clients last seen before `cutoff` (ms since the epoch); returns how many. */
function forgetIdle(clients: Map<string, ClientState>, cutoff: number): number {
  let forgotten = 0;
  for (const [name, client] of clients) {
    if (client.lastSeen < cutoff) {
      clients.delete(name);
      forgotten++;
    }
  }
  return forgotten;
}

/**
 * Opens the store.
 *
 * @throws {DataDirError} If the data directory cannot be used (not a directory, no permission,
 *   held by another server, unrecoverable, more clients than `maxClients`).
 */
export async function openEmbedded(options: OpenEmbeddedOptions): Promise<EmbeddedHost> {
  const { dataDir, fsync, maxClients, clientTtlMs, repair, log } = options;
  let dir: DataDir | undefined;
  let writer: JournalWriter | undefined;
  try {
    let journal: JournalRing | undefined;
    let recovered: Recovered | null = null;
    if (dataDir !== undefined) {
      dir = await openDataDir(dataDir);
      const started = performance.now();
      recovered = await recover(dataDir, { repair });
      for (const problem of recovered.problems) log.warn(`recovery: ${problem}`);
      const expired = forgetIdle(recovered.clients, Date.now() - clientTtlMs);
      log.info(
        `recovered ${recovered.clients.size} client(s), total ${recovered.total} likes from ${
          recovered.snapshot === null ? "no snapshot" : `snapshot ${recovered.snapshot}`
        } and ${recovered.replayed} journal record(s) in ${
          (performance.now() - started).toFixed(0)
        } ms (${dataDir}, fsync ${fsync})${
          expired > 0 ? `; forgot ${expired} client(s) idle longer than --client-ttl` : ""
        }`,
      );
      if (recovered.clients.size > maxClients) {
        throw new DataDirError(
          `Cannot start: ${dataDir} holds ${recovered.clients.size} clients active within --client-ttl, but --max-clients is ${maxClients}; start with --max-clients ${recovered.clients.size} or more`,
        );
      }
      journal = JournalRing.create();
    }
    const table = LikesTable.create({ maxClients, ...(journal ? { journal } : {}) });
    const slots = recovered
      ? table.restoreAll(recovered.clients, recovered.total)
      : new Map<string, number>();
    if (journal && recovered && dataDir !== undefined) {
      writer = await JournalWriter.start(journal, recovered, slots, {
        dir: dataDir,
        fsync,
        ...(options.fsyncIntervalMs === undefined
          ? {}
          : { fsyncIntervalMs: options.fsyncIntervalMs }),
        log,
        onFatal: options.onFatal,
        ...(options.onFlush ? { onFlush: options.onFlush } : {}),
        ...(options.snapshotEvery === undefined ? {} : { snapshotEvery: options.snapshotEvery }),
      });
    }
    const sweeper = setInterval(() => {
      const expired = table.expireIdle(Date.now() - clientTtlMs);
      if (expired.length > 0) {
        log.info(
          `forgot ${expired.length} client(s) idle longer than --client-ttl (${
            clientTtlMs / 1000
          } s): ${expired.slice(0, 5).join(", ")}${expired.length > 5 ? ", …" : ""}`,
        );
      }
    }, expiryInterval(clientTtlMs));
    const openWriter = writer;
    const openDir = dir;
    return {
      table,
      recovered,
      buffers: {
        table: table.buffer,
        journal: journal?.buffer ?? null,
        // `always`: after the flush; `interval`: once written, so a crash of the process loses
        // nothing acknowledged (of the machine, at most the interval); `never`: at once.
        waitForJournal: journal !== undefined && fsync !== "never",
      },
      journalStats: () => openWriter?.stats() ?? null,
      async close() {
        clearInterval(sweeper);
        try {
          await openWriter?.stop();
        } finally {
          openDir?.release();
        }
      },
    };
  } catch (error) {
    await writer?.stop().catch(() => {});
    dir?.release();
    throw error;
  }
}

/** A Worker's view of the store. */
export function attachEmbedded(buffers: EmbeddedBuffers): { store: EmbeddedStore } {
  const journal = buffers.journal ? JournalRing.attach(buffers.journal) : undefined;
  const table = LikesTable.attach(buffers.table, journal);
  return { store: new EmbeddedStore(table, buffers.waitForJournal ? journal ?? null : null) };
}
