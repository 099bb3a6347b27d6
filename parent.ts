/**
 * ParentProcess entry point: `deno task parent --help`.
 *
 * @module
 */

import { exitWith, printUsage, runCommand } from "./src/cli/flags.ts";
import { parentUsage, parseParentConfig } from "./src/parent/parent_config.ts";
import { runParent } from "./src/parent/run_parent.ts";
import { freshSeed } from "./src/base/random.ts";
import { serveView } from "./src/view/view_server.ts";

/** Parses `args`, runs the LikesServers, prints the report; returns 0 only if all converged. */
export function main(args: readonly string[]): Promise<number> {
  return runCommand(async () => {
    const config = parseParentConfig(args, freshSeed());
    if (config === "help") return await printUsage(parentUsage());
    if (config.viewPort === null) return await runParent(config);
    let view;
    try {
      view = await serveView({ port: config.viewPort });
    } catch (error) {
      const where = `127.0.0.1:${config.viewPort}`;
      const why = error instanceof Deno.errors.NotCapable
        ? `no permission; run deno with --allow-net=${where}`
        : error instanceof Deno.errors.AddrInUse
        ? "the address is already in use"
        : String(error);
      await Deno.stderr.write(
        new TextEncoder().encode(`error: Cannot serve the view on ${where}: ${why}\n`),
      );
      return 1;
    }
    await using _ = view;
    await Deno.stderr.write(new TextEncoder().encode(`view at ${view.url}\n`));
    return await runParent(config, { observe: (snapshot) => view.update(snapshot) });
  });
}

if (import.meta.main) exitWith(await main(Deno.args));
