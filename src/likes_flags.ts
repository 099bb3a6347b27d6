/**
 * The flags that describe what LikesServers do — shared by `likes_server.ts` (one of them) and
 * `parent.ts` (which passes them on to each child), so both take the same names and defaults.
 *
 * @module
 */

import {
  type Flag,
  parseChoice,
  parseHost,
  parseInteger,
  parseIntervals,
  parsePath,
  parseSeconds,
} from "./cli.ts";
import { DEFAULT_MAX_LIKES, type Protocol, PROTOCOLS } from "./protocol/grammar.ts";

/** Validated LikesServer behaviour (times in ms). */
export interface LikesRunConfig {
  readonly host: string;
  readonly port: number;
  readonly durationMs: number;
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
  readonly maxLikes: number;
  readonly logDir: string;
  readonly seed: number;
  /** True when `--seed` was given (else `seed` is fresh). */
  readonly seeded: boolean;
  readonly protocol: Protocol;
  readonly drainMs: number;
}

/** The shared flags, with the seed exercise's defaults. */
export const LIKES_RUN_FLAGS: readonly Flag[] = [
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
    help: "how long a LikesServer generates likes",
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
    default: "keyed",
    help:
      "keyed: counted exactly once; classic: LikesServer<N> <likes>, one connection per message, retries may count twice",
  },
  {
    name: "drain",
    type: "string",
    value: "SECONDS",
    default: "10",
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
  return {
    host: parseHost("host", s.host!),
    port: parseInteger("port", s.port!, { min: 1, max: 65535 }),
    durationMs: parseSeconds("duration", s.duration!, { min: 0 }),
    ...parseIntervals(s["min-interval"]!, s["max-interval"]!),
    maxLikes: parseInteger("max-likes", s["max-likes"]!, { min: 1, max: 1_000_000_000 }),
    logDir: parsePath("log-dir", s["log-dir"]!),
    seed: s.seed === undefined ? seed : parseInteger("seed", s.seed, { min: 0, max: 4294967295 }),
    seeded: s.seed !== undefined,
    protocol: parseChoice("protocol", s.protocol!, PROTOCOLS),
    drainMs: parseSeconds("drain", s.drain!, { min: 0 }),
  };
}
