/**
 * Overlay query client entry point: `deno task query get_all` (see `--help`).
 *
 * @module
 */

import { exitWith, printUsage, runCommand } from "./src/cli/flags.ts";
import { parseQueryFlags, queryUsage } from "./src/overlay/cli/query_flags.ts";
import { runQuery } from "./src/overlay/cli/run_query.ts";

/** Parses `args`, asks the node, prints the reply; 0 complete, 3 partial, 1 failed. */
export function main(args: readonly string[]): Promise<number> {
  return runCommand(async () => {
    const config = parseQueryFlags(args);
    return config === "help" ? await printUsage(queryUsage()) : await runQuery(config);
  });
}

if (import.meta.main) exitWith(await main(Deno.args));
