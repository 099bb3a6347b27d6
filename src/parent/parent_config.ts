/**
 * The ParentProcess's flags: argv → a validated, frozen config. Pure, so it is table-tested.
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
import { DEFAULT_MAX_LIKES } from "../protocol/grammar.ts";

/** Validated ParentProcess settings (times in ms). */
export interface ParentConfig {
  readonly children: number;
  readonly staggerMs: number;
  readonly durationMs: number;
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
  readonly maxLikes: number;
  readonly host: string;
  readonly port: number;
  readonly logDir: string;
  readonly seed: number;
  readonly seeded: boolean;
  readonly protocol: "keyed" | "classic";
  readonly drainMs: number;
  readonly json: boolean;
}

const FLAGS: Flag[] = [
  { name: "children", type: "string", value: "N", default: "10", help: "LikesServers to spawn" },
  { name: "stagger", type: "string", value: "SECONDS", default: "1", help: "pause between spawns" },
  {
    name: "duration",
    type: "string",
    value: "SECONDS",
    default: "300",
    help: "each LikesServer's lifetime",
  },
  {
    name: "min-interval",
    type: "string",
    value: "SECONDS",
    default: "1",
    help: "shortest wait between a LikesServer's batches",
  },
  {
    name: "max-interval",
    type: "string",
    value: "SECONDS",
    default: "5",
    help: "longest wait between a LikesServer's batches",
  },
  {
    name: "max-likes",
    type: "string",
    value: "N",
    default: String(DEFAULT_MAX_LIKES),
    help: "largest batch",
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
    name: "log-dir",
    type: "string",
    value: "DIR",
    default: "/tmp",
    help: "directory of ParentProcessStatus and LikesServer<N> logs (must exist)",
  },
  {
    name: "seed",
    type: "string",
    value: "N",
    help: "seed for repeatable runs (default random, printed in the report)",
  },
  {
    name: "protocol",
    type: "string",
    value: "keyed|classic",
    default: "keyed",
    help: "what the LikesServers speak (classic cannot deduplicate retries)",
  },
  {
    name: "drain",
    type: "string",
    value: "SECONDS",
    default: "10",
    help: "how long a LikesServer keeps retrying after its lifetime",
  },
  { name: "json", type: "boolean", help: "print the report as JSON instead of a table" },
];

/** The `--help` text. */
export function parentUsage(): string {
  return formatUsage(
    "deno task parent --",
    "ParentProcess: spawns N LikesServers, one every --stagger seconds, waits for all, logs each one's\n" +
      "start, end and exit status to <log-dir>/ParentProcessStatus, then reports per LikesServer the\n" +
      "likes generated, acknowledged and counted by the server. Exit 0 only if every one converged.",
    FLAGS,
  );
}

/**
 * Parses the parent's flags.
 *
 * @param seed The seed to use when `--seed` is absent.
 * @returns `"help"` when `--help` was given, else the config.
 * @throws {UsageError} On any invalid flag or value.
 */
export function parseParentConfig(args: readonly string[], seed: number): ParentConfig | "help" {
  const { strings: s, booleans: b } = parseFlags(args, FLAGS);
  if (b.help) return "help";
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
  if (protocol !== "keyed" && protocol !== "classic") {
    throw new UsageError(
      `--protocol must be keyed or classic: current value is ${JSON.stringify(protocol)}`,
    );
  }
  return Object.freeze({
    children: parseInteger("children", s.children!, { min: 1, max: 10_000 }),
    staggerMs: parseSeconds("stagger", s.stagger!, { min: 0 }),
    durationMs: parseSeconds("duration", s.duration!, { min: 0 }),
    minIntervalMs,
    maxIntervalMs,
    maxLikes: parseInteger("max-likes", s["max-likes"]!, { min: 1, max: 1_000_000_000 }),
    host: parseHost("host", s.host!),
    port: parseInteger("port", s.port!, { min: 1, max: 65535 }),
    logDir: s["log-dir"]!,
    seed: s.seed === undefined ? seed : parseInteger("seed", s.seed, { min: 0, max: 4294967295 }),
    seeded: s.seed !== undefined,
    protocol,
    drainMs: parseSeconds("drain", s.drain!, { min: 0 }),
    json: b.json ?? false,
  });
}
