/**
 * Overlay node entry point: `deno task node --id B` (see `--help`).
 *
 * @module
 */

import { exitWith, printUsage, runCommand } from "./src/cli/flags.ts";
import { nodeUsage, parseNodeFlags } from "./src/overlay/cli/node_flags.ts";
import { runNode } from "./src/overlay/cli/run_node.ts";

/** Parses `args`, runs one node until SIGINT/SIGTERM, and returns the exit code. */
export function main(args: readonly string[]): Promise<number> {
  return runCommand(async () => {
    const config = parseNodeFlags(args);
    return config === "help" ? await printUsage(nodeUsage()) : await runNode(config);
  });
}

if (import.meta.main) exitWith(await main(Deno.args));
