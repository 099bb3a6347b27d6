/**
 * The PrimaryLikesServer's defaults, written once: `serveLikes()`'s options, the Workers'
 * settings and the server's flags (`server_config.ts`, and a node's) all take them from here.
 * The store's own defaults (`STORE_DEFAULTS`) are part of them.
 *
 * @module
 */

import { DEFAULT_MAX_LINE_BYTES } from "../protocol/framing.ts";
import { DEFAULT_LIKES_PORT, DEFAULT_MAX_LIKES } from "../protocol/grammar.ts";
import { DEFAULT_LOG_DIR } from "../log/log_paths.ts";
import { STORE_DEFAULTS } from "../store/open_store.ts";

/** Every default of the server (the library's `port` is 0, a free one: see `serveLikes`). */
export const SERVER_DEFAULTS = Object.freeze(
  {
    ...STORE_DEFAULTS,
    /** Address to listen on. */
    hostname: "127.0.0.1",
    /** The command line's TCP port (the seed exercise's). */
    port: DEFAULT_LIKES_PORT,
    /** Directory of `PrimaryLikesLog`. */
    logDir: DEFAULT_LOG_DIR,
    /** The command line's data directory, relative to the working directory. */
    dataDir: "data",
    /** Largest number of likes in one message. */
    maxLikes: DEFAULT_MAX_LIKES,
    /** Longest frame, in bytes. */
    maxLineBytes: DEFAULT_MAX_LINE_BYTES,
    /** Silence after which an unterminated message is answered, in ms. */
    pauseMs: 50,
    /** Silence after which a connection is dropped, in ms. */
    idleTimeoutMs: 30_000,
    /** A write to a client stuck this long closes its connection, in ms. */
    writeTimeoutMs: 5000,
    /** Replies buffered per connection, in bytes, past which the server stops reading from it. */
    replyBufferBytes: 65536,
    /** Open connections (all Workers together) past which new ones are refused. */
    maxConnections: 10_000,
  } as const,
);

/**
 * The server's default number of connection Workers on a machine with `cpus` CPUs: one fewer
 * than the CPUs, at least 1. The main thread writes and flushes the journal and is busy under
 * load, so one Worker per CPU oversubscribes the cores. On 2 CPUs (BENCHMARKS.md, "Workers by
 * default") 1 Worker matched 2 with `--fsync always` at 100 persistent clients (54k and 51k msg/s
 * against 53k and 51k) and beat them with `--fsync never` (108k against 90k–93k), with a lower
 * p99 and 40 MB less memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultWorkers } from "./server_defaults.ts";
 * assert.deepEqual([1, 2, 4, 16].map(defaultWorkers), [1, 1, 3, 15]);
 * ```
 */
export function defaultWorkers(cpus: number): number {
  return Math.max(1, Math.floor(cpus) - 1);
}
