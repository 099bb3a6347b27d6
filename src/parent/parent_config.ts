/**
 * The ParentProcess's flags: argv → a validated, frozen config. Pure, so it is table-tested.
 *
 * @module
 */

import {
  type Flag,
  formatSeconds,
  formatUsage,
  parseFlags,
  parseInteger,
  parseSeconds,
} from "../cli/flags.ts";
import {
  EDGE_DEFAULTS,
  LIKES_RUN_FLAGS,
  type LikesRunConfig,
  parseLikesRunFlags,
} from "../edge/likes_flags.ts";

/** Validated ParentProcess settings (times in ms); the shared ones are passed to each child. */
export interface ParentConfig extends LikesRunConfig {
  readonly children: number;
  readonly staggerMs: number;
  readonly json: boolean;
  /** Port of the live view on 127.0.0.1 (0: a free one), or `null` for no view. */
  readonly viewPort: number | null;
}

/** The ParentProcess's defaults, written once: the seed exercise's, and its children's. */
export const PARENT_DEFAULTS = Object.freeze(
  {
    ...EDGE_DEFAULTS,
    /** LikesServers to spawn. */
    children: 10,
    /** The pause between two spawns, in ms. */
    staggerMs: 1000,
    /** How long children get to stop after SIGTERM before SIGKILL, in ms. */
    killGraceMs: 5000,
    /** How often the live view gets a snapshot of the run, in ms. */
    observeEveryMs: 250,
  } as const,
);

const FLAGS: Flag[] = [
  {
    name: "children",
    type: "string",
    value: "N",
    default: String(PARENT_DEFAULTS.children),
    help: "LikesServers to spawn",
  },
  {
    name: "stagger",
    type: "string",
    value: "SECONDS",
    default: formatSeconds(PARENT_DEFAULTS.staggerMs),
    help: "pause between spawns",
  },
  ...LIKES_RUN_FLAGS,
  { name: "json", type: "boolean", help: "print the report as JSON instead of a table" },
  {
    name: "view-port",
    type: "string",
    value: "PORT",
    help: "serve the live view on 127.0.0.1:PORT (0: a free port) and print its address",
  },
];

/** The `--help` text. */
export function parentUsage(): string {
  return formatUsage(
    "deno task parent",
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
  return Object.freeze({
    children: parseInteger("children", s.children!, { min: 1, max: 10_000 }),
    staggerMs: parseSeconds("stagger", s.stagger!, { min: 0 }),
    ...parseLikesRunFlags(s, seed),
    json: b.json ?? false,
    viewPort: s["view-port"] === undefined
      ? null
      : parseInteger("view-port", s["view-port"], { min: 0, max: 65535 }),
  });
}
