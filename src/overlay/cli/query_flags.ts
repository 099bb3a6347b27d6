/**
 * `deno task query` flags: argv → a validated, frozen config. Pure, so it is table-tested.
 *
 * @module
 */

import {
  type Flag,
  formatUsage,
  parseChoice,
  parseFlags,
  parseHost,
  parseInteger,
  parsePath,
  parseSeconds,
  UsageError,
} from "../../cli/flags.ts";
import { DEFAULT_CLUSTER_FILE } from "./node_flags.ts";
import { CONSISTENCIES, type Consistency } from "../domain/query.ts";

/** Validated query settings. */
export interface QueryRunConfig {
  readonly verb: string;
  readonly params: readonly string[];
  /** `null`: the first node of the config without likes (the portal), else the first node. */
  readonly server: { readonly host: string; readonly port: number } | null;
  readonly configFile: string;
  /** The cluster secret's file, or null for the config's `secret_file`. */
  readonly secretFile: string | null;
  readonly json: boolean;
  readonly timing: boolean;
  readonly consistency: Consistency;
  readonly deadlineMs: number;
  /** The oldest cached answer the query takes, in ms (0: none), or null for the node's TTL. */
  readonly maxAgeMs: number | null;
}

const FLAGS: Flag[] = [
  {
    name: "server",
    type: "string",
    value: "HOST:PORT",
    help: "the node to ask (default: the portal A of --config)",
  },
  {
    name: "config",
    type: "string",
    value: "FILE",
    default: DEFAULT_CLUSTER_FILE,
    help: "where the default server and the cluster's secret are found",
  },
  {
    name: "secret-file",
    type: "string",
    value: "FILE",
    help: "the cluster's secret (default: the config's secret_file, beside the config)",
  },
  { name: "json", type: "boolean", help: "print the whole reply as JSON" },
  { name: "timing", type: "boolean", help: "print the timing tree and the network overhead" },
  {
    name: "consistency",
    type: "string",
    value: "gather|local",
    default: "gather",
    help: "ask the owners along the overlay, or answer from the node's replica at once",
  },
  {
    name: "deadline",
    type: "string",
    value: "SECONDS",
    default: "2",
    help: "the query's deadline across the overlay",
  },
  {
    name: "max-age",
    type: "string",
    value: "SECONDS",
    help: "take a cached answer only this fresh; 0 = none (default: the node's TTL)",
  },
];

/** The `--help` text. */
export function queryUsage(): string {
  return formatUsage(
    "deno task query VERB [PARAMS…]",
    "Asks an overlay node: get_all | get_by_key KEY… | get_by_prefix PREFIX | total, or stats\n" +
      "(the node's counters as JSON: replica, cache hits/misses/evictions, gossip, queries).\n" +
      "Prints a table (key, node, likes) and a summary line. Exit 0 when every node answered,\n" +
      "3 when the answer is partial (some nodes missing), 1 when the query failed.",
    FLAGS,
  );
}

/**
 * Parses the query's flags and positional verb and parameters.
 *
 * @returns `"help"` when `--help` was given, else the config.
 * @throws {UsageError} On any invalid flag or a missing verb.
 */
export function parseQueryFlags(args: readonly string[]): QueryRunConfig | "help" {
  const { strings, booleans, positionals } = parseFlags(args, FLAGS, { positionals: true });
  if (booleans.help) return "help";
  const [verb, ...params] = positionals;
  if (verb === undefined) {
    throw new UsageError("a verb is required: get_all, get_by_key, get_by_prefix or total");
  }
  let server: QueryRunConfig["server"] = null;
  if (strings.server !== undefined) {
    const match = /^(.+):(\d+)$/.exec(strings.server);
    if (!match) {
      throw new UsageError(
        `--server must be HOST:PORT: current value is ${JSON.stringify(strings.server)}`,
      );
    }
    server = {
      host: parseHost("server", match[1]!),
      port: parseInteger("server", match[2]!, { min: 1, max: 65535 }),
    };
  }
  return Object.freeze({
    verb,
    params: Object.freeze(params),
    server,
    configFile: parsePath("config", strings.config!),
    secretFile: strings["secret-file"] === undefined
      ? null
      : parsePath("secret-file", strings["secret-file"]),
    json: booleans.json ?? false,
    timing: booleans.timing ?? false,
    consistency: parseChoice("consistency", strings.consistency!, CONSISTENCIES),
    deadlineMs: parseSeconds("deadline", strings.deadline!, { min: 0.001, max: 60 }),
    maxAgeMs: strings["max-age"] === undefined
      ? null
      : parseSeconds("max-age", strings["max-age"], { min: 0, max: 86_400 }),
  });
}
