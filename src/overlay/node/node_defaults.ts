/**
 * An overlay node's defaults, written once: `startNode()`'s options and `deno task node`'s flags
 * take them from here. Those of its parts (heartbeats, queries, handshakes) are their own
 * modules' constants, gathered here.
 *
 * @module
 */

import { SERVER_DEFAULTS } from "../../server/server_defaults.ts";
import {
  DEFAULT_DOWN_AFTER_MS,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MAX_PROBE_MS,
} from "../domain/peer_health.ts";
import { DEFAULT_DEADLINE_MS } from "../domain/query_engine.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from "../wire/link_auth.ts";

/** Every default of a node. */
export const NODE_DEFAULTS = Object.freeze(
  {
    /** Query Workers sharing the node's port. */
    queryWorkers: 2,
    /** Connection Workers of its PrimaryLikesServer (a node with likes). */
    likesWorkers: 1,
    /** Distinct clients its likes table holds at once. */
    maxClients: SERVER_DEFAULTS.maxClients,
    /** A client idle this long is forgotten (its likes retired), in ms. */
    clientTtlMs: SERVER_DEFAULTS.clientTtlMs,
    /** Time between gossip rounds, in ms. */
    gossipIntervalMs: 1000,
    /** How long a cached answer stays valid, in ms: the portal (no likes), and the others (as the seed). */
    cacheTtlMs: Object.freeze({ portal: 10_000, data: 5_000 }),
    /** The cache's size, in bytes. */
    cacheBytes: 1 << 20,
    /** A query's deadline, in ms. */
    deadlineMs: DEFAULT_DEADLINE_MS,
    /** Heartbeats to each neighbour, in ms; silent this long, a neighbour is down; probes back off to this. */
    heartbeatMs: DEFAULT_HEARTBEAT_MS,
    downAfterMs: DEFAULT_DOWN_AFTER_MS,
    maxProbeMs: DEFAULT_MAX_PROBE_MS,
    /** A client connection silent this long is closed, in ms. */
    idleTimeoutMs: 120_000,
    /** Open connections to the node past which new ones are refused. */
    maxConnections: 1024,
    /** Time a connection has to authenticate, in ms, and how many may be doing so at once. */
    handshakeTimeoutMs: DEFAULT_HANDSHAKE_TIMEOUT_MS,
    maxHandshakes: 64,
    /** A frame that takes longer than this to arrive closes its connection, in ms. */
    frameDeadlineMs: 10_000,
    /** Requests one connection may have in flight. */
    maxInFlight: 64,
  } as const,
);
