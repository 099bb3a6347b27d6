/**
 * `serveLikes()`: the PrimaryLikesServer as a library call — the embedded store (a likes table in
 * shared memory and, with a data directory, the journal that makes every acknowledged like
 * durable: see `src/store/embedded/open_embedded.ts`) and a pool of connection Workers, each
 * answering through its own view of the store (`LikesStore`). The entry point (`server.ts`) adds
 * flags, logging and signals. In a process run with `OTEL_DENO=true` it records the `likes.*`
 * metrics (`src/telemetry/server_metrics.ts`); otherwise nothing is recorded.
 *
 * @module
 */

import { prepareRedis, type RedisLikesOptions } from "../store/redis/redis_likes.ts";

import { getLogger } from "@logtape/logtape";
import { DEFAULT_MAX_LIKES } from "../protocol/grammar.ts";
import { DEFAULT_MAX_LINE_BYTES } from "../protocol/framing.ts";
import { DEFAULT_REPLY_BUFFER_BYTES } from "./connection.ts";
import type { FsyncMode } from "../store/embedded/journal_writer.ts";
import { DEFAULT_MAX_CLIENTS, type LikesTable } from "../store/embedded/likes_table.ts";
import { openEmbedded } from "../store/embedded/open_embedded.ts";
import type { Recovered } from "../store/embedded/recovery.ts";
import { WorkerPool } from "./worker_pool.ts";
import { exportServerCounters, journalFlushObserver } from "../telemetry/server_metrics.ts";

/** How long a write to a client may stay stuck before its connection is closed, in ms. */
export const DEFAULT_WRITE_TIMEOUT_MS = 5000;
/** Open connections (all Workers together) past which new ones are refused. */
export const DEFAULT_MAX_CONNECTIONS = 10_000;

/** How long a client's state is kept after its last message, in ms (7 days). */
export const DEFAULT_CLIENT_TTL_MS = 7 * 24 * 3600 * 1000;

/** Options for {@linkcode serveLikes}. */
export interface ServeLikesOptions {
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
  /** Largest number of likes in one message. @default {42} */
  readonly maxLikes?: number;
  /** Longest frame, in bytes. @default {512} */
  readonly maxLineBytes?: number;
  /** Silence after which an unterminated message is answered, in ms. @default {50} */
  readonly pauseMs?: number;
  /** Silence after which a connection is dropped, in ms. @default {30000} */
  readonly idleTimeoutMs?: number;
  /** A write to a client stuck this long closes its connection, in ms. @default {5000} */
  readonly writeTimeoutMs?: number;
  /**
   * Replies buffered per connection, in bytes, past which the server stops reading from that
   * client until they drain. @default {65536}
   */
  readonly replyBufferBytes?: number;
  /** Open connections past which new ones get `ERR too many connections`. @default {10000} */
  readonly maxConnections?: number;
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
}

/** A running server. */
export interface LikesService extends AsyncDisposable {
  /** The address it listens on. */
  readonly hostname: string;
  /** The port it listens on (the real one when 0 was asked for). */
  readonly port: number;
  /** The shared counting state (read it for totals). */
  readonly table: LikesTable;
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
 * console.log(server.port, server.table.total());
 * ```
 */
export async function serveLikes(options: ServeLikesOptions): Promise<LikesService> {
  const {
    logFile,
    dataDir,
    fsync = "always",
    fsyncIntervalMs,
    snapshotEvery,
    hostname = "127.0.0.1",
    port = 0,
    workers = 1,
    maxLikes = DEFAULT_MAX_LIKES,
    maxLineBytes = DEFAULT_MAX_LINE_BYTES,
    pauseMs = 50,
    idleTimeoutMs = 30_000,
    writeTimeoutMs = DEFAULT_WRITE_TIMEOUT_MS,
    replyBufferBytes = DEFAULT_REPLY_BUFFER_BYTES,
    maxConnections = DEFAULT_MAX_CONNECTIONS,
    maxClients = DEFAULT_MAX_CLIENTS,
    clientTtlMs = DEFAULT_CLIENT_TTL_MS,
    repair = false,
    onFatal = () => {},
  } = options;
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(
      `Cannot start the server as 'workers' must be a positive integer: current value is ${workers}`,
    );
  }
  const log = getLogger(["likes", "server", "lifecycle"]);
  let redis: RedisLikesOptions | null = null;
  if (options.redis) {
    const prepared = await prepareRedis(options.redis, fsync);
    if (prepared.warning) log.warn(prepared.warning);
    redis = prepared.options;
  }
  const flushObserver = journalFlushObserver();
  const host = await openEmbedded({
    // With Redis, the table only holds the server's counters: no journal, nothing to recover.
    ...(dataDir === undefined || options.redis ? {} : { dataDir }),
    fsync,
    ...(fsyncIntervalMs === undefined ? {} : { fsyncIntervalMs }),
    ...(snapshotEvery === undefined ? {} : { snapshotEvery }),
    maxClients,
    clientTtlMs,
    repair,
    log,
    onFatal,
    ...(flushObserver ? { onFlush: flushObserver } : {}),
  });
  let pool: WorkerPool;
  try {
    pool = await WorkerPool.start(host.buffers, {
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
      redis,
    }, { onFatal, ...(options.workerUrl ? { workerUrl: options.workerUrl } : {}) });
  } catch (error) {
    await host.close().catch(() => {});
    throw error;
  }
  const metrics = exportServerCounters(host.table);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      try {
        await pool.stop();
      } finally {
        await host.close();
        metrics.stop();
      }
    })();
    return stopping;
  };
  return {
    hostname,
    port: pool.port,
    table: host.table,
    recovered: host.recovered,
    journalStats: () => host.journalStats(),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
