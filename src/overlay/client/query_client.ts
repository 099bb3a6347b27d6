/**
 * Asking a node: `askNode()` sends one query (or `stats`) over a fresh framed connection and
 * returns the node's reply, checked, with the client's own round-trip time. Used by
 * `deno task query`, the cluster launcher and the tests.
 *
 * @module
 */

import { PeerLink } from "../wire/frame_conn.ts";
import type { ClusterSecret } from "../wire/link_auth.ts";
import {
  type AnswerMessage,
  type NodeStats,
  readAnswer,
  readStats,
  rowsOf,
} from "../domain/messages.ts";
import type { Consistency, Row } from "../domain/query.ts";
import type { TimingTree } from "../domain/timing.ts";
import { QueryCall } from "../../telemetry/overlay_telemetry.ts";
import { describeError } from "../../base/describe_error.ts";

/** A node's answer to a query, as `deno task query --json` prints it. */
export interface QueryReply {
  readonly "query_id": string;
  readonly success: boolean;
  readonly partial: boolean;
  readonly message: string;
  readonly results: readonly Row[];
  /**
   * How many rows a long answer streamed (in arrival order, not sorted); absent when the
   * answer came in one frame (its rows sorted by key, then node).
   */
  readonly streamed?: number;
  /** Sum of the likes of every row. */
  readonly total: number;
  readonly answered: readonly string[];
  readonly missing: readonly string[];
  /** Why each missing node is missing. */
  readonly problems: Readonly<Record<string, string>>;
  /** Whether the answer, or a part of it, came from a node's cache. */
  readonly cached: boolean;
  /** How old the oldest cached part is, in ms (with `cached`). */
  readonly "cache_age_ms"?: number;
  readonly consistency?: Consistency;
  /** For `local`: how old each node's part of the replica is, in ms. */
  readonly "stale_ms"?: Readonly<Record<string, number>>;
  readonly timing: TimingTree | null;
  /** The client's own time from sending to the reply, in ms. */
  readonly "client_ms": number;
  /** The query's trace id (every node's span is in that trace). */
  readonly "trace_id": string;
}

/** What to ask and where. */
export interface AskOptions {
  readonly hostname: string;
  readonly port: number;
  /** The cluster's secret, to authenticate with the node. */
  readonly secret: ClusterSecret;
  readonly verb: string;
  readonly params?: readonly string[];
  readonly consistency?: Consistency;
  /** The query's deadline across the overlay, in ms. @default {2000} */
  readonly deadlineMs?: number;
  /**
   * The oldest cached answer (or part of one) the query takes, in ms; 0 takes nothing from a
   * cache. @default {any within the TTL of the node that holds it}
   */
  readonly maxAgeMs?: number;
  /**
   * Takes the rows of a long answer as they come (they are in the reply's `results` too, unless
   * `keepRows` is false); while a promise it returns is pending, no more rows are read (within
   * the deadline). @default {none}
   */
  readonly onRows?: (rows: readonly Row[]) => void | Promise<void>;
  /** Whether streamed rows are kept for the reply's `results`. @default {true} */
  readonly keepRows?: boolean;
}

/**
 * Sends one query and waits for the answer (a little past the query's deadline).
 *
 * @throws {import("../wire/frame_conn.ts").PeerError} If the node cannot be reached or does not answer.
 */
export async function askNode(options: AskOptions): Promise<QueryReply> {
  const deadlineMs = options.deadlineMs ?? 2000;
  using link = new PeerLink({
    hostname: options.hostname,
    port: options.port,
    secret: options.secret,
  });
  const call = new QueryCall(options.verb, `${options.hostname}:${options.port}`);
  const started = performance.now();
  let reply: AnswerMessage;
  const streamed: Row[] = [];
  const keep = options.keepRows ?? true;
  const onRows = (frame: Record<string, unknown>) => {
    const rows = rowsOf(frame);
    if (rows === null) return;
    if (keep) { for (const row of rows) streamed.push(row); }
    return options.onRows?.(rows);
  };
  try {
    reply = readAnswer(
      await link.request(
        {
          type: "query",
          verb: options.verb,
          params: options.params ?? [],
          consistency: options.consistency ?? "gather",
          deadline_ms: deadlineMs,
          ...(options.maxAgeMs === undefined ? {} : { max_age_ms: options.maxAgeMs }),
          traceparent: call.traceparent,
        },
        deadlineMs + 1000,
        onRows,
      ),
    );
  } catch (error) {
    call.end({}, describeError(error, "message"));
    throw error;
  }
  const clientMs = Math.round((performance.now() - started) * 100) / 100;
  const results = [...streamed, ...(reply.results ?? [])];
  call.end(
    { rows: reply.streamed ?? results.length, partial: reply.partial === true },
    reply.success ? undefined : reply.message ?? "failed",
  );
  return {
    query_id: reply.query_id,
    success: reply.success,
    partial: reply.partial === true,
    message: reply.message ?? "",
    results,
    ...(reply.streamed === undefined ? {} : { streamed: reply.streamed }),
    total: reply.total ?? 0,
    answered: reply.answered ?? [],
    missing: reply.missing ?? [],
    problems: reply.problems ?? {},
    cached: reply.cached === true,
    ...(reply.cache_age_ms === undefined ? {} : { cache_age_ms: reply.cache_age_ms }),
    ...(reply.consistency ? { consistency: reply.consistency } : {}),
    ...(reply.stale_ms ? { stale_ms: reply.stale_ms } : {}),
    timing: reply.timing ?? null,
    client_ms: clientMs,
    trace_id: call.traceId,
  };
}

/**
 * Asks a node for its `stats`, checked ({@linkcode readStats}).
 *
 * @throws {import("../wire/frame_conn.ts").PeerError} If the node cannot be reached or does not answer.
 */
export async function nodeStats(
  hostname: string,
  port: number,
  secret: ClusterSecret,
  timeoutMs = 1000,
): Promise<NodeStats> {
  using link = new PeerLink({ hostname, port, secret });
  return readStats(await link.request({ type: "stats" }, timeoutMs));
}
