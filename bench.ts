/**
 * Benchmark entry point: `deno task bench` (or `deno task bench --quick`). `--help` lists flags.
 *
 * @module
 */

import { exitWith, runCommand } from "./src/cli/flags.ts";
import { runBench } from "./src/bench/run_bench.ts";

/** Runs the benchmark; returns 0 when every server's total matched what was acknowledged. */
export function main(args: readonly string[]): Promise<number> {
  return runCommand(() => runBench(args));
}

if (import.meta.main) exitWith(await main(Deno.args));
