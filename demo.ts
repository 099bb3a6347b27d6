/**
 * Demo entry point: `deno task demo` runs a server and a parent with short settings and shows the
 * convergence table. `deno task demo --help` lists its flags.
 *
 * @module
 */

import { exitWith, runCommand } from "./src/cli/flags.ts";
import { runDemo } from "./src/demo/demo.ts";

/** Runs the demo; returns its exit code (0 when every LikesServer converged). */
export function main(args: readonly string[]): Promise<number> {
  return runCommand(() => runDemo(args));
}

if (import.meta.main) exitWith(await main(Deno.args));
