/**
 * `serveLikes()`: the PrimaryLikesServer as a library call — the store, opened through its door
 * (`src/store/open_store.ts`: the embedded table with its journal, or Redis), the server's own
 * counters in shared memory, and a pool of connection Workers, each answering through its own
 * view of the store (`LikesStore`). The entry point (`server.ts`) adds flags, logging and
 * signals. It records metrics only through the recorder it is handed (`server_recorder.ts`;
 * the entry point passes telemetry's when `OTEL_DENO=true`); without one nothing is recorded.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  type FsyncMode,
  type LikesTable,
  openStore,
  type Recovered,
  type RedisLikesOptions,
} from "../store/open_store.ts";
import { type ServerCounters, SharedCounters } from "./server_counters.ts";
import { SERVER_DEFAULTS } from "./server_defaults.ts";
import { serverReadings, type ServerRecorder } from "./server_recorder.ts";
import { WorkerPool } from "./worker_pool.ts";
import type { ConnectionLimits } from "./connection_limits.ts";

/**
 * Options for {@linkcode serveLikes}: the per-connection settings (`ConnectionLimits`, each
 * defaulting to `SERVER_DEFAULTS`) and the ones below.
 */
export interface ServeLikesOptions extends Partial<ConnectionLimits> {
  /**
   * The server log file every connection Worker appends to (its directory must exist); each
   * Worker sets up its own logging for it. Without it the Workers log nothing. The calling
   * thread's logging is the caller's to configure: this function never configures it.
   * @default {none}
   */
  readonly logFile?: string;
  /**
   * Where the journal and snapshots live (created if missing, locked while running). Without
   * it, counts live in memory only and a restart forgets them. @default {none}
   */
  readonly dataDir?: string;
  /** When an ACK may go out relative to the journal flush. @default {"always"} */
  readonly fsync?: FsyncMode;
  /** With `fsync: "interval"`: the longest time between flushes, in ms. @default {1000} */
  readonly fsyncIntervalMs?: number;
  /** Records between snapshots. @default {100000} */
  readonly snapshotEvery?: number;
  /** Address to listen on. @default {"127.0.0.1"} */
  readonly hostname?: string;
  /** Port; 0 picks a free one. @default {0} */
  readonly port?: number;
  /** Number of connection Workers. @default {1} */
  readonly workers?: number;
  /** How many distinct clients the table holds at once. @default {16384} */
  readonly maxClients?: number;
  /**
   * A client whose last message is older than this is forgotten (its likes stay in the total),
   * checked at start and then regularly, in ms. @default {604800000} (7 days)
   */
  readonly clientTtlMs?: number;
  /**
   * Skip corrupt records in older journal segments instead of refusing to start (their likes
   * are lost). @default {false}
   */
  readonly repair?: boolean;
  /** Called once if a connection Worker or the journal writer fails after start-up. */
  readonly onFatal?: (error: Error) => void;
  /**
   * Count in this Redis instead of the embedded journal: the server then keeps nothing a restart
   * would need (`dataDir` is ignored). Every Worker connects to it. @default {none}
   */
  readonly redis?: RedisLikesOptions;
  /**
   * The connection Worker module, for tests that need one to fail on purpose (it must speak the
   * same messages). @default {connection_worker.ts}
   */
  readonly workerUrl?: string;
  /**
   * Told the server's counts, journal flushes and reply times (for metrics). Without it the
   * server records nothing, and its Workers read no clock for it. @default {none}
   */
  readonly recorder?: ServerRecorder;
}

/** A running server. */
export interface LikesService extends AsyncDisposable {
  /** The address it listens on. */
  readonly hostname: string;
  /** The port it listens on (the real one when 0 was asked for). */
  readonly port: number;
  /**
   * The embedded store's shared table (read it for totals, counts, a snapshot); `null` when the
   * counts live in Redis.
   */
  readonly table: LikesTable | null;
  /** The server's own counters (messages by result, connections), whichever the store. */
  readonly counters: ServerCounters;
  /** What was recovered from the data directory, if there is one. */
  readonly recovered: Recovered | null;
  /** Journal records written and flushes done since start (`null` without a data directory). */
  journalStats(): { records: number; flushes: number; segment: number } | null;
  /** Stops accepting, answers what was read, flushes the journal and the Workers' logs. */
  stop(): Promise<void>;
}

/**
 * Starts the server and resolves once every Worker accepts connections.
 *
 * @throws {DataDirError} If the data directory cannot be used (not a directory, no permission,
 *   held by another server, unrecoverable).
 * @throws {Deno.errors.AddrInUse} If the port is taken.
 * @throws {Deno.errors.NotCapable} If the process may not listen there or write the log file.
 * @throws {RedisSettingsRefused} If the Redis of `redis` may evict keys.
 * @throws {RedisSecretError} If its password or CA file cannot be read.
 *
 * @example
 * ```ts ignore
 * await using server = await serveLikes({ logFile: "/tmp/PrimaryLikesLog", dataDir: "data", workers: 2 });
 * console.log(server.port, server.table?.total());
 * ```
 */
export async function serveLikes(options: ServeLikesOptions): Promise<LikesService> {
  const {
    logFile,
    dataDir,
    fsync = SERVER_DEFAULTS.fsync,
    fsyncIntervalMs,
    snapshotEvery,
    hostname = SERVER_DEFAULTS.hostname,
    port = 0,
    workers = 1,
    maxLikes = SERVER_DEFAULTS.maxLikes,
    maxLineBytes = SERVER_DEFAULTS.maxLineBytes,
    pauseMs = SERVER_DEFAULTS.pauseMs,
    idleTimeoutMs = SERVER_DEFAULTS.idleTimeoutMs,
    writeTimeoutMs = SERVER_DEFAULTS.writeTimeoutMs,
    replyBufferBytes = SERVER_DEFAULTS.replyBufferBytes,
    maxConnections = SERVER_DEFAULTS.maxConnections,
    maxClients = SERVER_DEFAULTS.maxClients,
    clientTtlMs = SERVER_DEFAULTS.clientTtlMs,
    repair = SERVER_DEFAULTS.repair,
    onFatal = () => {},
    recorder = {},
  } = options;
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(
      `Cannot start the server as 'workers' must be a positive integer: current value is ${workers}`,
    );
  }
  const log = getLogger(["likes", "server", "lifecycle"]);
  const flushed = recorder.flushed?.bind(recorder);
  const replied = recorder.replied?.bind(recorder);
  const store = await openStore({
    ...(options.redis ? { redis: options.redis } : {}),
    ...(dataDir === undefined ? {} : { dataDir }),
    fsync,
    ...(fsyncIntervalMs === undefined ? {} : { fsyncIntervalMs }),
    ...(snapshotEvery === undefined ? {} : { snapshotEvery }),
    maxClients,
    clientTtlMs,
    repair,
    log,
    onFatal,
    ...(flushed ? { onFlush: flushed } : {}),
  });
  const counters = SharedCounters.create();
  let pool: WorkerPool;
  try {
    pool = await WorkerPool.start({ store: store.attachment, counters: counters.buffer }, {
      hostname,
      port,
      maxLikes,
      maxLineBytes,
      pauseMs,
      idleTimeoutMs,
      writeTimeoutMs,
      replyBufferBytes,
      maxConnections,
      logFile: logFile ?? null,
      workers,
      startedAt: Date.now(),
    }, {
      onFatal,
      ...(options.workerUrl ? { workerUrl: options.workerUrl } : {}),
      ...(replied ? { onReplied: replied } : {}),
    });
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  const watching = recorder.watch?.(serverReadings(counters));
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      try {
        await pool.stop();
      } finally {
        await store.close();
        watching?.stop();
      }
    })();
    return stopping;
  };
  return {
    hostname,
    port: pool.port,
    table: store.table,
    counters,
    recovered: store.recovered,
    journalStats: () => store.journalStats(),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
