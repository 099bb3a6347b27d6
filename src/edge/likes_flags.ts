/**
 * The flags that describe what LikesServers do — shared by `likes_server.ts` (one of them) and
 * `parent.ts` (which passes them on to each child), so both take the same names and defaults.
 *
 * @module
 */

import {
  type Flag,
  formatSeconds,
  parseChoice,
  parseHost,
  parseInteger,
  parseIntervals,
  parsePath,
  parseSeconds,
  UsageError,
} from "../cli/flags.ts";
import { ACK_MODES, type AckMode } from "../protocol/classic_reply.ts";
import {
  CONNECTION_PATTERNS,
  type ConnectionPattern,
  DEFAULT_LIKES_PORT,
  DEFAULT_MAX_LIKES,
  type Protocol,
  PROTOCOLS,
} from "../protocol/grammar.ts";
import { DEFAULT_LOG_DIR } from "../log/log_paths.ts";

/** A PrimaryLikesServer's address. */
export interface ServerAddress {
  readonly host: string;
  readonly port: number;
}

/** Validated LikesServer behaviour (times in ms). */
export interface LikesRunConfig {
  /** The first (preferred) server. */
  readonly host: string;
  readonly port: number;
  /** Every server, the preferred first; on a connection error the next is tried (`--servers`). */
  readonly servers: readonly ServerAddress[];
  readonly durationMs: number;
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
  readonly maxLikes: number;
  readonly logDir: string;
  readonly seed: number;
  /** True when `--seed` was given (else `seed` is fresh). */
  readonly seeded: boolean;
  readonly protocol: Protocol;
  /** What acknowledges a classic message. */
  readonly ack: AckMode;
  /** A new connection per message, or one for all. */
  readonly connection: ConnectionPattern;
  /** Whether a classic message that got no answer is sent again (it may then count twice). */
  readonly retry: RetryPolicy;
  /** How long to wait for a reply (or a connection). */
  readonly replyTimeoutMs: number;
  readonly drainMs: number;
}

/**
 * `safe`: resend a classic message only if it cannot have reached the server; `ambiguous`: also
 * after no answer (it may then be counted twice). Keyed messages are always resent: the server
 * counts a (client, seq) once.
 */
export const RETRY_POLICIES = ["safe", "ambiguous"] as const;
/** One of {@linkcode RETRY_POLICIES}. */
export type RetryPolicy = typeof RETRY_POLICIES[number];

/** A LikesServer's defaults, written once: the seed exercise's (the flags below take them). */
export const EDGE_DEFAULTS = Object.freeze(
  {
    /** The PrimaryLikesServer it sends to. */
    host: "127.0.0.1",
    port: DEFAULT_LIKES_PORT,
    /** How long it generates likes, in ms. */
    durationMs: 300_000,
    /** The shortest and the longest wait between batches, in ms. */
    minIntervalMs: 1000,
    maxIntervalMs: 5000,
    /** The largest batch (and message). */
    maxLikes: DEFAULT_MAX_LIKES,
    /** Directory of its log file. */
    logDir: DEFAULT_LOG_DIR,
    protocol: "keyed",
    /** What acknowledges a classic message. */
    ack: "prefix",
    /** Which classic messages are sent again. */
    retry: "safe",
    /** How long it waits for a connection or a reply, in ms. */
    replyTimeoutMs: 2000,
    /** How long it retries unacknowledged likes after its lifetime, in ms. */
    drainMs: 10_000,
  } as const,
);

/** The shared flags, with the seed exercise's defaults. */
export const LIKES_RUN_FLAGS: readonly Flag[] = [
  {
    name: "host",
    type: "string",
    value: "HOST",
    default: EDGE_DEFAULTS.host,
    help: "PrimaryLikesServer address",
  },
  {
    name: "port",
    type: "string",
    value: "PORT",
    default: String(EDGE_DEFAULTS.port),
    help: "PrimaryLikesServer port",
  },
  {
    name: "servers",
    type: "string",
    value: "HOST:PORT,…",
    help:
      "several PrimaryLikesServers (over one shared store): the first is used, and on a connection error the next (instead of --host and --port)",
  },
  {
    name: "duration",
    type: "string",
    value: "SECONDS",
    default: formatSeconds(EDGE_DEFAULTS.durationMs),
    help: "how long a LikesServer generates likes",
  },
  {
    name: "min-interval",
    type: "string",
    value: "SECONDS",
    default: formatSeconds(EDGE_DEFAULTS.minIntervalMs),
    help: "shortest wait between batches",
  },
  {
    name: "max-interval",
    type: "string",
    value: "SECONDS",
    default: formatSeconds(EDGE_DEFAULTS.maxIntervalMs),
    help: "longest wait between batches",
  },
  {
    name: "max-likes",
    type: "string",
    value: "N",
    default: String(EDGE_DEFAULTS.maxLikes),
    help: "largest batch (and message)",
  },
  {
    name: "log-dir",
    type: "string",
    value: "DIR",
    default: EDGE_DEFAULTS.logDir,
    help: "directory of the log files (must exist)",
  },
  {
    name: "seed",
    type: "string",
    value: "N",
    help: "seed for repeatable batches and intervals (default random)",
  },
  {
    name: "protocol",
    type: "string",
    value: "keyed|classic",
    default: EDGE_DEFAULTS.protocol,
    help:
      "keyed: LIKE <client> <seq> <likes>, counted exactly once; classic: LikesServer<N> <likes>, for any server written for the exercise",
  },
  {
    name: "ack",
    type: "string",
    value: "prefix|any|none",
    default: EDGE_DEFAULTS.ack,
    help:
      "classic: what acknowledges a message: a reply starting with ACK, any reply but ERR, or none expected (delivered = acknowledged)",
  },
  {
    name: "connection",
    type: "string",
    value: "per-message|persistent",
    help:
      "a new connection per message (default for classic, as the seed's clients do) or one for all (default for keyed)",
  },
  {
    name: "retry",
    type: "string",
    value: "safe|ambiguous",
    default: EDGE_DEFAULTS.retry,
    help:
      "classic: resend only what cannot have reached the server, or also what got no answer (may count twice)",
  },
  {
    name: "reply-timeout",
    type: "string",
    value: "SECONDS",
    default: formatSeconds(EDGE_DEFAULTS.replyTimeoutMs),
    help: "wait this long for a connection or a reply",
  },
  {
    name: "drain",
    type: "string",
    value: "SECONDS",
    default: formatSeconds(EDGE_DEFAULTS.drainMs),
    help: "after its lifetime, a LikesServer retries unacknowledged likes this long",
  },
];

/**
 * Parses the shared flags from `parseFlags` strings.
 *
 * @param seed The seed to use when `--seed` is absent.
 * @throws {UsageError} On any invalid value.
 */
export function parseLikesRunFlags(
  s: Readonly<Record<string, string>>,
  seed: number,
): LikesRunConfig {
  const protocol = parseChoice("protocol", s.protocol!, PROTOCOLS);
  const ack = parseChoice("ack", s.ack!, ACK_MODES);
  if (protocol === "keyed" && ack !== "prefix") {
    throw new UsageError(
      `--ack ${ack} applies to --protocol classic only: keyed replies are checked for their seq`,
    );
  }
  const servers = s.servers === undefined
    ? [{
      host: parseHost("host", s.host!),
      port: parseInteger("port", s.port!, { min: 1, max: 65535 }),
    }]
    : parseServers(s.servers);
  return {
    host: servers[0]!.host,
    port: servers[0]!.port,
    servers,
    durationMs: parseSeconds("duration", s.duration!, { min: 0 }),
    ...parseIntervals(s["min-interval"]!, s["max-interval"]!),
    maxLikes: parseInteger("max-likes", s["max-likes"]!, { min: 1, max: 1_000_000_000 }),
    logDir: parsePath("log-dir", s["log-dir"]!),
    seed: s.seed === undefined ? seed : parseInteger("seed", s.seed, { min: 0, max: 4294967295 }),
    seeded: s.seed !== undefined,
    protocol,
    ack,
    connection: s.connection === undefined
      ? (protocol === "keyed" ? "persistent" : "per-message")
      : parseChoice("connection", s.connection, CONNECTION_PATTERNS),
    retry: parseChoice("retry", s.retry!, RETRY_POLICIES),
    replyTimeoutMs: parseSeconds("reply-timeout", s["reply-timeout"]!, { min: 0.01 }),
    drainMs: parseSeconds("drain", s.drain!, { min: 0 }),
  };
}

/**
 * Parses `--servers HOST:PORT,HOST:PORT…`.
 *
 * @throws {UsageError} On an empty list or an entry that is not HOST:PORT.
 */
export function parseServers(text: string): ServerAddress[] {
  const servers = text.split(",").filter((entry) => entry !== "").map((entry) => {
    const match = /^([A-Za-z0-9.-]+):(\d+)$/.exec(entry);
    if (!match) {
      throw new UsageError(
        `--servers must be HOST:PORT,HOST:PORT…: ${JSON.stringify(entry)} is not HOST:PORT`,
      );
    }
    return { host: match[1]!, port: parseInteger("servers", match[2]!, { min: 1, max: 65535 }) };
  });
  if (servers.length === 0) throw new UsageError("--servers names no server");
  return servers;
}
