/**
 * `deno task node` flags: argv → a validated, frozen config. Pure, so it is table-tested.
 *
 * @module
 */

import {
  type Flag,
  formatSeconds,
  formatUsage,
  parseFlags,
  parseHost,
  parseInteger,
  parsePath,
  parseSeconds,
  UsageError,
} from "../../cli/flags.ts";

import { MAX_CLIENTS_LIMIT } from "../../store/embedded/likes_table.ts";
import { NODE_DEFAULTS } from "../node/node_defaults.ts";

/** The config file the overlay commands read when `--config` is not given. */
export const DEFAULT_CLUSTER_FILE = "cluster.json";

/** Validated node settings (times in ms; `null`: the node's own default). */
export interface NodeRunConfig {
  readonly id: string;
  readonly configFile: string;
  /** The cluster secret's file, or null for the config's `secret_file`. */
  readonly secretFile: string | null;
  /** Directory for the node's logs and journal. */
  readonly dir: string;
  /** Address to listen on instead of the config's host. */
  readonly listen: string | null;
  readonly workers: number;
  readonly maxClients: number;
  readonly clientTtlMs: number;
  readonly queryWorkers: number;
  readonly gossipIntervalMs: number;
  readonly cacheTtlMs: number | null;
  readonly cacheBytes: number;
  readonly deadlineMs: number;
  readonly heartbeatMs: number;
  readonly downAfterMs: number;
}

const FLAGS: Flag[] = [
  { name: "id", type: "string", value: "ID", help: "which node of the config to run (required)" },
  {
    name: "config",
    type: "string",
    value: "FILE",
    default: DEFAULT_CLUSTER_FILE,
    help: "the overlay's config",
  },
  {
    name: "secret-file",
    type: "string",
    value: "FILE",
    help: "the cluster's secret (default: the config's secret_file, beside the config)",
  },
  {
    name: "dir",
    type: "string",
    value: "DIR",
    help: "logs (node.log, PrimaryLikesLog) and journal (data/) (default /tmp/likes-node-<ID>)",
  },
  {
    name: "listen",
    type: "string",
    value: "HOST",
    help: "listen on HOST (e.g. 0.0.0.0) instead of the config's host, which peers use",
  },
  {
    name: "workers",
    type: "string",
    value: "N",
    default: String(NODE_DEFAULTS.likesWorkers),
    help: "connection Workers of the node's PrimaryLikesServer",
  },
  {
    name: "max-clients",
    type: "string",
    value: "N",
    default: String(NODE_DEFAULTS.maxClients),
    help: "distinct clients the node's likes table holds at once (as the server's flag)",
  },
  {
    name: "client-ttl",
    type: "string",
    value: "SECONDS",
    default: formatSeconds(NODE_DEFAULTS.clientTtlMs),
    help: "forget a client idle this long; its likes stay in the total, as the owner's retired row",
  },
  {
    name: "query-workers",
    type: "string",
    value: "N",
    default: String(NODE_DEFAULTS.queryWorkers),
    help: "Workers answering queries on the node's port (they share the cache in memory)",
  },
  {
    name: "gossip-interval",
    type: "string",
    value: "SECONDS",
    default: formatSeconds(NODE_DEFAULTS.gossipIntervalMs),
    help: "time between full replica exchanges with each neighbour (changes go at once)",
  },
  {
    name: "cache-ttl",
    type: "string",
    value: "SECONDS",
    help: `how long a cached answer is used (default ${
      NODE_DEFAULTS.cacheTtlMs.portal / 1000
    } for a node without likes, ${NODE_DEFAULTS.cacheTtlMs.data / 1000} otherwise)`,
  },
  {
    name: "cache-bytes",
    type: "string",
    value: "N",
    default: String(NODE_DEFAULTS.cacheBytes),
    help: "size of the shared-memory answer cache",
  },
  {
    name: "deadline",
    type: "string",
    value: "SECONDS",
    default: formatSeconds(NODE_DEFAULTS.deadlineMs),
    help: "deadline of a query that does not carry one",
  },
  {
    name: "heartbeat",
    type: "string",
    value: "SECONDS",
    default: formatSeconds(NODE_DEFAULTS.heartbeatMs),
    help: "time between heartbeats (ping, answered pong) to each neighbour",
  },
  {
    name: "down-after",
    type: "string",
    value: "SECONDS",
    default: formatSeconds(NODE_DEFAULTS.downAfterMs),
    help: "a neighbour silent this long is marked down: not asked, not gossiped to, probed",
  },
];

/** The `--help` text. */
export function nodeUsage(): string {
  return formatUsage(
    "deno task node --id ID",
    "One overlay node: answers queries (get_all, get_by_key, get_by_prefix, total) from its own\n" +
      "likes and its neighbours', keeps a replica of every node's counts by gossip, caches answers\n" +
      "in shared memory. A node with a likes_port in the config is also a PrimaryLikesServer.",
    FLAGS,
  );
}

/**
 * Parses a node's flags.
 *
 * @returns `"help"` when `--help` was given, else the config.
 * @throws {UsageError} On any invalid flag or value.
 */
export function parseNodeFlags(args: readonly string[]): NodeRunConfig | "help" {
  const { strings, booleans } = parseFlags(args, FLAGS);
  if (booleans.help) return "help";
  const id = strings.id;
  if (id === undefined) throw new UsageError("--id is required (one of the config's process ids)");
  if (!/^[A-Z]$/.test(id)) {
    throw new UsageError(`--id must be one letter A-Z: current value is ${JSON.stringify(id)}`);
  }
  const heartbeatMs = parseSeconds("heartbeat", strings.heartbeat!, { min: 0.01, max: 60 });
  const downAfterMs = parseSeconds("down-after", strings["down-after"]!, { min: 0.02, max: 600 });
  if (downAfterMs <= heartbeatMs) {
    throw new UsageError(
      `--down-after must be longer than --heartbeat (${heartbeatMs / 1000} s): current value is ${
        downAfterMs / 1000
      }`,
    );
  }
  return Object.freeze({
    id,
    configFile: parsePath("config", strings.config!),
    secretFile: strings["secret-file"] === undefined
      ? null
      : parsePath("secret-file", strings["secret-file"]),
    dir: parsePath("dir", strings.dir ?? `/tmp/likes-node-${id}`),
    listen: strings.listen === undefined ? null : parseHost("listen", strings.listen),
    workers: parseInteger("workers", strings.workers!, { min: 1, max: 64 }),
    maxClients: parseInteger("max-clients", strings["max-clients"]!, {
      min: 1,
      max: MAX_CLIENTS_LIMIT,
    }),
    clientTtlMs: parseSeconds("client-ttl", strings["client-ttl"]!, {
      min: 0.1,
      max: 10 * 365 * 24 * 3600,
    }),
    queryWorkers: parseInteger("query-workers", strings["query-workers"]!, { min: 1, max: 64 }),
    gossipIntervalMs: parseSeconds("gossip-interval", strings["gossip-interval"]!, {
      min: 0.01,
      max: 3600,
    }),
    cacheTtlMs: strings["cache-ttl"] === undefined
      ? null
      : parseSeconds("cache-ttl", strings["cache-ttl"], { min: 0, max: 86400 }),
    cacheBytes: parseInteger("cache-bytes", strings["cache-bytes"]!, {
      min: 1024,
      max: 1 << 30,
    }),
    deadlineMs: parseSeconds("deadline", strings.deadline!, { min: 0.001, max: 60 }),
    heartbeatMs,
    downAfterMs,
  });
}
