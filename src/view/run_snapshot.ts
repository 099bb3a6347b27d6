/**
 * What a running ParentProcess knows at one moment — its LikesServers' progress and what the
 * server's `STATS` said — as plain data: the contract between the parent, which produces it, and
 * the live view, which draws it.
 *
 * @module
 */

/** One LikesServer at one moment. */
export interface ChildSnapshot {
  /** `LikesServer<N>`. */
  readonly name: string;
  /** The key the server counts it under. */
  readonly clientId: string;
  /** Its process id, once spawned. */
  readonly pid: number | null;
  /** `waiting` until spawned, `alive` while running, `exited` after. */
  readonly state: "waiting" | "alive" | "exited";
  /** Exit code once exited. */
  readonly exitCode: number | null;
  /** Likes it generated so far. */
  readonly generated: number;
  /** Likes the server acknowledged to it so far. */
  readonly acknowledged: number;
  /** Likes it sent without an answer (classic; not sent again). */
  readonly unanswered: number;
}

/** The whole run at one moment. */
export interface RunSnapshot {
  readonly runId: string;
  readonly seed: number;
  /** When the run started and when this snapshot was taken (ms since the epoch). */
  readonly startedAt: number;
  readonly at: number;
  /** `host:port` of the PrimaryLikesServer. */
  readonly serverAddress: string;
  /** Whether the last `STATS` request got an answer. */
  readonly serverUp: boolean;
  /** The server's total and per-client counts from the last answered `STATS`, if any. */
  readonly serverTotal: number | null;
  readonly serverClients: Readonly<Record<string, number>>;
  readonly children: readonly ChildSnapshot[];
  /** The final verdict once the run ended, else `null`. */
  readonly verdict: string | null;
  /** Whether every LikesServer converged, once the run ended. */
  readonly converged: boolean | null;
  /**
   * For an overlay run: each node's replica of the grand total (`null`: it did not answer). The
   * server figures then stand for all owners together. @default {none}
   */
  readonly replicas?: Readonly<Record<string, number | null>>;
  /** For an overlay run: how each node's heartbeats see its neighbours, as text. @default {none} */
  readonly neighbours?: Readonly<Record<string, string>>;
}
