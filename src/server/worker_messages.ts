/**
 * The typed messages between the server's main thread and its connection Workers.
 *
 * @module
 */

import type { RedisLikesOptions } from "../store/redis/redis_likes.ts";

import type { EmbeddedBuffers } from "../store/embedded/open_embedded.ts";

/** Settings a connection Worker needs; all plain data, so they survive `postMessage`. */
export interface WorkerSettings {
  /** Address to listen on. */
  readonly hostname: string;
  /** Port to listen on (0 only with a single Worker, which then reports the real one). */
  readonly port: number;
  /** Listen with `SO_REUSEPORT`, so that several Workers share the port. */
  readonly reusePort: boolean;
  /** Largest number of likes in one message. */
  readonly maxLikes: number;
  /** Longest frame, in bytes. */
  readonly maxLineBytes: number;
  /** Silence after which an unterminated message is answered, in ms. */
  readonly pauseMs: number;
  /** Silence after which a connection is dropped, in ms. */
  readonly idleTimeoutMs: number;
  /** A write to a client stuck this long closes its connection, in ms. */
  readonly writeTimeoutMs: number;
  /** Replies buffered per connection before it stops reading, in bytes. */
  readonly replyBufferBytes: number;
  /** Open connections across all Workers past which new ones are refused. */
  readonly maxConnections: number;
  /** The server log file each Worker appends to, or null: the Workers log nothing. */
  readonly logFile: string | null;
  /** Number of Workers, reported by `STATS`. */
  readonly workers: number;
  /** When the server started (ms since the epoch). */
  readonly startedAt: number;
  /** Count in this Redis instead of the embedded store (whose table then holds only counters). */
  readonly redis: RedisLikesOptions | null;
}

/** Main thread → Worker. */
export type ToWorker =
  | {
    readonly kind: "start";
    readonly index: number;
    /** The store's shared memory, for the Worker's view of it. */
    readonly store: EmbeddedBuffers;
    readonly settings: WorkerSettings;
  }
  | { readonly kind: "stop" };

/** Worker → main thread. */
export type FromWorker =
  | { readonly kind: "listening"; readonly port: number }
  | { readonly kind: "failed"; readonly name: string; readonly message: string }
  | { readonly kind: "stopped"; readonly connectionsClosed: number };
