/**
 * How a node answers one query message (the node protocol's `query`; see PROTOCOL.md): checked,
 * logged, then answered from the replica at once (`local`) or gathered (`gather`): the cache, the
 * node's own rows, and every neighbour not already on the query's `path` asked in parallel with
 * what is left of the deadline. Every path carries rows (the diamond is redundancy: E's rows come
 * back while any path to E works; each node's rows are kept once); the path and a hop limit keep
 * a query from looping. A neighbour that fails or runs out of time is named in the answer, never
 * skipped silently. Runs in a node's query Workers; everything it needs comes through a
 * {@linkcode QueryContext}.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { Attributes } from "@opentelemetry/api";
import { QueryVisit } from "../../telemetry/overlay_telemetry.ts";
import type { ClusterConfig } from "./cluster_config.ts";
import type { NodeShared } from "./node_shared.ts";
import { describeDown, type PeerStatus } from "./peer_health.ts";
import {
  CONSISTENCIES,
  type Consistency,
  parseQuery,
  type Query,
  QueryError,
  queryKey,
  type Row,
  Sections,
  type SectionsOptions,
  selectRows,
  totalRows,
} from "./query.ts";
import { type AnswerMessage, readAnswer, rowsMessage, rowsOf } from "./messages.ts";
import type { ReplicaEntry } from "./replica.ts";
import { roundMs, type Stage, type TimingTree } from "./timing.ts";
import { describeError } from "../../base/describe_error.ts";

/** How long a query may take when it does not say, in ms. */
export const DEFAULT_DEADLINE_MS = 2000;
/** The longest deadline a query may ask for, in ms. */
export const MAX_DEADLINE_MS = 60_000;
/** The largest `max_age_ms` a query may carry (a day; past any TTL anyway). */
export const MAX_AGE_LIMIT_MS = 86_400_000;
/** The longest `path` a query may have travelled: the hop limit. */
export const MAX_HOPS = 16;

/**
 * What asking a neighbour needs of the link to it: a node's `PeerLink` (wire/frame_conn.ts), or
 * an in-memory link to another engine in the tests.
 */
export interface QueryLink {
  /**
   * Sends `message` and resolves to the reply, or rejects after `timeoutMs`. `rows` frames that
   * come before the reply go to `onRows`, in order; while a promise it returns is pending, no
   * more are read. Aborting `signal` rejects at once with its reason.
   */
  request(
    message: Record<string, unknown>,
    timeoutMs: number,
    onRows?: (frame: Record<string, unknown>) => void | Promise<void>,
    signal?: AbortSignal,
  ): Promise<Record<string, unknown>>;
}

/** What answering needs from the node it runs in. */
export interface QueryContext {
  readonly id: string;
  readonly config: ClusterConfig;
  readonly shared: NodeShared;
  /** Deadline of a query that carries none, in ms. */
  readonly deadlineMs: number;
  /** The wall clock (the cache's ages, when a neighbour went down), in ms. @default {Date.now} */
  readonly now?: () => number;
  readonly log: Logger;
  /** This node's own rows (none for the portal). */
  ownRows(): Row[] | Promise<Row[]>;
  /**
   * This node's replica (only the rows of `keys`, when given: a lookup, not a scan) and how
   * stale each node's part of it is.
   */
  replica(
    keys?: readonly string[],
  ): Promise<{ entries: ReplicaEntry[]; staleMs: Record<string, number> }>;
  /** The link to an out-neighbour. */
  link(id: string): QueryLink;
  /**
   * An out-neighbour's health as the node's heartbeats see it: one that is down is not asked,
   * and a call in flight to one marked down fails at once. Without it, every neighbour is asked.
   */
  peerStatus?(id: string): PeerStatus | null;
}

/** How often a call in flight looks whether its neighbour was marked down meanwhile, in ms. */
const DOWN_POLL_MS = 50;

/** The nodes reachable from `id` along the directed edges, `id` included, sorted. */
export function reachable(config: ClusterConfig, id: string): string[] {
  const seen = new Set([id]);
  const queue = [id];
  while (queue.length > 0) {
    for (const next of config.nodes.get(queue.shift()!)?.connections ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return [...seen].sort();
}

/** A node's share of a gathered answer, as it travels back along an edge. */
interface Gathered {
  readonly sections: Sections;
  readonly answered: Set<string>;
  readonly problems: Map<string, string>;
  readonly stages: Stage[];
  /** How old the oldest cached part of the answer is (its own cache or a neighbour's), or null. */
  cached: { ageMs: number } | null;
  /** True when the whole answer came from this node's cache (no neighbour was asked). */
  readonly hit: boolean;
  /** Sections a second path brought whole (refused then), kept in case the first path fails. */
  readonly alternates: Map<string, { source: string; rows: readonly Row[] }>;
  /** Nodes whose streamed rows from a second path were refused, so could not be kept. */
  readonly refused: Set<string>;
  /** Nodes whose rows the path `by` that brought them could not finish, and why. */
  readonly broken: Map<string, { by: string; why: string }>;
}

/** An empty gathering of an answer. */
function gathering(sections: Sections, stages: Stage[], answered: Iterable<string>): Gathered {
  return {
    sections,
    answered: new Set(answered),
    problems: new Map(),
    stages,
    cached: null,
    hit: false,
    alternates: new Map(),
    refused: new Set(),
    broken: new Map(),
  };
}

/**
 * A path failed: lets go of the sections it brought, takes another path's copy where one was
 * kept, and notes the nodes whose rows cannot be made whole (part of them already passed on, or
 * the other copy not kept).
 */
function abandonPath(into: Gathered, next: string, why: string): void {
  const { released, cut } = into.sections.abandon(next);
  for (const node of cut) {
    into.broken.set(node, {
      by: next,
      why: `its rows came by way of ${next}, which failed partway (${why})`,
    });
  }
  for (const node of released) {
    const alternate = into.alternates.get(node);
    if (alternate) into.sections.add(node, alternate.rows, alternate.source);
    else if (into.refused.has(node)) {
      into.broken.set(node, {
        by: next,
        why: `its rows came by way of ${next}, which failed (${why})`,
      });
    }
  }
}

/**
 * Once every path is done: a node whose rows a failed path left incomplete is missing (with
 * why), unless a later path brought them whole.
 */
function settleBroken(into: Gathered): void {
  for (const [node, { by, why }] of into.broken) {
    const source = into.sections.sourceOf(node);
    if (source !== undefined && source !== by) continue;
    into.answered.delete(node);
    into.problems.set(node, why);
  }
}

/** Records that part of an answer came from a cache, `ageMs` old. */
function addCachedPart(into: Gathered, ageMs: number): void {
  into.cached = { ageMs: Math.max(ageMs, into.cached?.ageMs ?? 0) };
}

/**
 * A signal aborted, with an error naming the neighbour down, once `next` is marked down more
 * than `downs` times (the heartbeats run in another thread, so this polls); `stop` ends the watch.
 */
function whenMarkedDown(
  ctx: QueryContext,
  next: string,
  downs: number,
): { readonly signal: AbortSignal; stop(): void } {
  const controller = new AbortController();
  const timer = setInterval(() => {
    const status = ctx.peerStatus?.(next);
    if (status && status.state === "down" && status.downs > downs) {
      clearInterval(timer);
      controller.abort(new Error(describeDown(status, now(ctx))));
    }
  }, DOWN_POLL_MS);
  return { signal: controller.signal, stop: () => clearInterval(timer) };
}

function now(ctx: QueryContext): number {
  return (ctx.now ?? Date.now)();
}

/** Asks one out-neighbour with what is left of the budget; records what happened. */
async function callNeighbour(
  ctx: QueryContext,
  next: string,
  request: {
    query: Query;
    queryId: string;
    budgetMs: number;
    started: number;
    traceparent: string | undefined;
    maxAgeMs: number | undefined;
    path: readonly string[];
  },
  into: Gathered,
): Promise<void> {
  const callStart = performance.now();
  const left = request.budgetMs - (callStart - request.started);
  // Each hop keeps a margin to merge and reply before its own caller gives up.
  const childBudget = Math.floor(left - Math.max(20, left * 0.1));
  if (childBudget < 5) {
    into.problems.set(next, "no time left in the deadline to ask it");
    into.stages.push({ name: `call ${next}`, ms: 0, note: "skipped: deadline spent" });
    return;
  }
  const health = ctx.peerStatus?.(next) ?? null;
  if (health?.state === "down") {
    const why = describeDown(health, now(ctx));
    into.problems.set(next, why);
    into.stages.push({ name: `call ${next}`, ms: 0, note: `skipped: ${why}` });
    return;
  }
  const watch = health && ctx.peerStatus ? whenMarkedDown(ctx, next, health.downs) : null;
  try {
    const onRows = (frame: Record<string, unknown>) => {
      const rows = rowsOf(frame);
      if (rows === null) return;
      if (!into.sections.add(frame.owner as string, rows, next)) {
        into.refused.add(frame.owner as string);
      }
      return into.sections.drained(); // read no more from `next` till these rows are passed on
    };
    const asked = ctx.link(next).request(
      {
        type: "query",
        hop: true,
        "query_id": request.queryId,
        verb: request.query.verb,
        params: request.query.params,
        consistency: "gather",
        "deadline_ms": childBudget,
        path: [...request.path, ctx.id],
        ...(request.maxAgeMs === undefined ? {} : { "max_age_ms": request.maxAgeMs }),
        ...(request.traceparent === undefined ? {} : { traceparent: request.traceparent }),
      },
      Math.max(1, Math.floor(left - 5)),
      onRows,
      watch?.signal,
    );
    const reply = readAnswer(await asked);
    if (!reply.success) throw new Error(reply.message ?? "failed");
    for (const node of reply.sections ? into.sections.addAll(reply.sections, next) : []) {
      if (!into.alternates.has(node)) {
        into.alternates.set(node, { source: next, rows: reply.sections![node]! });
      }
    }
    for (const node of reply.answered ?? []) into.answered.add(node);
    if (reply.cached) addCachedPart(into, reply.cache_age_ms ?? 0);
    for (const [node, why] of Object.entries(reply.problems ?? {})) {
      if (!into.problems.has(node)) into.problems.set(node, why);
    }
    const tree = reply.timing;
    into.stages.push({
      name: `call ${next}`,
      ms: roundMs(performance.now() - callStart),
      ...(reply.cached ? { note: `cached, ${reply.cache_age_ms} ms old` } : {}),
      ...(tree ? { tree } : {}),
    });
  } catch (error) {
    into.problems.set(next, describeError(error, "message"));
    abandonPath(into, next, describeError(error, "message"));
    into.stages.push({
      name: `call ${next}`,
      ms: roundMs(performance.now() - callStart),
      note: `failed: ${describeError(error, "message")}`,
    });
  } finally {
    watch?.stop();
  }
}

/**
 * The cache (an entry younger than the TTL and than `maxAgeMs`), own rows, then every
 * neighbour in parallel; a complete answer is cached (unless it was streamed: too large to
 * keep), as old as its oldest part.
 */
async function gather(
  ctx: QueryContext,
  query: Query,
  request: {
    queryId: string;
    budgetMs: number;
    started: number;
    traceparent: string | undefined;
    maxAgeMs: number | undefined;
    path: readonly string[];
    repeat: boolean;
  },
  streaming: SectionsOptions,
): Promise<Gathered> {
  const stages: Stage[] = [];
  const key = queryKey(query, "gather");
  let at = performance.now();
  // A repeat by the diamond's second path is answered afresh (and not stored, below): its first
  // answer, just cached here, would only make the caller's answer look cached.
  const hit = request.maxAgeMs === 0 || request.repeat
    ? null
    : ctx.shared.cache.get(key, now(ctx), request.maxAgeMs);
  stages.push({
    name: "cache lookup",
    ms: roundMs(performance.now() - at),
    note: request.maxAgeMs === 0
      ? "skipped: max_age_ms 0"
      : request.repeat
      ? "skipped: a repeat by another path"
      : hit
      ? `hit, ${hit.ageMs} ms old`
      : "miss",
  });
  if (hit) {
    const stored = JSON.parse(hit.value) as { sections: Record<string, Row[]>; answered: string[] };
    const sections = new Sections(streaming);
    sections.addAll(stored.sections);
    return {
      ...gathering(sections, stages, stored.answered),
      cached: { ageMs: hit.ageMs },
      hit: true,
    };
  }
  const into = gathering(new Sections(streaming), stages, [ctx.id]);
  if (ctx.config.nodes.get(ctx.id)!.likesPort !== null) {
    at = performance.now();
    into.sections.add(ctx.id, selectRows(await ctx.ownRows(), query));
    stages.push({ name: "local scan", ms: roundMs(performance.now() - at) });
  }
  // Not back along the path the query came by: that, and the hop limit, keep it from looping.
  const onPath = new Set(request.path);
  await Promise.all(
    ctx.config.nodes.get(ctx.id)!.connections.filter((next) => !onPath.has(next)).map((next) =>
      callNeighbour(ctx, next, { query, ...request }, into)
    ),
  );
  settleBroken(into);
  // Only a first visit stores its answer: a repeat's, stored while the first visit (in another
  // Worker) has claimed the query but not yet looked, would make the first look cached.
  if (
    !request.repeat &&
    !into.sections.streamed &&
    reachable(ctx.config, ctx.id).every((node) => into.answered.has(node))
  ) {
    ctx.shared.cache.set(
      key,
      JSON.stringify({ sections: into.sections, answered: [...into.answered].sort() }),
      now(ctx),
      into.cached?.ageMs ?? 0,
    );
  }
  return into;
}

/**
 * The nodes a query passed through on its way here (`path`), checked: at most
 * {@linkcode MAX_HOPS} node ids, none of them this node (that would be a loop).
 */
function readPath(value: unknown, self: string): readonly string[] {
  if (
    !Array.isArray(value) ||
    !value.every((id) => typeof id === "string" && id.length > 0 && id.length <= 64)
  ) {
    throw new QueryError("path must be a list of node ids");
  }
  if (value.length > MAX_HOPS) {
    throw new QueryError(`path is longer than the hop limit (${MAX_HOPS}): a loop?`);
  }
  if (value.includes(self)) {
    throw new QueryError(`path ${value.join("→")} already passed through ${self}: a loop`);
  }
  return value;
}

function sum(rows: readonly Row[]): number {
  return rows.reduce((total, row) => total + row.likes, 0);
}

/**
 * Answers a `query` message; the reply carries the message's `rid`. An answer of more than
 * {@linkcode ROWS_PER_FRAME} rows is streamed: its rows go to `emit` as `rows` frames (with the
 * same `rid`) before the reply, which then carries none (PROTOCOL.md, "Long answers"). The
 * visit is traced as a span, a child of the caller's (the message's `traceparent`), and the
 * nodes asked get this span as theirs.
 */
export async function answerQuery(
  ctx: QueryContext,
  message: Record<string, unknown>,
  emit: (frame: Record<string, unknown>) => void | Promise<unknown> = () => {},
): Promise<AnswerMessage> {
  const visit = new QueryVisit(ctx.id, message.traceparent);
  let reply: AnswerMessage | undefined;
  try {
    reply = await answer(ctx, message, visit, emit);
    return reply;
  } finally {
    visit.end(
      reply ? visitAttributes(reply) : {},
      reply?.success === true ? undefined : String(reply?.message ?? "failed"),
    );
  }
}

/** What a reply tells about the visit, as span attributes. */
function visitAttributes(reply: AnswerMessage): Attributes {
  const rows = reply.streamed ?? reply.results?.length ??
    Object.values(reply.sections ?? {}).reduce((n, section) => n + section.length, 0);
  return {
    rows,
    cached: reply.cached === true,
    ...(reply.partial === true ? { partial: true } : {}),
    ...(Array.isArray(reply.missing) && reply.missing.length > 0
      ? { missing: reply.missing.join(",") }
      : {}),
  };
}

async function answer(
  ctx: QueryContext,
  message: Record<string, unknown>,
  visit: QueryVisit,
  emit: (frame: Record<string, unknown>) => void | Promise<unknown>,
): Promise<AnswerMessage> {
  const started = performance.now();
  const hop = message.hop === true;
  const queryId = typeof message.query_id === "string" && message.query_id.length <= 64
    ? message.query_id
    : crypto.randomUUID();
  const base = {
    type: "answer",
    ...(typeof message.rid === "number" ? { rid: message.rid } : {}),
    "query_id": queryId,
  } as const;
  let query: Query;
  let consistency: Consistency;
  let budgetMs: number;
  let maxAgeMs: number | undefined;
  let path: readonly string[];
  try {
    query = parseQuery(message.verb, message.params ?? []);
    const asked = message.consistency ?? "gather";
    if (!(CONSISTENCIES as readonly unknown[]).includes(asked)) {
      throw new QueryError(
        `unknown consistency ${JSON.stringify(asked)}: use ${CONSISTENCIES.join(" or ")}`,
      );
    }
    consistency = asked as Consistency;
    const deadline = message.deadline_ms ?? ctx.deadlineMs;
    if (typeof deadline !== "number" || !(deadline >= 1 && deadline <= MAX_DEADLINE_MS)) {
      throw new QueryError(`deadline_ms must be from 1 to ${MAX_DEADLINE_MS}`);
    }
    budgetMs = deadline;
    const maxAge = message.max_age_ms;
    if (
      maxAge !== undefined &&
      (!Number.isSafeInteger(maxAge) || (maxAge as number) < 0 ||
        (maxAge as number) > MAX_AGE_LIMIT_MS)
    ) {
      throw new QueryError(
        `max_age_ms must be a whole number from 0 (no cache) to ${MAX_AGE_LIMIT_MS}`,
      );
    }
    maxAgeMs = maxAge as number | undefined;
    path = readPath(message.path ?? [], ctx.id);
  } catch (error) {
    ctx.shared.add("failed");
    ctx.log.warn(`query ${queryId} refused: ${describeError(error, "message")}`);
    return { ...base, success: false, message: describeError(error, "message") };
  }
  // The diamond: another path brought this query here before. It is answered again, so that E's
  // rows come back by either path; the caller keeps each node's rows once.
  const repeat = !ctx.shared.seen.claim(queryId) && hop;
  if (repeat) {
    ctx.shared.add("repeats");
    ctx.log.info(`query ${queryId} came again, by way of ${path.join("→")}: answered again`);
  }
  visit.asked(query.verb, {
    hop,
    consistency,
    "query_id": queryId,
    ...(repeat ? { repeat: true } : {}),
  });
  ctx.log.info(
    `query ${queryId} ${query.verb}${
      query.params.length ? ` ${JSON.stringify(query.params)}` : ""
    } ${consistency} from ${hop ? "a node" : "a client"}`,
  );
  const timing = (stages: Stage[]): TimingTree => ({
    node: ctx.id,
    totalMs: roundMs(performance.now() - started),
    stages,
  });

  // Past ROWS_PER_FRAME rows an answer is streamed to the caller as `rows` frames; a client's
  // `total` sums the rows as they come instead (its answer is one row per node).
  const spilledSums = new Map<string, number>();
  const streaming: SectionsOptions = !hop && query.verb === "total"
    ? {
      spill: (node, rows) => {
        spilledSums.set(node, (spilledSums.get(node) ?? 0) + sum(rows));
      },
    }
    : {
      spill: (node, rows) => emit({ ...rowsMessage(message.rid, node, rows) }),
    };
  /** What a client gets: the rows held (or the totals), and how many rows there were in all. */
  const resultsOf = (sections: Sections) => {
    const rows = sections.rows();
    if (query.verb === "total") {
      const totals = totalRows([
        ...rows,
        ...[...spilledSums].map(([node, likes]) => ({ key: "total", node, likes })),
      ]);
      return { results: totals, count: totals.length, streamed: {} };
    }
    return {
      results: rows,
      count: sections.count,
      streamed: sections.streamed ? { streamed: sections.count } : {},
    };
  };

  if (consistency === "local") {
    const at = performance.now();
    const { entries, staleMs } = await ctx.replica(
      query.verb === "get_by_key" ? query.params : undefined,
    );
    const sections = new Sections(streaming);
    const byNode = Map.groupBy(selectRows(entries, query), (row) => row.node);
    for (const [node, rows] of byNode) sections.add(node, rows);
    const { results, count, streamed } = resultsOf(sections);
    const stalest = Math.max(0, ...Object.values(staleMs));
    ctx.shared.add("answered");
    return {
      ...base,
      success: true,
      partial: false,
      message: `From ${ctx.id}'s replica (${count} rows), at most ${stalest} ms stale`,
      results,
      ...streamed,
      total: sections.likes,
      answered: [ctx.id],
      missing: [],
      problems: {},
      cached: false,
      consistency,
      "stale_ms": staleMs,
      timing: timing([{ name: "replica read", ms: roundMs(performance.now() - at) }]),
    };
  }

  const gathered = await gather(
    ctx,
    query,
    { queryId, budgetMs, started, traceparent: visit.traceparent, maxAgeMs, path, repeat },
    streaming,
  );
  ctx.shared.add("answered");
  const cached = gathered.cached !== null;
  const cacheAge = cached ? { "cache_age_ms": gathered.cached!.ageMs } : {};
  if (hop) {
    return {
      ...base,
      success: true,
      sections: gathered.sections.toJSON(),
      answered: [...gathered.answered].sort(),
      problems: Object.fromEntries(gathered.problems),
      cached,
      ...cacheAge,
      timing: timing(gathered.stages),
    };
  }
  const answered = [...gathered.answered].sort();
  const missing = reachable(ctx.config, ctx.id).filter((node) => !gathered.answered.has(node));
  const problems: Record<string, string> = {};
  for (const node of missing) {
    problems[node] = gathered.problems.get(node) ?? "not reached: every path to it failed";
  }
  const { results, count, streamed } = resultsOf(gathered.sections);
  const partial = missing.length > 0;
  return {
    ...base,
    success: true,
    partial,
    message: partial
      ? `PARTIAL: ${answered.length} of ${
        answered.length + missing.length
      } nodes answered (${count} rows); missing ${
        missing.map((node) => `${node} (${problems[node]})`).join(", ")
      }`
      : `Combined results from ${answered.length} nodes (${count} rows)${
        gathered.hit
          ? `, from the cache (${gathered.cached!.ageMs} ms old)`
          : cached
          ? `, cached parts up to ${gathered.cached!.ageMs} ms old`
          : ""
      }`,
    results,
    ...streamed,
    total: gathered.sections.likes,
    answered,
    missing,
    problems,
    cached,
    ...cacheAge,
    consistency,
    timing: timing(gathered.stages),
  };
}
