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
  parseInteger,
  parseSeconds,
  UsageError,
} from "../cli/flags.ts";
import { LIKES_RUN_FLAGS, type LikesRunConfig, parseLikesRunFlags } from "./likes_flags.ts";
import { MAX_CLIENT_ID_LENGTH } from "../protocol/grammar.ts";

/** Validated LikesServer settings (times in ms). */
export interface EdgeConfig extends LikesRunConfig {
  readonly id: number;
  readonly clientId: string;
  readonly maxBackoffMs: number;
  readonly reportJson: boolean;
  readonly quiet: boolean;
}

const FLAGS: Flag[] = [
  {
    name: "id",
    type: "string",
    value: "N",
    default: "0",
    help: "this LikesServer's number N (logs to <log-dir>/LikesServer<N>)",
  },
  {
    name: "client-id",
    type: "string",
    value: "ID",
    help: "key for the keyed protocol (default LikesServer<N>-<random>)",
  },
  ...LIKES_RUN_FLAGS,
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
    "deno task likes",
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
  return Object.freeze({
    id,
    clientId,
    ...parseLikesRunFlags(s, seed),
    maxBackoffMs: parseSeconds("max-backoff", s["max-backoff"]!, { min: 0.01 }),
    reportJson: b["report-json"] ?? false,
    quiet: b.quiet ?? false,
  });
}
