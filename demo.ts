/**
 * Demo entry point: `deno task demo` runs a server and a parent with short settings and shows the
 * convergence table. `deno task demo -- --help` lists its flags.
 *
 * @module
 */

import { UsageError } from "./src/cli.ts";
import { runDemo } from "./src/launch/demo.ts";

/** Runs the demo; returns its exit code (0 when every LikesServer converged). */
export async function main(args: readonly string[]): Promise<number> {
  try {
    return await runDemo(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    await Deno.stderr.write(
      new TextEncoder().encode(`error: ${error.message}\nRun with --help for usage.\n`),
    );
    return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
