/**
 * Overlay launcher entry point: `deno task cluster` (see `--help`).
 *
 * @module
 */

import { exitWith, printUsage, runCommand } from "./src/cli/flags.ts";
import { clusterUsage, parseClusterFlags } from "./src/overlay/cli/cluster_flags.ts";
import { runCluster } from "./src/overlay/cli/run_cluster.ts";

/** Parses `args`, runs the overlay with its LikesServers, and returns 0 only if it converged. */
export function main(args: readonly string[]): Promise<number> {
  return runCommand(async () => {
    const config = parseClusterFlags(args);
    return config === "help" ? await printUsage(clusterUsage()) : await runCluster(config);
  });
}

if (import.meta.main) exitWith(await main(Deno.args));
