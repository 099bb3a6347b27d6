/**
 * The node protocol's query-side messages as types (PROTOCOL.md, "The node protocol"): `rows`
 * frames, answers (to a client and between nodes) and `stats`, each with a reader that takes a
 * decoded frame from the network and returns it typed — fields of the wrong shape dropped, so the
 * code that uses a message never coerces one by hand. Gossip's `digest` and `delta` are checked
 * by `gossip.ts`, and a `query` request by `readQueryRequest` in `query_engine.ts`. Pure.
 *
 * @module
 */

import type { CacheStats } from "./shared_cache.ts";
import type { PeerStatus } from "./peer_health.ts";
import type { GossipStats } from "./gossip.ts";
import type { Row } from "./query.ts";
import { checkTree, type TimingTree } from "./timing.ts";

/** A frame's body that is not what its type says. */
export class MessageError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "MessageError";
  }
}

/** One `rows` frame of a streamed answer: rows of one owner, before the answer, same `rid`. */
export interface RowsMessage {
  readonly type: "rows";
  readonly rid?: number;
  readonly owner: string;
  /** `[key, likes]` of `owner`. */
  readonly rows: readonly (readonly [string, number])[];
}

/** Consistency of an answer. */
export type AnswerConsistency = "gather" | "local";

/**
 * An answer: to a client it carries `results` (and `partial`, `missing`, `total`), to the node
 * that asked it `sections` (owner → rows); `streamed` counts the rows sent before it as
 * {@linkcode RowsMessage}s.
 */
export interface AnswerMessage {
  readonly type: "answer";
  readonly rid?: number;
  readonly "query_id": string;
  readonly success: boolean;
  readonly message?: string;
  readonly partial?: boolean;
  readonly results?: readonly Row[];
  readonly sections?: Readonly<Record<string, readonly Row[]>>;
  readonly streamed?: number;
  readonly total?: number;
  readonly answered?: readonly string[];
  readonly missing?: readonly string[];
  readonly problems?: Readonly<Record<string, string>>;
  readonly cached?: boolean;
  readonly "cache_age_ms"?: number;
  readonly consistency?: AnswerConsistency;
  readonly "stale_ms"?: Readonly<Record<string, number>>;
  readonly timing?: TimingTree;
}

/** What a node reports for `stats`. */
export interface NodeStats {
  readonly node: string;
  /** Likes this node's PrimaryLikesServer counted (null for the portal). */
  readonly likes: number | null;
  /** This node's replica: total, per owning node, entries, version, staleness per node. */
  readonly replica: {
    readonly total: number;
    readonly byNode: Record<string, number>;
    readonly entries: number;
    readonly version: number;
    readonly staleMs: Record<string, number>;
  };
  readonly cache: CacheStats;
  readonly gossip: GossipStats;
  readonly queries: {
    readonly answered: number;
    readonly repeats: number;
    readonly failed: number;
  };
  /** Open connections; refused for the cap; refused for failing the handshake. */
  readonly connections: {
    readonly open: number;
    readonly refused: number;
    readonly unauthenticated: number;
  };
  readonly queryWorkers: number;
  /**
   * Each neighbour's health, from the heartbeats: `up` or `down`, since when (ms since the
   * epoch), when it last answered (null: never) and how many times it went down.
   */
  readonly peers: Readonly<Record<string, PeerStatus>>;
  /** The node process's resident memory now and at its peak so far, in bytes. */
  readonly memory: { readonly rss: number; readonly peakRss: number };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const isLikes = (value: unknown): value is number =>
  Number.isSafeInteger(value) && (value as number) >= 0;

/** The well-formed rows of `value` (a list of `{key, node, likes}`); the others are dropped. */
function rowList(value: unknown): Row[] {
  if (!Array.isArray(value)) return [];
  return value.filter((row): row is Row =>
    isRecord(row) && typeof row.key === "string" && typeof row.node === "string" &&
    isLikes(row.likes)
  ).map(({ key, node, likes }) => ({ key, node, likes }));
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** `value`'s entries whose values pass `keep`. */
function recordOf<T>(value: unknown, keep: (v: unknown) => v is T): Record<string, T> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => keep(v))) as Record<
    string,
    T
  >;
}

/**
 * The rows of a `rows` frame, as rows of its owner; null if it is not a `rows` frame with an
 * owner. Malformed rows are dropped.
 *
 * @example
 * ```ts
 * import { rowsOf } from "./messages.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   rowsOf({ type: "rows", rid: 1, owner: "B", rows: [["k", 3], ["bad", -1]] }),
 *   [{ key: "k", node: "B", likes: 3 }],
 * );
 * ```
 */
export function rowsOf(frame: Record<string, unknown>): Row[] | null {
  if (frame.type !== "rows" || typeof frame.owner !== "string") return null;
  const owner = frame.owner;
  if (!Array.isArray(frame.rows)) return [];
  const rows: Row[] = [];
  for (const row of frame.rows) {
    if (Array.isArray(row) && typeof row[0] === "string" && isLikes(row[1])) {
      rows.push({ key: row[0], node: owner, likes: row[1] });
    }
  }
  return rows;
}

/** A `rows` frame of `owner`'s `rows`, for request `rid`. */
export function rowsMessage(rid: unknown, owner: string, rows: readonly Row[]): RowsMessage {
  return {
    type: "rows",
    ...(typeof rid === "number" ? { rid } : {}),
    owner,
    rows: rows.map((row) => [row.key, row.likes] as const),
  };
}

/**
 * Reads an answer from the network: `success` only when it says `true`; fields of the wrong
 * shape left out (rows that are not `{key, node, likes}` with whole likes, sections that are
 * not lists of rows, problems that are not text, a malformed timing tree).
 *
 * An `error` frame in its place (e.g. too many requests in flight) reads as a failed answer
 * with its message.
 *
 * @throws {MessageError} If it is neither an answer nor an error.
 */
export function readAnswer(value: Record<string, unknown>): AnswerMessage {
  if (value.type === "error") {
    return {
      type: "answer",
      ...(typeof value.rid === "number" ? { rid: value.rid } : {}),
      "query_id": "",
      success: false,
      message: typeof value.message === "string" ? value.message : "the node answered an error",
    };
  }
  if (value.type !== "answer") {
    throw new MessageError(`expected an answer, got ${JSON.stringify(value.type)}`);
  }
  const timing = checkTree(value.timing);
  const number = (field: string) =>
    typeof value[field] === "number" && Number.isFinite(value[field])
      ? { [field]: value[field] as number }
      : {};
  const flag = (field: string) =>
    typeof value[field] === "boolean" ? { [field]: value[field] } : {};
  return {
    type: "answer",
    ...number("rid"),
    "query_id": typeof value.query_id === "string" ? value.query_id : "",
    success: value.success === true,
    ...(typeof value.message === "string" ? { message: value.message } : {}),
    ...flag("partial"),
    ...(Array.isArray(value.results) ? { results: rowList(value.results) } : {}),
    ...(isRecord(value.sections)
      ? {
        sections: Object.fromEntries(
          Object.entries(value.sections).map(([node, rows]) => [
            node,
            rowList(rows).filter((row) => row.node === node),
          ]),
        ),
      }
      : {}),
    ...(isLikes(value.streamed) ? { streamed: value.streamed } : {}),
    ...number("total"),
    ...(Array.isArray(value.answered) ? { answered: stringList(value.answered) } : {}),
    ...(Array.isArray(value.missing) ? { missing: stringList(value.missing) } : {}),
    ...(isRecord(value.problems)
      ? { problems: recordOf(value.problems, (v): v is string => typeof v === "string") }
      : {}),
    ...flag("cached"),
    ...number("cache_age_ms"),
    ...(value.consistency === "gather" || value.consistency === "local"
      ? { consistency: value.consistency }
      : {}),
    ...(isRecord(value.stale_ms)
      ? { "stale_ms": recordOf(value.stale_ms, (v): v is number => typeof v === "number") }
      : {}),
    ...(timing ? { timing } : {}),
  };
}

/**
 * Reads a `stats` reply: checks the fields the suite reads (the node, the replica's total and
 * entries, the gossip bytes, the memory) and returns it typed.
 *
 * @throws {MessageError} If it is not a `stats` reply or one of those fields is missing.
 */
export function readStats(value: Record<string, unknown>): NodeStats {
  if (value.type !== "stats") {
    throw new MessageError(`expected stats, got ${JSON.stringify(value.type)}`);
  }
  const numbers = (field: string, names: readonly string[]) => {
    const part = value[field];
    if (!isRecord(part) || !names.every((name) => typeof part[name] === "number")) {
      throw new MessageError(`stats: ${field} must hold the numbers ${names.join(", ")}`);
    }
  };
  if (typeof value.node !== "string") throw new MessageError("stats: node must be a string");
  numbers("replica", ["total", "entries", "version"]);
  numbers("gossip", ["bytesSent", "bytesReceived", "sent", "received"]);
  numbers("memory", ["rss", "peakRss"]);
  if (!isRecord(value.peers)) throw new MessageError("stats: peers must be an object");
  const { type: _type, rid: _rid, ...stats } = value;
  return stats as unknown as NodeStats;
}
