/**
 * Chaos entry point: `deno task chaos` kills and restarts the server at random while a parent
 * runs, then shows whether every like survived. `deno task chaos --help` lists its flags.
 *
 * @module
 */

import { exitWith, runCommand } from "./src/cli/flags.ts";
import { runChaos } from "./src/demo/chaos.ts";

/** Runs chaos; returns its exit code (0 only when every LikesServer converged). */
export function main(args: readonly string[]): Promise<number> {
  return runCommand(() => runChaos(args));
}

if (import.meta.main) exitWith(await main(Deno.args));
