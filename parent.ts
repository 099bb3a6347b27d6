/**
 * ParentProcess entry point: `deno task parent -- --help`.
 *
 * @module
 */

import { UsageError } from "./src/cli.ts";
import { parentUsage, parseParentConfig } from "./src/parent/parent_config.ts";
import { runParent } from "./src/parent/run_parent.ts";
import { freshSeed } from "./src/random.ts";

/** Parses `args`, runs the LikesServers, prints the report; returns 0 only if all converged. */
export async function main(args: readonly string[]): Promise<number> {
  try {
    const config = parseParentConfig(args, freshSeed());
    if (config === "help") {
      await Deno.stdout.write(new TextEncoder().encode(parentUsage()));
      return 0;
    }
    return await runParent(config);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    await Deno.stderr.write(
      new TextEncoder().encode(`error: ${error.message}\nRun with --help for usage.\n`),
    );
    return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
