/**
 * LikesServer entry point (one edge server): `deno task likes -- --help`.
 *
 * @module
 */

import { UsageError } from "./src/cli.ts";
import { edgeUsage, parseEdgeConfig } from "./src/edge/edge_config.ts";
import { runLikesServer } from "./src/edge/run_likes_server.ts";
import { freshSeed } from "./src/random.ts";

/** Parses `args`, runs one LikesServer, and returns the exit code (0: every like acknowledged). */
export async function main(args: readonly string[]): Promise<number> {
  const session = freshSeed().toString(36);
  try {
    const config = parseEdgeConfig(args, session, freshSeed());
    if (config === "help") {
      await Deno.stdout.write(new TextEncoder().encode(edgeUsage()));
      return 0;
    }
    return await runLikesServer(config);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    await Deno.stderr.write(
      new TextEncoder().encode(`error: ${error.message}\nRun with --help for usage.\n`),
    );
    return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
