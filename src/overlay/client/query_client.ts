/**
 * Asking a node: `askNode()` sends one query (or `stats`) over a fresh framed connection and
 * returns the node's reply, checked, with the client's own round-trip time. Used by
 * `deno task query`, the cluster launcher and the tests.
 *
 * @module
 */

import { PeerLink } from "../wire/frame_conn.ts";
import type { ClusterSecret } from "../wire/link_auth.ts";
import { type Consistency, type Row, rowsOfFrame } from "../domain/query.ts";
import { checkTree, type TimingTree } from "../domain/timing.ts";
import { QueryCall } from "../../telemetry/overlay_telemetry.ts";

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
  readonly cached: boolean;
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
   * Takes the rows of a long answer as they come (they are in the reply's `results` too, unless
   * `keepRows` is false); while a promise it returns is pending, no more rows are read (within
   * the deadline). @default {none}
   */
  readonly onRows?: (rows: readonly Row[]) => void | Promise<void>;
  /** Whether streamed rows are kept for the reply's `results`. @default {true} */
  readonly keepRows?: boolean;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
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
  let reply: Record<string, unknown>;
  const streamed: Row[] = [];
  const keep = options.keepRows ?? true;
  const onRows = (frame: Record<string, unknown>) => {
    if (typeof frame.owner !== "string") return;
    const rows = rowsOfFrame(frame.owner, frame.rows);
    if (keep) { for (const row of rows) streamed.push(row); }
    return options.onRows?.(rows);
  };
  try {
    reply = await link.request(
      {
        type: "query",
        verb: options.verb,
        params: options.params ?? [],
        consistency: options.consistency ?? "gather",
        deadline_ms: deadlineMs,
        traceparent: call.traceparent,
      },
      deadlineMs + 1000,
      onRows,
    );
  } catch (error) {
    call.end({}, error instanceof Error ? error.message : String(error));
    throw error;
  }
  const clientMs = Math.round((performance.now() - started) * 100) / 100;
  const results = [...streamed, ...(Array.isArray(reply.results) ? reply.results as Row[] : [])];
  call.end(
    {
      rows: typeof reply.streamed === "number" ? reply.streamed : results.length,
      partial: reply.partial === true,
    },
    reply.success === true ? undefined : String(reply.message ?? "failed"),
  );
  return {
    query_id: String(reply.query_id ?? ""),
    success: reply.success === true,
    partial: reply.partial === true,
    message: String(reply.message ?? ""),
    results,
    ...(typeof reply.streamed === "number" ? { streamed: reply.streamed } : {}),
    total: typeof reply.total === "number" ? reply.total : 0,
    answered: strings(reply.answered),
    missing: strings(reply.missing),
    problems:
      (typeof reply.problems === "object" && reply.problems !== null
        ? reply.problems
        : {}) as Record<string, string>,
    cached: reply.cached === true,
    ...(typeof reply.cache_age_ms === "number" ? { cache_age_ms: reply.cache_age_ms } : {}),
    ...(reply.consistency === "gather" || reply.consistency === "local"
      ? { consistency: reply.consistency }
      : {}),
    ...(typeof reply.stale_ms === "object" && reply.stale_ms !== null
      ? { stale_ms: reply.stale_ms as Record<string, number> }
      : {}),
    timing: checkTree(reply.timing),
    client_ms: clientMs,
    trace_id: call.traceId,
  };
}

/**
 * Asks a node for its `stats` (see `NodeStats` in `node_service.ts`).
 *
 * @throws {import("../wire/frame_conn.ts").PeerError} If the node cannot be reached or does not answer.
 */
export async function nodeStats(
  hostname: string,
  port: number,
  secret: ClusterSecret,
  timeoutMs = 1000,
): Promise<Record<string, unknown>> {
  using link = new PeerLink({ hostname, port, secret });
  return await link.request({ type: "stats" }, timeoutMs);
}
