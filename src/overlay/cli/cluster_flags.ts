/**
 * `deno task cluster` flags: argv → a validated, frozen config. Pure, so it is table-tested.
 *
 * @module
 */

import {
  type Flag,
  formatUsage,
  parseFlags,
  parseHost,
  parseInteger,
  parseIntervals,
  parsePath,
  parseSeconds,
  UsageError,
} from "../../cli/flags.ts";
import { DEFAULT_CLUSTER_FILE } from "./node_flags.ts";

/** Validated launcher settings (times in ms). */
export interface ClusterRunConfig {
  readonly configFile: string;
  /** The cluster secret's file (created when missing), or null for the config's `secret_file`. */
  readonly secretFile: string | null;
  /** `--new-secret FILE`: write a new secret there and exit. */
  readonly newSecret: string | null;
  readonly durationMs: number;
  readonly likesServersPerNode: number;
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
  readonly json: boolean;
  /** `null`: no live view. */
  readonly viewPort: number | null;
  readonly printCommands: boolean;
  /** With `--print-commands`: the address nodes listen on instead of their config host. */
  readonly listen: string | null;
  /** `null`: a fresh directory under /tmp. */
  readonly dir: string | null;
  readonly queryIntervalMs: number;
  readonly gossipIntervalMs: number;
  readonly settleMs: number;
  /** A data node to SIGKILL during the run, when, and how long it stays down. */
  readonly kill: { readonly id: string; readonly atMs: number; readonly downMs: number } | null;
}

const FLAGS: Flag[] = [
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
    help: "the cluster's secret, created when missing (default: the config's secret_file)",
  },
  {
    name: "new-secret",
    type: "string",
    value: "FILE",
    help: "write a new cluster secret to FILE (readable by its owner only) and exit",
  },
  {
    name: "duration",
    type: "string",
    value: "SECONDS",
    default: "10",
    help: "how long each LikesServer generates likes",
  },
  {
    name: "likes-servers-per-node",
    type: "string",
    value: "N",
    default: "2",
    help: "LikesServers started against each node that has a likes_port",
  },
  {
    name: "min-interval",
    type: "string",
    value: "SECONDS",
    default: "0.1",
    help: "shortest wait between a LikesServer's batches",
  },
  {
    name: "max-interval",
    type: "string",
    value: "SECONDS",
    default: "0.5",
    help: "longest wait between a LikesServer's batches",
  },
  { name: "json", type: "boolean", help: "print the final report as JSON" },
  {
    name: "view-port",
    type: "string",
    value: "PORT",
    help: "serve the live view on 127.0.0.1:PORT (0: a free port)",
  },
  {
    name: "print-commands",
    type: "boolean",
    help: "print each node's deno run line (with its grants) and exit, to start them by hand",
  },
  {
    name: "listen",
    type: "string",
    value: "HOST",
    help: "with --print-commands: nodes listen on HOST (e.g. 0.0.0.0), granted as such",
  },
  {
    name: "dir",
    type: "string",
    value: "DIR",
    help:
      "where the nodes' logs and journals go, one directory per node (default: a fresh /tmp/likes-cluster-*; with --print-commands /tmp/likes-node-<ID>)",
  },
  {
    name: "query-interval",
    type: "string",
    value: "SECONDS",
    default: "1",
    help: "how often the portal is queried while the likes run",
  },
  {
    name: "gossip-interval",
    type: "string",
    value: "SECONDS",
    default: "1",
    help: "the nodes' --gossip-interval",
  },
  {
    name: "settle",
    type: "string",
    value: "SECONDS",
    default: "20",
    help: "how long to wait for the replicas to converge after the likes stop",
  },
  {
    name: "kill",
    type: "string",
    value: "ID@SECONDS",
    help: "SIGKILL data node ID that many seconds into the run, then restart it (fault drill)",
  },
  {
    name: "down",
    type: "string",
    value: "SECONDS",
    default: "2",
    help: "how long a --kill'ed node stays down",
  },
];

/** The `--help` text. */
export function clusterUsage(): string {
  return formatUsage(
    "deno task cluster",
    "Starts the overlay's nodes (each with the narrowest grants its config entry needs) and\n" +
      "LikesServers against every node with likes, queries the portal while they run, then prints\n" +
      "per node the likes generated, acknowledged and counted, each node's replica of the total,\n" +
      "and how long the replicas took to converge. Exit 0 only when every count and every replica\n" +
      "equals what was generated.",
    FLAGS,
  );
}

/**
 * Parses the launcher's flags.
 *
 * @returns `"help"` when `--help` was given, else the config.
 * @throws {UsageError} On any invalid flag or value.
 */
export function parseClusterFlags(args: readonly string[]): ClusterRunConfig | "help" {
  const { strings: s, booleans: b } = parseFlags(args, FLAGS);
  if (b.help) return "help";
  let kill: ClusterRunConfig["kill"] = null;
  if (s.kill !== undefined) {
    const match = /^([A-Z])@(.+)$/.exec(s.kill);
    if (!match) {
      throw new UsageError(
        `--kill must be ID@SECONDS, e.g. D@3: current value is ${JSON.stringify(s.kill)}`,
      );
    }
    kill = {
      id: match[1]!,
      atMs: parseSeconds("kill", match[2]!, { min: 0, max: 3600 }),
      downMs: parseSeconds("down", s.down!, { min: 0, max: 3600 }),
    };
  }
  return Object.freeze({
    configFile: parsePath("config", s.config!),
    secretFile: s["secret-file"] === undefined ? null : parsePath("secret-file", s["secret-file"]),
    newSecret: s["new-secret"] === undefined ? null : parsePath("new-secret", s["new-secret"]),
    durationMs: parseSeconds("duration", s.duration!, { min: 0.1, max: 86400 }),
    likesServersPerNode: parseInteger("likes-servers-per-node", s["likes-servers-per-node"]!, {
      min: 0,
      max: 100,
    }),
    ...parseIntervals(s["min-interval"]!, s["max-interval"]!),
    json: b.json ?? false,
    viewPort: s["view-port"] === undefined
      ? null
      : parseInteger("view-port", s["view-port"], { min: 0, max: 65535 }),
    printCommands: b["print-commands"] ?? false,
    listen: s.listen === undefined ? null : parseHost("listen", s.listen),
    dir: s.dir === undefined ? null : parsePath("dir", s.dir),
    queryIntervalMs: parseSeconds("query-interval", s["query-interval"]!, {
      min: 0.05,
      max: 3600,
    }),
    gossipIntervalMs: parseSeconds("gossip-interval", s["gossip-interval"]!, {
      min: 0.01,
      max: 3600,
    }),
    settleMs: parseSeconds("settle", s.settle!, { min: 0.1, max: 3600 }),
    kill,
  });
}
