/**
 * PrimaryLikesServer entry point: `deno task server --help`.
 *
 * @module
 */

import { exitWith, printUsage, runCommand } from "./src/cli/flags.ts";
import { runServer } from "./src/server/run_server.ts";
import { parseServerConfig, serverUsage } from "./src/server/server_config.ts";
import { serverTelemetry } from "./src/telemetry/server_telemetry.ts";

/**
 * Parses `args`, runs the server until SIGINT/SIGTERM (recording the `likes.*` metrics when
 * `OTEL_DENO=true`), and returns the exit code.
 */
export function main(args: readonly string[]): Promise<number> {
  const cpus = navigator.hardwareConcurrency || 1;
  return runCommand(async () => {
    const config = parseServerConfig(args, cpus);
    return config === "help"
      ? await printUsage(serverUsage(cpus))
      : await runServer(config, serverTelemetry());
  });
}

if (import.meta.main) exitWith(await main(Deno.args));
