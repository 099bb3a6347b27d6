/**
 * Telemetry viewer entry point: `deno task otel` (see `--help`).
 *
 * @module
 */

import { exitWith, printUsage, runCommand } from "./src/cli/flags.ts";
import { parseViewerFlags, runViewer, viewerUsage } from "./src/viewer/run_viewer.ts";

/** Parses `args`, prints what arrives until SIGINT/SIGTERM, and returns the exit code. */
export function main(args: readonly string[]): Promise<number> {
  return runCommand(async () => {
    const config = parseViewerFlags(args);
    return config === "help" ? await printUsage(viewerUsage()) : await runViewer(config);
  });
}

if (import.meta.main) exitWith(await main(Deno.args));
