/**
 * `startNode()`: one overlay node as a library call. It listens for framed queries (clients and
 * other nodes), answers them from its own likes and its neighbours' answers gathered in parallel
 * under a deadline, or from its replica at once (`consistency: "local"`); it keeps the replica
 * converging by gossip, caches answers in shared memory, and answers `stats`. A node whose config
 * names a `likes_port` is also a PrimaryLikesServer (`serveLikes()`) for its own LikesServers.
 * The message shapes are in PROTOCOL.md ("The node protocol").
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { type LikesService, serveLikes } from "../server/likes_service.ts";
import type { ClusterConfig } from "./cluster_config.ts";
import { FrameConn, PeerLink } from "./frame_conn.ts";
import { gossipPeers } from "./cluster_config.ts";
import { Gossip, type GossipStats } from "./gossip.ts";
import {
  CONSISTENCIES,
  type Consistency,
  parseQuery,
  type Query,
  QueryError,
  queryKey,
  type Row,
  Sections,
  selectRows,
  totalRows,
} from "./query.ts";
import { type CacheStats, SharedCache } from "./shared_cache.ts";
import { checkTree, roundMs, type Stage, type TimingTree } from "./timing.ts";

/** How long a query may take when it does not say, in ms. */
export const DEFAULT_DEADLINE_MS = 2000;
/** The longest deadline a query may ask for, in ms. */
export const MAX_DEADLINE_MS = 60_000;
/** Time between full gossip exchanges when not given, in ms. */
export const DEFAULT_GOSSIP_INTERVAL_MS = 1000;
/** Cache TTL of the portal (a node without likes) and of the other nodes, in ms (as the seed). */
export const DEFAULT_CACHE_TTL_MS = { portal: 10_000, data: 5_000 } as const;

/** Options for {@linkcode startNode}. */
export interface StartNodeOptions {
  readonly config: ClusterConfig;
  /** Which node of the config this is. */
  readonly id: string;
  /** Where the PrimaryLikesServer's Workers log (`<logDir>/PrimaryLikesLog`); must exist. */
  readonly logDir: string;
  /** The likes journal's directory (a node with likes only). @default {none: in memory} */
  readonly dataDir?: string;
  /** Connection Workers of the PrimaryLikesServer. @default {1} */
  readonly workers?: number;
  /** Time between full gossip exchanges, in ms. @default {1000} */
  readonly gossipIntervalMs?: number;
  /** How long a cached answer stays valid, in ms. @default {10000 for the portal, 5000 otherwise} */
  readonly cacheTtlMs?: number;
  /** Bytes of the shared-memory cache. @default {1048576} */
  readonly cacheBytes?: number;
  /** Deadline of a query that does not carry one, in ms. @default {2000} */
  readonly deadlineMs?: number;
  /** A connection silent this long is closed, in ms. @default {120000} */
  readonly idleTimeoutMs?: number;
  /** Open query connections past which new ones are refused. @default {1024} */
  readonly maxConnections?: number;
  /** Address to listen on instead of the config's host (e.g. `0.0.0.0`). @default {config host} */
  readonly listenHost?: string;
  /** Called once if the PrimaryLikesServer fails after start-up. */
  readonly onFatal?: (error: Error) => void;
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
  readonly connections: { readonly open: number; readonly refused: number };
}

/** A running node. */
export interface OverlayNode extends AsyncDisposable {
  readonly id: string;
  /** The address queries and gossip arrive at. */
  readonly hostname: string;
  readonly port: number;
  /** The PrimaryLikesServer (null for the portal). */
  readonly likes: LikesService | null;
  /** This node's counters. */
  stats(): NodeStats;
  /** Stops listening, gossiping and counting. */
  stop(): Promise<void>;
}

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
  cached: { ageMs: number } | null;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Starts a node and resolves once it accepts queries (and likes, if it holds any).
 *
 * @throws {RangeError} If `id` is not in the config.
 * @throws {Deno.errors.AddrInUse} If its port (or likes port) is taken.
 * @throws {Deno.errors.NotCapable} If the process may not listen there.
 */
export async function startNode(options: StartNodeOptions): Promise<OverlayNode> {
  const { config, id } = options;
  const me = config.nodes.get(id);
  if (!me) {
    throw new RangeError(
      `Cannot start node ${JSON.stringify(id)}: the config names ${
        [...config.nodes.keys()].join(", ")
      }`,
    );
  }
  const log = getLogger(["likes", "overlay", "node"]);
  const listenHost = options.listenHost ?? me.host;
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
  const maxConnections = options.maxConnections ?? 1024;
  const gossipIntervalMs = options.gossipIntervalMs ?? DEFAULT_GOSSIP_INTERVAL_MS;
  const cache = SharedCache.create({
    ttlMs: options.cacheTtlMs ??
      (me.likesPort === null ? DEFAULT_CACHE_TTL_MS.portal : DEFAULT_CACHE_TTL_MS.data),
    capacityBytes: options.cacheBytes ?? 1 << 20,
  });

  const likes = me.likesPort === null ? null : await serveLikes({
    logFile: `${options.logDir.replace(/\/+$/, "")}/PrimaryLikesLog`,
    hostname: listenHost,
    port: me.likesPort,
    workers: options.workers ?? 1,
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.onFatal ? { onFatal: options.onFatal } : {}),
  });
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: listenHost, port: me.port });
  } catch (error) {
    await likes?.stop();
    throw error;
  }

  const links = new Map<string, PeerLink>();
  for (const peer of gossipPeers(config, id)) {
    const node = config.nodes.get(peer)!;
    links.set(peer, new PeerLink({ hostname: node.host, port: node.port }));
  }
  const gossip = new Gossip({ self: id, peers: links, intervalMs: gossipIntervalMs });
  const replica = gossip.replica;
  let lastTotal = -1;
  const readOwnCounts = () => {
    if (!likes) return;
    const total = likes.table.total();
    if (total === lastTotal) {
      gossip.observeOwn({});
      return;
    }
    lastTotal = total;
    gossip.observeOwn(likes.table.snapshot().clients);
  };
  readOwnCounts();
  const ownTimer = setInterval(readOwnCounts, Math.min(50, gossipIntervalMs));
  gossip.start();

  const seen = new Map<string, number>();
  const conns = new Set<FrameConn>();
  let refused = 0;
  const counts = { answered: 0, repeats: 0, failed: 0 };
  const sweeper = setInterval(() => {
    const now = performance.now();
    for (const conn of conns) {
      if (now - conn.lastActivity > idleTimeoutMs) {
        log.info(`closing ${conn.remote}: silent for ${idleTimeoutMs} ms`);
        conn.close();
      }
    }
    const forget = Date.now() - 2 * MAX_DEADLINE_MS;
    for (const [queryId, at] of seen) if (at < forget) seen.delete(queryId);
  }, Math.min(1000, idleTimeoutMs));

  const ownRows = (): Row[] =>
    likes
      ? Object.entries(likes.table.snapshot().clients).map(([key, n]) => ({
        key,
        node: id,
        likes: n,
      }))
      : [];

  /** Gathers along the edges: own rows, then every neighbour in parallel, each under a deadline. */
  const gather = async (
    query: Query,
    queryId: string,
    budgetMs: number,
    started: number,
  ): Promise<Gathered> => {
    const stages: Stage[] = [];
    const key = queryKey(query, "gather");
    const version = replica.version;
    let at = performance.now();
    const hit = cache.get(key, version);
    stages.push({
      name: "cache lookup",
      ms: roundMs(performance.now() - at),
      note: hit ? `hit, ${hit.ageMs} ms old` : "miss",
    });
    if (hit) {
      const stored = JSON.parse(hit.value) as {
        sections: Record<string, Row[]>;
        answered: string[];
      };
      const sections = new Sections();
      sections.addAll(stored.sections);
      return {
        sections,
        answered: new Set(stored.answered),
        problems: new Map(),
        stages,
        cached: { ageMs: hit.ageMs },
      };
    }
    at = performance.now();
    const sections = new Sections();
    const answered = new Set([id]);
    const problems = new Map<string, string>();
    if (likes) {
      sections.add(id, selectRows(ownRows(), query));
      stages.push({ name: "local scan", ms: roundMs(performance.now() - at) });
    }
    const calls = me.connections.map(async (next) => {
      const callStart = performance.now();
      const left = budgetMs - (callStart - started);
      const childBudget = Math.floor(left - Math.max(20, left * 0.1));
      if (childBudget < 5) {
        problems.set(next, "no time left in the deadline to ask it");
        stages.push({ name: `call ${next}`, ms: 0, note: "skipped: deadline spent" });
        return;
      }
      try {
        const reply = await links.get(next)!.request({
          type: "query",
          hop: true,
          "query_id": queryId,
          verb: query.verb,
          params: query.params,
          consistency: "gather",
          deadline_ms: childBudget,
        }, Math.max(1, Math.floor(left - 5)));
        if (reply.success !== true) throw new Error(String(reply.message ?? "failed"));
        if (isRecord(reply.sections)) {
          sections.addAll(reply.sections as Record<string, Row[]>);
        }
        for (const node of Array.isArray(reply.answered) ? reply.answered : []) {
          if (typeof node === "string") answered.add(node);
        }
        if (isRecord(reply.problems)) {
          for (const [node, why] of Object.entries(reply.problems)) {
            if (!problems.has(node)) problems.set(node, String(why));
          }
        }
        const tree = checkTree(reply.timing);
        stages.push({
          name: `call ${next}`,
          ms: roundMs(performance.now() - callStart),
          ...(reply.duplicate === true
            ? { note: "already answered by another path" }
            : reply.cached === true
            ? { note: `cached, ${reply.cache_age_ms} ms old` }
            : {}),
          ...(tree ? { tree } : {}),
        });
      } catch (error) {
        problems.set(next, errorText(error));
        stages.push({
          name: `call ${next}`,
          ms: roundMs(performance.now() - callStart),
          note: `failed: ${errorText(error)}`,
        });
      }
    });
    await Promise.all(calls);
    const complete = reachable(config, id).every((node) => answered.has(node));
    if (complete) {
      cache.set(key, version, JSON.stringify({ sections, answered: [...answered].sort() }));
    }
    return { sections, answered, problems, stages, cached: null };
  };

  const answer = async (message: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const started = performance.now();
    const rid = message.rid;
    const hop = message.hop === true;
    const queryId = typeof message.query_id === "string" && message.query_id.length <= 64
      ? message.query_id
      : crypto.randomUUID();
    const base = { type: "answer", rid, "query_id": queryId };
    let query: Query;
    let consistency: Consistency;
    let budgetMs: number;
    try {
      query = parseQuery(message.verb, message.params ?? []);
      const asked = message.consistency ?? "gather";
      if (!(CONSISTENCIES as readonly unknown[]).includes(asked)) {
        throw new QueryError(
          `unknown consistency ${JSON.stringify(asked)}: use ${CONSISTENCIES.join(" or ")}`,
        );
      }
      consistency = asked as Consistency;
      const deadline = message.deadline_ms ?? deadlineMs;
      if (typeof deadline !== "number" || !(deadline >= 1 && deadline <= MAX_DEADLINE_MS)) {
        throw new QueryError(`deadline_ms must be from 1 to ${MAX_DEADLINE_MS}`);
      }
      budgetMs = deadline;
    } catch (error) {
      counts.failed++;
      log.warn(`query ${queryId} refused: ${errorText(error)}`);
      return { ...base, success: false, message: errorText(error) };
    }
    log.info(
      `query ${queryId} ${query.verb}${
        query.params.length ? ` ${JSON.stringify(query.params)}` : ""
      } ${consistency} from ${hop ? "a node" : "a client"}`,
    );
    const timing = (stages: Stage[]): TimingTree => ({
      node: id,
      totalMs: roundMs(performance.now() - started),
      stages,
    });

    if (hop && seen.has(queryId)) {
      counts.repeats++;
      log.info(`query ${queryId} already answered here; this path adds nothing`);
      return {
        ...base,
        success: true,
        duplicate: true,
        sections: {},
        answered: [],
        timing: timing([]),
      };
    }
    seen.set(queryId, Date.now());

    if (consistency === "local") {
      const at = performance.now();
      const sections = new Sections();
      const byNode = Map.groupBy(selectRows(replica.entries(), query), (row) => row.node);
      for (const [node, nodeRows] of byNode) sections.add(node, nodeRows);
      const rows = sections.rows();
      const staleMs = gossip.staleness();
      counts.answered++;
      const results = query.verb === "total" ? totalRows(rows) : rows;
      const stalest = Math.max(0, ...Object.values(staleMs));
      return {
        ...base,
        success: true,
        partial: false,
        message: `From ${id}'s replica (${results.length} rows), at most ${stalest} ms stale`,
        results,
        total: rows.reduce((sum, row) => sum + row.likes, 0),
        answered: [id],
        missing: [],
        problems: {},
        cached: false,
        consistency,
        stale_ms: staleMs,
        timing: timing([{ name: "replica read", ms: roundMs(performance.now() - at) }]),
      };
    }

    const gathered = await gather(query, queryId, budgetMs, started);
    counts.answered++;
    const cached = gathered.cached !== null;
    if (hop) {
      return {
        ...base,
        success: true,
        sections: gathered.sections.toJSON(),
        answered: [...gathered.answered].sort(),
        problems: Object.fromEntries(gathered.problems),
        cached,
        ...(cached ? { cache_age_ms: gathered.cached!.ageMs } : {}),
        timing: timing(gathered.stages),
      };
    }
    const rows = gathered.sections.rows();
    const answered = [...gathered.answered].sort();
    const missing = reachable(config, id).filter((node) => !gathered.answered.has(node));
    const problems: Record<string, string> = {};
    for (const node of missing) {
      problems[node] = gathered.problems.get(node) ?? "not reached: every path to it failed";
    }
    const results = query.verb === "total" ? totalRows(rows) : rows;
    const partial = missing.length > 0;
    return {
      ...base,
      success: true,
      partial,
      message: partial
        ? `PARTIAL: ${answered.length} of ${
          answered.length + missing.length
        } nodes answered (${results.length} rows); missing ${
          missing.map((node) => `${node} (${problems[node]})`).join(", ")
        }`
        : `Combined results from ${answered.length} nodes (${results.length} rows)${
          cached ? `, from the cache (${gathered.cached!.ageMs} ms old)` : ""
        }`,
      results,
      total: rows.reduce((sum, row) => sum + row.likes, 0),
      answered,
      missing,
      problems,
      cached,
      ...(cached ? { cache_age_ms: gathered.cached!.ageMs } : {}),
      consistency,
      timing: timing(gathered.stages),
    };
  };

  const stats = (): NodeStats => {
    const byNode: Record<string, number> = {};
    for (const entry of replica.entries()) {
      byNode[entry.node] = (byNode[entry.node] ?? 0) + entry.likes;
    }
    return {
      node: id,
      likes: likes ? likes.table.total() : null,
      replica: {
        total: replica.total(),
        byNode,
        entries: replica.entries().length,
        version: replica.version,
        staleMs: gossip.staleness(),
      },
      cache: cache.stats(),
      gossip: gossip.stats(),
      queries: { ...counts },
      connections: { open: conns.size, refused },
    };
  };

  const handle = async (conn: FrameConn, value: unknown): Promise<void> => {
    if (!isRecord(value)) {
      await conn.send({ type: "error", message: "a message must be a JSON object" });
      return;
    }
    switch (value.type) {
      case "query":
        await conn.send(await answer(value));
        return;
      case "gossip":
        try {
          gossip.receive(value);
        } catch (error) {
          log.warn(`gossip from ${conn.remote} refused: ${errorText(error)}`);
        }
        return;
      case "stats":
        await conn.send({ type: "stats", rid: value.rid, ...stats() });
        return;
      default:
        await conn.send({
          type: "error",
          rid: value.rid,
          message: `unknown message type ${
            JSON.stringify(value.type)
          }: a node takes query, gossip and stats`,
        });
    }
  };

  const serve = async (conn: FrameConn) => {
    try {
      for await (const value of conn.values()) {
        handle(conn, value).catch(() => conn.close());
      }
    } catch (error) {
      log.warn(`closing ${conn.remote}: ${errorText(error)}`);
      await conn.send({ type: "error", message: errorText(error) }).catch(() => {});
    } finally {
      conn.close();
      conns.delete(conn);
    }
  };

  const accepting = (async () => {
    while (true) {
      let tcp: Deno.TcpConn;
      try {
        tcp = await listener.accept();
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) return;
        log.warn(`accept failed: ${errorText(error)}`);
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const conn = new FrameConn(tcp);
      if (conns.size >= maxConnections) {
        refused++;
        conn.send({ type: "error", message: "too many connections" }).finally(() => conn.close());
        continue;
      }
      conns.add(conn);
      serve(conn);
    }
  })();

  log.info(
    `node ${id} listening on ${listenHost}:${me.port}${
      likes ? `, likes on ${listenHost}:${likes.port}` : " (portal: no likes)"
    }; gossip with ${[...links.keys()].join(", ") || "nobody"} every ${gossipIntervalMs} ms`,
  );

  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      gossip[Symbol.dispose]();
      clearInterval(ownTimer);
      clearInterval(sweeper);
      listener.close();
      await accepting;
      for (const conn of conns) conn.close();
      for (const link of links.values()) link.close();
      await likes?.stop();
    })();

  return {
    id,
    hostname: listenHost,
    port: me.port,
    likes,
    stats,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
