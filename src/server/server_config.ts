/**
 * The PrimaryLikesServer's flags: argv → a validated, frozen config. Pure (the CPU count is
 * passed in), so it is table-tested.
 *
 * @module
 */

import {
  type Flag,
  formatSeconds,
  formatUsage,
  LISTEN_HOST_FLAG,
  parseChoice,
  parseFlags,
  parseHost,
  parseInteger,
  parsePath,
  parseSeconds,
  UsageError,
} from "../cli/flags.ts";
import {
  FSYNC_ALIASES,
  FSYNC_MODES,
  MAX_CLIENTS_LIMIT,
  type RedisLikesOptions,
} from "../store/open_store.ts";
import { defaultWorkers, SERVER_DEFAULTS } from "./server_defaults.ts";
import type { ServeLikesOptions } from "./likes_service.ts";

/** The server's default TCP port. */
export const DEFAULT_PORT: number = SERVER_DEFAULTS.port;
/** The default data directory, relative to the working directory (the project under `deno task`). */
export const DEFAULT_DATA_DIR: string = SERVER_DEFAULTS.dataDir;

/** The options of `serveLikes()` the command line sets, under the same names. */
type ServedOptions = Pick<
  ServeLikesOptions,
  | "port"
  | "workers"
  | "maxLikes"
  | "maxLineBytes"
  | "idleTimeoutMs"
  | "writeTimeoutMs"
  | "replyBufferBytes"
  | "maxConnections"
  | "pauseMs"
  | "maxClients"
  | "clientTtlMs"
  | "repair"
  | "dataDir"
  | "fsync"
  | "fsyncIntervalMs"
  | "snapshotEvery"
>;

/** Validated server settings: `serveLikes()`'s options (each one set), and where to listen and log. */
export interface ServerConfig extends Required<ServedOptions> {
  /** Address to listen on (`serveLikes()`'s `hostname`). */
  readonly host: string;
  /** Directory of `PrimaryLikesLog`. */
  readonly logDir: string;
  /** Where the counts live: the embedded journal (null), or Redis (one server, or a cluster). */
  readonly redis: RedisLikesOptions | null;
}

function flags(cpus: number): Flag[] {
  return [
    {
      name: "store",
      type: "string",
      value:
        "embedded|redis[s]://[USER:PASSWORD@]HOST:PORT|redis-cluster://HOST:PORT|redis-sentinel://HOST:PORT[,…]/MASTER",
      default: "embedded",
      help:
        "keep the counts in this server's journal, or in Redis (rediss: over TLS), a Redis Cluster or the master of Redis Sentinels (stateless primaries; grant --allow-net to Redis and --allow-env=REDIS_DEBUG_MAINTENANCE); options ?wait=N&wait-timeout=S, ?password-env=NAME or ?password-file=PATH, ?ca-file=PATH",
    },
    {
      name: "data-dir",
      type: "string",
      value: "DIR",
      default: DEFAULT_DATA_DIR,
      help: "journal and snapshots (created if missing; one server at a time)",
    },
    {
      name: "fsync",
      type: "string",
      value: "always|interval|never",
      default: SERVER_DEFAULTS.fsync,
      help:
        "ACK after a flush that includes the like (one flush shared by all clients); ACK once written, flushed every --fsync-interval; or ACK at once, never flush (benchmarks only). batch = always",
    },
    {
      name: "fsync-interval",
      type: "string",
      value: "SECONDS",
      default: formatSeconds(SERVER_DEFAULTS.fsyncIntervalMs),
      help:
        "with --fsync interval: the longest time between flushes (what a machine crash may lose)",
    },
    {
      name: "snapshot-every",
      type: "string",
      value: "N",
      default: String(SERVER_DEFAULTS.snapshotEvery),
      help: "journal records between snapshots (bounds the journal and the restart time)",
    },
    LISTEN_HOST_FLAG,
    {
      name: "port",
      type: "string",
      value: "PORT",
      default: String(DEFAULT_PORT),
      help: "TCP port; 0 picks a free one",
    },
    {
      name: "workers",
      type: "string",
      value: "K",
      default: String(defaultWorkers(cpus)),
      help:
        "connection Workers sharing the port: one fewer than this machine's CPUs, at least 1, as the main thread writes the journal",
    },
    {
      name: "log-dir",
      type: "string",
      value: "DIR",
      default: SERVER_DEFAULTS.logDir,
      help: "directory of PrimaryLikesLog (must exist)",
    },
    {
      name: "max-likes",
      type: "string",
      value: "N",
      default: String(SERVER_DEFAULTS.maxLikes),
      help: "largest number of likes in one message",
    },
    {
      name: "max-line-bytes",
      type: "string",
      value: "N",
      default: String(SERVER_DEFAULTS.maxLineBytes),
      help: "longest message in bytes; longer ones get ERR",
    },
    {
      name: "idle-timeout",
      type: "string",
      value: "SECONDS",
      default: formatSeconds(SERVER_DEFAULTS.idleTimeoutMs),
      help: "drop a connection silent this long",
    },
    {
      name: "write-timeout",
      type: "string",
      value: "SECONDS",
      default: formatSeconds(SERVER_DEFAULTS.writeTimeoutMs),
      help: "close a connection whose client takes no replies this long",
    },
    {
      name: "reply-buffer-bytes",
      type: "string",
      value: "N",
      default: String(SERVER_DEFAULTS.replyBufferBytes),
      help:
        "replies held per connection; past it the server stops reading that client until they drain",
    },
    {
      name: "max-connections",
      type: "string",
      value: "N",
      default: String(SERVER_DEFAULTS.maxConnections),
      help: "open connections; past it a new one gets ERR too many connections",
    },
    {
      name: "pause",
      type: "string",
      value: "SECONDS",
      default: formatSeconds(SERVER_DEFAULTS.pauseMs),
      help: "answer an unterminated message after this much silence",
    },
    {
      name: "max-clients",
      type: "string",
      value: "N",
      default: String(SERVER_DEFAULTS.maxClients),
      help: "distinct client names the server holds at once",
    },
    {
      name: "client-ttl",
      type: "string",
      value: "SECONDS",
      default: formatSeconds(SERVER_DEFAULTS.clientTtlMs),
      help: "forget a client silent this long (7 days; its likes stay in the total)",
    },
    {
      name: "repair",
      type: "boolean",
      help: "start even if an older journal segment is damaged, skipping its bad records",
    },
  ];
}

/** The `--help` text. */
export function serverUsage(cpus: number): string {
  return formatUsage(
    "deno task server",
    "PrimaryLikesServer: counts likes sent over TCP, in shared memory updated by a pool of Workers.\n" +
      "An ACK means the like is in the journal on disk (--fsync). Logs every message and the running\n" +
      "total to <log-dir>/PrimaryLikesLog. Stops on SIGINT/SIGTERM.",
    flags(cpus),
  );
}

/**
 * Parses the server's flags.
 *
 * @returns `"help"` when `--help` was given, else the config.
 * @throws {UsageError} On any invalid flag or value.
 */
export function parseServerConfig(args: readonly string[], cpus: number): ServerConfig | "help" {
  const { strings: s, booleans } = parseFlags(args, flags(cpus));
  if (booleans.help) return "help";
  return Object.freeze({
    host: parseHost("host", s.host!),
    port: parseInteger("port", s.port!, { min: 0, max: 65535 }),
    workers: parseInteger("workers", s.workers!, { min: 1, max: 256 }),
    logDir: parsePath("log-dir", s["log-dir"]!),
    maxLikes: parseInteger("max-likes", s["max-likes"]!, { min: 0, max: 1_000_000_000 }),
    maxLineBytes: parseInteger("max-line-bytes", s["max-line-bytes"]!, { min: 64, max: 65536 }),
    idleTimeoutMs: parseSeconds("idle-timeout", s["idle-timeout"]!, { min: 0.05 }),
    writeTimeoutMs: parseSeconds("write-timeout", s["write-timeout"]!, { min: 0.05 }),
    replyBufferBytes: parseInteger("reply-buffer-bytes", s["reply-buffer-bytes"]!, {
      min: 64,
      max: 1 << 30,
    }),
    maxConnections: parseInteger("max-connections", s["max-connections"]!, {
      min: 1,
      max: 1_000_000,
    }),
    pauseMs: parseSeconds("pause", s.pause!, { min: 0.001, max: 10 }),
    maxClients: parseInteger("max-clients", s["max-clients"]!, { min: 1, max: MAX_CLIENTS_LIMIT }),
    clientTtlMs: parseSeconds("client-ttl", s["client-ttl"]!, {
      min: 0.1,
      max: 10 * 365 * 24 * 3600,
    }),
    repair: booleans.repair ?? false,
    dataDir: parsePath("data-dir", s["data-dir"]!),
    fsync: parseChoice("fsync", FSYNC_ALIASES[s.fsync!] ?? s.fsync!, FSYNC_MODES),
    fsyncIntervalMs: parseSeconds("fsync-interval", s["fsync-interval"]!, {
      min: 0.001,
      max: 3600,
    }),
    snapshotEvery: parseInteger("snapshot-every", s["snapshot-every"]!, { min: 1 }),
    redis: parseStore(s.store!),
  });
}

const STORE_FORMS =
  "embedded, redis[s]://[USER:PASSWORD@]HOST:PORT, redis-cluster://HOST:PORT or redis-sentinel://HOST:PORT[,HOST:PORT…]/MASTER";

const STORE_OPTIONS = ["wait", "wait-timeout", "password-env", "password-file", "ca-file"];

/**
 * Parses `--store`: `embedded`; `redis://HOST:PORT` (one Redis; `rediss://` over TLS);
 * `redis-cluster://HOST:PORT` (a Redis Cluster, through any node);
 * `redis-sentinel://HOST:PORT[,HOST:PORT…]/MASTER` (the master that these Sentinels name,
 * followed through failovers). `USER:PASSWORD@` (percent-encoded; `:PASSWORD@` for the default
 * user) before the hosts, or `?password-env=NAME` / `?password-file=PATH`, authenticates;
 * `?ca-file=PATH` trusts that CA for `rediss://`. `?wait=N` (not for a cluster) acknowledges a
 * like only once `WAIT N` says N replicas have it, within `wait-timeout=S` seconds (default 1).
 *
 * @throws {UsageError} On anything else.
 */
export function parseStore(text: string): RedisLikesOptions | null {
  if (text === "embedded") return null;
  const fail = (why: string): never => {
    throw new UsageError(
      `--store must be ${STORE_FORMS}${why}: current value is ${
        JSON.stringify(text.replace(/\/\/([^@/?]*:)[^@/?]*@/, "//$1***@"))
      }`,
    );
  };
  const match =
    /^(redis|rediss|redis-cluster|redis-sentinel):\/\/(?:([^@/?]*)@)?([^/?@]+)(?:\/([A-Za-z0-9._-]*))?(?:\?(.*))?$/
      .exec(text);
  if (!match) return fail("");
  const [, scheme, userInfo, hostList, master, query] = match as unknown as [
    string,
    string,
    string | undefined,
    string,
    string | undefined,
    string | undefined,
  ];
  const hosts = hostList.split(",").map((entry) => {
    const hostPort = /^([A-Za-z0-9.-]+):(\d+)$/.exec(entry);
    if (!hostPort) return fail(` (${JSON.stringify(entry)} is not HOST:PORT)`);
    return {
      hostname: hostPort[1]!,
      port: parseInteger("store", hostPort[2]!, { min: 1, max: 65535 }),
    };
  });
  if (scheme !== "redis-sentinel" && (hosts.length > 1 || (master ?? "") !== "")) {
    return fail(" (only redis-sentinel:// takes several hosts and a master name)");
  }
  if (scheme === "redis-sentinel" && !master) return fail(" (the sentinel URL names no master)");
  const params = new URLSearchParams(query ?? "");
  for (const key of params.keys()) {
    if (!STORE_OPTIONS.includes(key)) return fail(` (unknown option ${key})`);
  }
  const wait = params.has("wait")
    ? {
      replicas: parseInteger("store wait", params.get("wait")!, { min: 1, max: 100 }),
      timeoutMs: params.has("wait-timeout")
        ? parseSeconds("store wait-timeout", params.get("wait-timeout")!, { min: 0.001, max: 60 })
        : 1000,
    }
    : null;
  if (wait === null && params.has("wait-timeout")) return fail(" (wait-timeout without wait)");
  if (wait !== null && scheme === "redis-cluster") {
    return fail(" (wait is not for a cluster: its writes go to many masters)");
  }
  if (params.has("ca-file") && scheme !== "rediss") return fail(" (ca-file is for rediss://)");
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return fail(" (the user or password is not percent-encoded)");
    }
  };
  const [user, ...secret] = userInfo === undefined ? [] : userInfo.split(":");
  const inUrl = secret.length > 0 ? decode(secret.join(":")) : undefined;
  const sources = [
    ...(inUrl !== undefined ? [inUrl] : []),
    ...(params.has("password-env") ? [{ env: params.get("password-env")! }] : []),
    ...(params.has("password-file") ? [{ file: params.get("password-file")! }] : []),
  ];
  if (sources.length > 1) {
    return fail(" (give the password once: in the URL, password-env or password-file)");
  }
  const username = user ? decode(user) : undefined;
  if (username !== undefined && sources.length === 0) {
    return fail(` (user ${username} has no password)`);
  }
  return Object.freeze({
    ...hosts[0]!,
    cluster: scheme === "redis-cluster",
    ...(scheme === "redis-sentinel" ? { sentinel: { master: master!, nodes: hosts } } : {}),
    ...(wait ? { wait } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(sources.length > 0 ? { password: sources[0]! } : {}),
    ...(scheme === "rediss"
      ? { tls: params.has("ca-file") ? { caFile: params.get("ca-file")! } : {} }
      : {}),
  });
}
