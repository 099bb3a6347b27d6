/**
 * LikesServer entry point (one edge server): `deno task likes --help`.
 *
 * @module
 */

import { exitWith, printUsage, runCommand } from "./src/cli/flags.ts";
import { edgeUsage, parseEdgeConfig } from "./src/edge/edge_config.ts";
import { runLikesServer } from "./src/edge/run_likes_server.ts";
import { freshSeed } from "./src/base/random.ts";

/** Parses `args`, runs one LikesServer, and returns the exit code (0: every like acknowledged). */
export function main(args: readonly string[]): Promise<number> {
  return runCommand(async () => {
    const config = parseEdgeConfig(args, freshSeed().toString(36), freshSeed());
    return config === "help" ? await printUsage(edgeUsage()) : await runLikesServer(config);
  });
}

if (import.meta.main) exitWith(await main(Deno.args));
