/**
 * PrimaryLikesServer entry point: `deno task server -- --help`.
 *
 * @module
 */

import { UsageError } from "./src/cli.ts";
import { runServer } from "./src/server/run_server.ts";
import { parseServerConfig, serverUsage } from "./src/server/server_config.ts";

/** Parses `args`, runs the server until SIGINT/SIGTERM, and returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const cpus = navigator.hardwareConcurrency || 1;
  try {
    const config = parseServerConfig(args, cpus);
    if (config === "help") {
      await Deno.stdout.write(new TextEncoder().encode(serverUsage(cpus)));
      return 0;
    }
    return await runServer(config);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    await Deno.stderr.write(
      new TextEncoder().encode(`error: ${error.message}\nRun with --help for usage.\n`),
    );
    return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
