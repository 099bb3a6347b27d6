/**
 * ParentProcess entry point: `deno task parent -- --help`.
 *
 * @module
 */

import { printUsage, runCommand } from "./src/cli.ts";
import { parentUsage, parseParentConfig } from "./src/parent/parent_config.ts";
import { runParent } from "./src/parent/run_parent.ts";
import { freshSeed } from "./src/random.ts";

/** Parses `args`, runs the LikesServers, prints the report; returns 0 only if all converged. */
export function main(args: readonly string[]): Promise<number> {
  return runCommand(async () => {
    const config = parseParentConfig(args, freshSeed());
    return config === "help" ? await printUsage(parentUsage()) : await runParent(config);
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
