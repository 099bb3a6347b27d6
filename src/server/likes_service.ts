/**
 * `serveLikes()`: the PrimaryLikesServer as a library call — a likes table in shared memory and a
 * pool of connection Workers over it. The entry point (`server.ts`) adds flags, logging and
 * signals.
 *
 * @module
 */

import { DEFAULT_MAX_LIKES } from "../protocol/grammar.ts";
import { DEFAULT_MAX_LINE_BYTES } from "../protocol/framing.ts";
import { LikesTable } from "./likes_table.ts";
import { WorkerPool } from "./worker_pool.ts";

/** Options for {@linkcode serveLikes}. */
export interface ServeLikesOptions {
  /** The server log file every Worker appends to (its directory must exist). */
  readonly logFile: string;
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
  /** How many distinct clients the table holds. @default {16384} */
  readonly maxClients?: number;
  /** Called once if a connection Worker dies after start-up. */
  readonly onFatal?: (error: Error) => void;
}

/** A running server. */
export interface LikesService extends AsyncDisposable {
  /** The address it listens on. */
  readonly hostname: string;
  /** The port it listens on (the real one when 0 was asked for). */
  readonly port: number;
  /** The shared counting state (read it for totals). */
  readonly table: LikesTable;
  /** Stops accepting, answers what was read, flushes the Workers' logs. */
  stop(): Promise<void>;
}

/**
 * Starts the server and resolves once every Worker accepts connections.
 *
 * @throws {Deno.errors.AddrInUse} If the port is taken.
 * @throws {Deno.errors.NotCapable} If the process may not listen there or write the log file.
 *
 * @example
 * ```ts ignore
 * await using server = await serveLikes({ logFile: "/tmp/PrimaryLikesLog", workers: 2 });
 * console.log(server.port, server.table.total());
 * ```
 */
export async function serveLikes(options: ServeLikesOptions): Promise<LikesService> {
  const {
    logFile,
    hostname = "127.0.0.1",
    port = 0,
    workers = 1,
    maxLikes = DEFAULT_MAX_LIKES,
    maxLineBytes = DEFAULT_MAX_LINE_BYTES,
    pauseMs = 50,
    idleTimeoutMs = 30_000,
    maxClients,
    onFatal,
  } = options;
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(
      `Cannot start the server as 'workers' must be a positive integer: current value is ${workers}`,
    );
  }
  const table = LikesTable.create(maxClients === undefined ? {} : { maxClients });
  const pool = await WorkerPool.start(table.buffer, {
    hostname,
    port,
    maxLikes,
    maxLineBytes,
    pauseMs,
    idleTimeoutMs,
    logFile,
    workers,
    startedAt: Date.now(),
  }, onFatal ? { onFatal } : {});
  return {
    hostname,
    port: pool.port,
    table,
    stop: () => pool.stop(),
    [Symbol.asyncDispose]: () => pool.stop(),
  };
}
