/**
 * The typed messages between the server's main thread and its connection Workers.
 *
 * @module
 */

import type { StoreAttachment } from "../store/open_store.ts";
import type { ConnectionLimits } from "./connection_limits.ts";

/**
 * Settings a connection Worker needs (the per-connection ones and those below); all plain data,
 * so they survive `postMessage`.
 */
export interface WorkerSettings extends ConnectionLimits {
  /** Address to listen on. */
  readonly hostname: string;
  /** Port to listen on (0 only with a single Worker, which then reports the real one). */
  readonly port: number;
  /** Listen with `SO_REUSEPORT`, so that several Workers share the port. */
  readonly reusePort: boolean;
  /** The server log file each Worker appends to, or null: the Workers log nothing. */
  readonly logFile: string | null;
  /** Number of Workers, reported by `STATS`. */
  readonly workers: number;
  /** When the server started (ms since the epoch). */
  readonly startedAt: number;
  /** Time each reply and post the times to the main thread (`{kind: "replied"}`). */
  readonly timeReplies: boolean;
}

/** Main thread → Worker. */
export type ToWorker =
  | {
    readonly kind: "start";
    readonly index: number;
    /** What the Worker attaches its view of the store with. */
    readonly store: StoreAttachment;
    /** The server's counters (`SharedCounters`), shared by every Worker. */
    readonly counters: SharedArrayBuffer;
    readonly settings: WorkerSettings;
  }
  | { readonly kind: "stop" };

/** Worker → main thread. */
export type FromWorker =
  | { readonly kind: "listening"; readonly port: number }
  | { readonly kind: "failed"; readonly name: string; readonly message: string }
  | { readonly kind: "stopped"; readonly connectionsClosed: number }
  /** A batch of reply times (`reply_times.ts`), with `timeReplies` only. */
  | { readonly kind: "replied"; readonly times: Float64Array<ArrayBuffer> };
