/**
 * Messages between a node's main thread and its query Workers.
 *
 * @module
 */

import type { NodeBuffers } from "../domain/node_shared.ts";
import type { PackedRows } from "../domain/packed_rows.ts";

/** What a query Worker needs to start. */
export interface QueryWorkerSettings {
  readonly index: number;
  readonly id: string;
  /** The cluster config's text (each Worker parses and checks it again). */
  readonly configText: string;
  readonly hostname: string;
  readonly port: number;
  readonly reusePort: boolean;
  readonly deadlineMs: number;
  readonly idleTimeoutMs: number;
  /** The cluster's secret, as its key file's text. */
  readonly secret: string;
  /** Time a connection has to authenticate, in ms. */
  readonly handshakeTimeoutMs: number;
  /** Connections per Worker that may be in their handshake at once; past it the oldest goes. */
  readonly maxHandshakes: number;
  /** Time a frame may take to arrive once its first byte has, in ms. */
  readonly frameDeadlineMs: number;
  /** Requests one connection may have in flight; past it, they get an error. */
  readonly maxInFlight: number;
  /** Open connections per Worker past which new ones are refused. */
  readonly maxConnections: number;
  /** Where the Worker logs (`node.log`), or null to leave logging alone (tests). */
  readonly logFile: string | null;
  readonly shared: NodeBuffers;
  /** The node's likes table, for its own rows (null for the portal). */
  readonly table: SharedArrayBuffer | null;
}

/** The main thread's answer to a Worker's `replica` ask: its rows, and how stale each owner is. */
export interface PackedReplica {
  readonly rows: PackedRows;
  readonly staleMs: Record<string, number>;
}

/** Main thread → Worker. */
export type ToQueryWorker =
  | { readonly kind: "start"; readonly settings: QueryWorkerSettings }
  | { readonly kind: "answer"; readonly ask: number; readonly value: unknown }
  | { readonly kind: "stop" };

/** Worker → main thread. */
export type FromQueryWorker =
  | { readonly kind: "listening"; readonly port: number }
  | { readonly kind: "failed"; readonly name: string; readonly message: string }
  | {
    readonly kind: "gossip";
    readonly message: unknown;
    readonly from: string;
    /** The size of its frame, in bytes. */
    readonly bytes: number;
  }
  | {
    readonly kind: "ask";
    readonly ask: number;
    readonly what: "replica" | "stats";
    /** For `replica`: only the rows of these keys (else every row). */
    readonly keys?: readonly string[];
  }
  | { readonly kind: "stopped" };
