/**
 * One LikesServer's flags: argv → a validated, frozen config. Pure (the random session is passed
 * in), so it is table-tested.
 *
 * @module
 */

import {
  type Flag,
  formatUsage,
  parseFlags,
  parseHost,
  parseInteger,
  parseSeconds,
  UsageError,
} from "../cli.ts";
import { DEFAULT_MAX_LIKES, MAX_CLIENT_ID_LENGTH } from "../protocol/grammar.ts";

/** The wire forms a LikesServer can speak. */
export const PROTOCOLS = ["keyed", "classic"] as const;
/** One of {@linkcode PROTOCOLS}. */
export type Protocol = typeof PROTOCOLS[number];

/** Validated LikesServer settings (times in ms). */
export interface EdgeConfig {
  readonly id: number;
  readonly clientId: string;
  readonly host: string;
  readonly port: number;
  readonly durationMs: number;
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
  readonly maxLikes: number;
  readonly logDir: string;
  readonly seed: number;
  readonly protocol: Protocol;
  readonly drainMs: number;
  readonly replyTimeoutMs: number;
  readonly maxBackoffMs: number;
  readonly reportJson: boolean;
  readonly quiet: boolean;
}

const FLAGS: Flag[] = [
  {
    name: "id",
    type: "string",
    value: "N",
    default: "1",
    help: "this LikesServer's number N (logs to <log-dir>/LikesServer<N>)",
  },
  {
    name: "client-id",
    type: "string",
    value: "ID",
    help: "key for the keyed protocol (default LikesServer<N>-<random>)",
  },
  {
    name: "host",
    type: "string",
    value: "HOST",
    default: "127.0.0.1",
    help: "PrimaryLikesServer address",
  },
  { name: "port", type: "string", value: "PORT", default: "4242", help: "PrimaryLikesServer port" },
  {
    name: "duration",
    type: "string",
    value: "SECONDS",
    default: "300",
    help: "how long to generate likes",
  },
  {
    name: "min-interval",
    type: "string",
    value: "SECONDS",
    default: "1",
    help: "shortest wait between batches",
  },
  {
    name: "max-interval",
    type: "string",
    value: "SECONDS",
    default: "5",
    help: "longest wait between batches",
  },
  {
    name: "max-likes",
    type: "string",
    value: "N",
    default: String(DEFAULT_MAX_LIKES),
    help: "largest batch (and message)",
  },
  {
    name: "log-dir",
    type: "string",
    value: "DIR",
    default: "/tmp",
    help: "directory of the log file (must exist)",
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
    default: "keyed",
    help:
      "keyed: counted exactly once; classic: LikesServer<N> <likes>, one connection per message",
  },
  {
    name: "drain",
    type: "string",
    value: "SECONDS",
    default: "10",
    help: "after the lifetime, keep retrying unacknowledged likes this long",
  },
  {
    name: "reply-timeout",
    type: "string",
    value: "SECONDS",
    default: "2",
    help: "wait this long for a reply before retrying",
  },
  {
    name: "max-backoff",
    type: "string",
    value: "SECONDS",
    default: "2",
    help: "longest wait between retries",
  },
  {
    name: "report-json",
    type: "boolean",
    help: "print a JSON progress line to stdout on every change (for the parent)",
  },
  { name: "quiet", type: "boolean", help: "print nothing to stderr except errors" },
];

/** The `--help` text. */
export function edgeUsage(): string {
  return formatUsage(
    "deno task likes --",
    "LikesServer: sends a random 0..max likes every min..max seconds to the PrimaryLikesServer,\n" +
      "keeps likes that were not acknowledged and sends them again. Exit 0 when all were acknowledged.",
    FLAGS,
  );
}

/**
 * Parses a LikesServer's flags.
 *
 * @param session A random suffix for the default client id.
 * @param seed The seed to use when `--seed` is absent.
 * @returns `"help"` when `--help` was given, else the config.
 * @throws {UsageError} On any invalid flag or value.
 */
export function parseEdgeConfig(
  args: readonly string[],
  session: string,
  seed: number,
): EdgeConfig | "help" {
  const { strings: s, booleans: b } = parseFlags(args, FLAGS);
  if (b.help) return "help";
  const id = parseInteger("id", s.id!, { min: 0, max: 999_999_999 });
  const clientId = s["client-id"] ?? `LikesServer${id}-${session}`;
  if (clientId.length > MAX_CLIENT_ID_LENGTH || !/^[A-Za-z0-9._:@-]+$/.test(clientId)) {
    throw new UsageError(
      `--client-id must be 1 to ${MAX_CLIENT_ID_LENGTH} characters of A-Z a-z 0-9 . _ : @ -: current value is ${
        JSON.stringify(clientId)
      }`,
    );
  }
  const minIntervalMs = parseSeconds("min-interval", s["min-interval"]!, { min: 0.001 });
  const maxIntervalMs = parseSeconds("max-interval", s["max-interval"]!, { min: 0.001 });
  if (minIntervalMs > maxIntervalMs) {
    throw new UsageError(
      `--min-interval must not exceed --max-interval: current values are ${s["min-interval"]} and ${
        s["max-interval"]
      }`,
    );
  }
  const protocol = s.protocol!;
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new UsageError(
      `--protocol must be keyed or classic: current value is ${JSON.stringify(protocol)}`,
    );
  }
  return Object.freeze({
    id,
    clientId,
    host: parseHost("host", s.host!),
    port: parseInteger("port", s.port!, { min: 1, max: 65535 }),
    durationMs: parseSeconds("duration", s.duration!, { min: 0 }),
    minIntervalMs,
    maxIntervalMs,
    maxLikes: parseInteger("max-likes", s["max-likes"]!, { min: 1, max: 1_000_000_000 }),
    logDir: s["log-dir"]!,
    seed: s.seed === undefined ? seed : parseInteger("seed", s.seed, { min: 0, max: 4294967295 }),
    protocol: protocol as Protocol,
    drainMs: parseSeconds("drain", s.drain!, { min: 0 }),
    replyTimeoutMs: parseSeconds("reply-timeout", s["reply-timeout"]!, { min: 0.01 }),
    maxBackoffMs: parseSeconds("max-backoff", s["max-backoff"]!, { min: 0.01 }),
    reportJson: b["report-json"] ?? false,
    quiet: b.quiet ?? false,
  });
}
