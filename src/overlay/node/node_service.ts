/**
 * `startNode()`: one overlay node as a library call. Its query Workers listen on the node's port
 * and answer framed queries (see `query_engine.ts`); they share the answer cache, the query ids
 * already answered and the counters in shared memory (`node_shared.ts`). The main thread keeps
 * the replica (gossip with every neighbour, both directions of each edge), answers what the
 * Workers ask of it (the replica, `stats`) and watches each neighbour's heartbeats
 * (`peer_monitor.ts`): a neighbour marked down is not asked or gossiped to until it answers a
 * probe. A node whose config names a `likes_port` is also a PrimaryLikesServer (`serveLikes()`)
 * for its own LikesServers.
 * The message shapes are in PROTOCOL.md ("The node protocol"). With `OTEL_DENO=true` the main
 * thread exports the cache's and the gossip's metrics, and each query visit is a span
 * (`src/telemetry/overlay_telemetry.ts`).
 *
 * @module
 */

import process from "node:process";
import { getLogger } from "@logtape/logtape";
import { type LikesService, serveLikes } from "../../server/likes_service.ts";
import { startListeningWorkers, stopWorker } from "../../threads/listening_workers.ts";
import { type ClusterConfig, formatClusterConfig, gossipPeers } from "../domain/cluster_config.ts";
import { PeerLink } from "../wire/frame_conn.ts";
import type { ClusterSecret } from "../wire/link_auth.ts";
import { Gossip, GossipRefusal } from "../domain/gossip.ts";
import { PeerHealth } from "../domain/peer_health.ts";
import { PeerMonitor } from "./peer_monitor.ts";
import { LogLimiter } from "../domain/log_limiter.ts";
import type { FromQueryWorker, PackedReplica, ToQueryWorker } from "./node_messages.ts";
import { packRows, transferablesOf } from "../domain/packed_rows.ts";
import type { NodeStats } from "../domain/messages.ts";
import { NodeShared } from "../domain/node_shared.ts";
export type { NodeStats };
import { exportNodeMetrics } from "../../telemetry/overlay_telemetry.ts";
import { serverTelemetry } from "../../telemetry/server_telemetry.ts";
import { LOG_FILES, logPath } from "../../log/log_paths.ts";
import { NODE_DEFAULTS } from "./node_defaults.ts";
import { describeError } from "../../base/describe_error.ts";

/** Options for {@linkcode startNode}. */
export interface StartNodeOptions {
  readonly config: ClusterConfig;
  /** Which node of the config this is. */
  readonly id: string;
  /** The cluster's secret: every connection to the node and from it is authenticated with it. */
  readonly secret: ClusterSecret;
  /** Where the node's Workers log (`node.log`, `PrimaryLikesLog`) with `workerLogs`; must exist. */
  readonly logDir: string;
  /**
   * Whether the node's Workers log into `logDir` (each sets up its own logging; entry points
   * say yes). This thread's logging is the caller's. @default {false}
   */
  readonly workerLogs?: boolean;
  /** The likes journal's directory (a node with likes only). @default {none: in memory} */
  readonly dataDir?: string;
  /** Connection Workers of the PrimaryLikesServer. @default {1} */
  readonly workers?: number;
  /** Distinct clients the node's likes table holds at once. @default {16384} */
  readonly maxClients?: number;
  /** A client idle this long is forgotten (its likes retired), in ms. @default {7 days} */
  readonly clientTtlMs?: number;
  /** Query Workers on the node's port. @default {2} */
  readonly queryWorkers?: number;
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
  /** Open query connections per query Worker past which new ones are refused. @default {1024} */
  readonly maxConnections?: number;
  /** Time a connection has to authenticate, in ms. @default {5000} */
  readonly handshakeTimeoutMs?: number;
  /**
   * Connections per query Worker that may be in their handshake at once; past it the oldest of
   * them is closed. @default {64}
   */
  readonly maxHandshakes?: number;
  /** Time a frame may take once its first byte arrived, in ms. @default {10000} */
  readonly frameDeadlineMs?: number;
  /** Requests one connection may have in flight; past it they get an error. @default {64} */
  readonly maxInFlight?: number;
  /** Time between heartbeats to each neighbour, in ms. @default {500} */
  readonly heartbeatMs?: number;
  /** A neighbour silent this long is marked down, in ms. @default {2000} */
  readonly downAfterMs?: number;
  /** Longest wait between probes of a neighbour that is down, in ms. @default {1000} */
  readonly maxProbeMs?: number;
  /** Address to listen on instead of the config's host (e.g. `0.0.0.0`). @default {config host} */
  readonly listenHost?: string;
  /** Called once if the PrimaryLikesServer or a query Worker fails after start-up. */
  readonly onFatal?: (error: Error) => void;
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

const WORKER_URL = new URL("./query_worker.ts", import.meta.url).href;
const STOP_TIMEOUT_MS = 5000;

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
  const logDir = options.logDir.replace(/\/+$/, "") || "/";
  const listenHost = options.listenHost ?? me.host;
  const queryWorkers = options.queryWorkers ?? NODE_DEFAULTS.queryWorkers;
  const gossipIntervalMs = options.gossipIntervalMs ?? NODE_DEFAULTS.gossipIntervalMs;
  const onFatal = options.onFatal ?? (() => {});
  const shared = NodeShared.create({
    ttlMs: options.cacheTtlMs ??
      (me.likesPort === null ? NODE_DEFAULTS.cacheTtlMs.portal : NODE_DEFAULTS.cacheTtlMs.data),
    capacityBytes: options.cacheBytes ?? NODE_DEFAULTS.cacheBytes,
  }, [...config.nodes.keys()]);

  const likes = me.likesPort === null ? null : await serveLikes({
    ...(options.workerLogs ? { logFile: logPath(logDir, LOG_FILES.server) } : {}),
    hostname: listenHost,
    port: me.likesPort,
    workers: options.workers ?? NODE_DEFAULTS.likesWorkers,
    ...(options.maxClients === undefined ? {} : { maxClients: options.maxClients }),
    ...(options.clientTtlMs === undefined ? {} : { clientTtlMs: options.clientTtlMs }),
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    recorder: serverTelemetry() ?? {},
    onFatal,
  });
  // A node counts in the embedded store (never in Redis): its own rows are read from the table.
  const table = likes?.table ?? null;

  const links = new Map<string, PeerLink>();
  for (const peer of gossipPeers(config, id)) {
    const node = config.nodes.get(peer)!;
    links.set(peer, new PeerLink({ hostname: node.host, port: node.port, secret: options.secret }));
  }
  const health = new PeerHealth({
    peers: [...links.keys()],
    heartbeatMs: options.heartbeatMs ?? NODE_DEFAULTS.heartbeatMs,
    downAfterMs: options.downAfterMs ?? NODE_DEFAULTS.downAfterMs,
    maxProbeMs: options.maxProbeMs ?? NODE_DEFAULTS.maxProbeMs,
    now: Date.now(),
  });
  const gossip = new Gossip({
    self: id,
    peers: links,
    intervalMs: gossipIntervalMs,
    isUp: (peer) => health.status(peer).state === "up",
    owners: new Set(
      [...config.nodes.values()].filter((n) => n.likesPort !== null).map((n) => n.id),
    ),
  });
  // Heartbeats go on connections of their own: on the gossip's, they would wait behind a
  // million-key delta and a busy but healthy neighbour would look dead.
  const heartbeatLinks = new Map(
    [...links.keys()].map((peer) => {
      const node = config.nodes.get(peer)!;
      return [peer, new PeerLink({ hostname: node.host, port: node.port, secret: options.secret })];
    }),
  );
  const monitor = new PeerMonitor({
    links: heartbeatLinks,
    health,
    table: shared.peers,
    onDown: (peer, reason) => links.get(peer)!.drop(reason),
    onUp: (peer) => gossip.peerUp(peer),
  });
  const gossipLog = new LogLimiter(60_000);
  const replica = gossip.replica;
  let lastRead = "";
  let lastExpired = -1;
  const readOwnCounts = () => {
    if (table) {
      // Read only when a count rose or a client was forgotten (its likes stay in the total,
      // folded into the retired row); the stamp moves on at every look.
      const expired = table.forgotten();
      const seen = `${table.total()}/${expired}`;
      if (seen !== lastRead) {
        // Only what changed, unless clients were forgotten (then the table whole): a read
        // costs the changes, not the table, so a million keys do not slow the counting down.
        const changes = table.takeChanged();
        if (expired !== lastExpired) {
          const { total, clients } = table.snapshot();
          let live = 0;
          for (const count of Object.values(clients)) live += count;
          gossip.observeOwn(clients, total - live);
          lastExpired = expired;
        } else {
          gossip.observeOwnChanges(changes, table.total());
        }
        lastRead = seen;
      } else {
        gossip.touchOwn();
      }
    }
  };
  readOwnCounts();
  const ownTimer = setInterval(readOwnCounts, Math.min(50, gossipIntervalMs));

  const stats = (): NodeStats => {
    const { byNode, entries } = replica.summary();
    const { rss } = Deno.memoryUsage();
    return {
      node: id,
      likes: table ? table.total() : null,
      replica: {
        total: Object.values(byNode).reduce((sum, n) => sum + n, 0), // = replica.total()
        byNode,
        entries,
        version: replica.version,
        staleMs: gossip.staleness(),
      },
      cache: shared.cacheStats(),
      gossip: gossip.stats(),
      queries: {
        answered: shared.count("answered"),
        repeats: shared.count("repeats"),
        failed: shared.count("failed"),
      },
      connections: {
        open: shared.count("open"),
        refused: shared.count("refused"),
        unauthenticated: shared.count("unauthenticated"),
      },
      queryWorkers,
      peers: Object.fromEntries(monitor.statuses()),
      // maxRSS is in KiB (getrusage), for the whole process
      memory: { rss, peakRss: process.resourceUsage().maxRSS * 1024 },
    };
  };

  /** Serves what a Worker asks, and the gossip it hands over. */
  const onWorkerMessage = (worker: Worker) => (event: MessageEvent<FromQueryWorker>) => {
    const message = event.data;
    if (message.kind === "gossip") {
      const claimed = (message.message as { from?: unknown } | null)?.from;
      const peer = typeof claimed === "string" && config.nodes.has(claimed)
        ? `${claimed} (${message.from})`
        : message.from;
      const overclaims = gossip.stats().overclaims;
      try {
        gossip.receive(message.message, Date.now(), message.bytes);
      } catch (error) {
        const rule = error instanceof GossipRefusal ? error.rule : "error";
        const notLogged = gossipLog.admit(`${peer}/${rule}`, performance.now());
        if (notLogged !== null) {
          log.warn(
            `gossip from ${peer} refused, nothing of it merged: ${describeError(error, "message")}${
              notLogged > 0 ? ` (${notLogged} more refused for this since the last such line)` : ""
            }`,
          );
        }
      }
      const dropped = gossip.stats().overclaims - overclaims;
      if (dropped > 0 && gossipLog.admit(`${peer}/overclaim`, performance.now()) !== null) {
        log.warn(
          `gossip from ${peer} sent ${id} a delta about ${id} itself, not taken (only ${id} says what it counted): a forger, or a node that holds an old epoch of ${id}`,
        );
      }
    } else if (message.kind === "ask") {
      if (message.what === "stats") {
        const answer: ToQueryWorker = { kind: "answer", ask: message.ask, value: stats() };
        worker.postMessage(answer);
        return;
      }
      const rows = packRows(message.keys ? replica.rowsOf(message.keys) : replica.entries());
      const value: PackedReplica = { rows, staleMs: gossip.staleness() };
      const answer: ToQueryWorker = { kind: "answer", ask: message.ask, value };
      worker.postMessage(answer, transferablesOf(rows));
    }
  };

  let workers: Worker[] = [];
  const stopWorkers = () =>
    Promise.all(workers.map((worker) => stopWorker(worker, STOP_TIMEOUT_MS)));
  try {
    const configText = formatClusterConfig(config);
    ({ workers } = await startListeningWorkers({
      url: WORKER_URL,
      count: queryWorkers,
      hostname: listenHost,
      port: me.port,
      what: "query worker",
      name: (index) => `queries-${id}-${index}`,
      startMessage: (index, port, reusePort): ToQueryWorker => ({
        kind: "start",
        settings: {
          index,
          id,
          configText,
          hostname: listenHost,
          port,
          reusePort,
          deadlineMs: options.deadlineMs ?? NODE_DEFAULTS.deadlineMs,
          idleTimeoutMs: options.idleTimeoutMs ?? NODE_DEFAULTS.idleTimeoutMs,
          maxConnections: options.maxConnections ?? NODE_DEFAULTS.maxConnections,
          secret: options.secret.toText(),
          handshakeTimeoutMs: options.handshakeTimeoutMs ?? NODE_DEFAULTS.handshakeTimeoutMs,
          maxHandshakes: options.maxHandshakes ?? NODE_DEFAULTS.maxHandshakes,
          frameDeadlineMs: options.frameDeadlineMs ?? NODE_DEFAULTS.frameDeadlineMs,
          maxInFlight: options.maxInFlight ?? NODE_DEFAULTS.maxInFlight,
          logFile: options.workerLogs ? logPath(logDir, LOG_FILES.node) : null,
          shared: shared.buffers,
          table: table?.buffer ?? null,
        },
      }),
      onDeath: (index, _worker, event) => {
        const error = new Error(`query worker ${index} of node ${id} died: ${event.message}`);
        log.error(error.message);
        onFatal(error);
      },
    }));
    for (const worker of workers) worker.onmessage = onWorkerMessage(worker);
  } catch (error) {
    clearInterval(ownTimer);
    await stopWorkers();
    for (const link of links.values()) link.close();
    monitor[Symbol.dispose](); // its links, never opened yet
    await likes?.stop();
    throw error;
  }
  gossip.start();
  monitor.start();
  const metrics = exportNodeMetrics({
    cacheStats: () => shared.cacheStats(),
    lagMs: () => gossip.staleness(),
  });
  log.info(
    `node ${id} listening on ${listenHost}:${me.port} with ${queryWorkers} query Worker(s)${
      likes ? `, likes on ${listenHost}:${likes.port}` : " (portal: no likes)"
    }; gossip with ${[...links.keys()].join(", ") || "nobody"} every ${gossipIntervalMs} ms`,
  );

  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      gossip[Symbol.dispose]();
      monitor[Symbol.dispose]();
      clearInterval(ownTimer);
      metrics.stop();
      await stopWorkers();
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
