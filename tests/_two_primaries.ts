/**
 * Two PrimaryLikesServers over one Redis store, and a ParentProcess whose LikesServers use both,
 * with a fault injected mid-run: what the Redis tests share.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnDeno } from "../src/launch/child_process.ts";
import { parentArgs, type ServerProcess, startServer } from "../src/launch/processes.ts";
import type { RunReport } from "../src/parent/run_report.ts";
import { stats } from "./_helpers.ts";

/** How the run goes. */
export interface TwoPrimariesRun {
  /** The `--store` both primaries take. */
  readonly store: string;
  readonly logDir: string;
  readonly children: number;
  /** The LikesServers' lifetime, in seconds. */
  readonly seconds: number;
  /** When the fault comes, in ms after the parent starts, and what it is. */
  readonly faultAtMs: number;
  readonly fault: (a: ServerProcess, b: ServerProcess) => Promise<void>;
}

/**
 * Runs the parent to its end through the fault, and checks that every child converged and that
 * the store (read through `b`'s STATS) holds exactly the likes generated; returns the report.
 */
export async function twoPrimaries(run: TwoPrimariesRun): Promise<RunReport> {
  const primary = () =>
    startServer({
      logDir: run.logDir,
      workers: 1,
      grants: ["--allow-env=REDIS_DEBUG_MAINTENANCE"],
      args: [`--store=${run.store}`],
    });
  await using a = await primary();
  await using b = await primary();
  const both = `127.0.0.1:${a.port},127.0.0.1:${b.port}`;
  // The parent asks either primary for STATS, so it may reach both.
  const args = parentArgs({
    port: a.port,
    logDir: run.logDir,
    args: [
      `--servers=${both}`,
      `--children=${run.children}`,
      "--stagger=0.02",
      `--duration=${run.seconds}`,
      "--min-interval=0.02",
      "--max-interval=0.1",
      "--json",
    ],
  }).map((arg) => arg.startsWith("--allow-net=") ? `--allow-net=${both}` : arg);
  const parent = spawnDeno(args);
  const stdout = new Response(parent.stdout).text();
  const stderr = new Response(parent.stderr).text();
  await new Promise((r) => setTimeout(r, run.faultAtMs));
  await run.fault(a, b);
  const status = await parent.status;
  const report: RunReport = JSON.parse(await stdout);
  if (status.code !== 0) {
    // Say why: the primaries' last warnings (both write the one log file of logDir).
    const log = await Deno.readTextFile(`${run.logDir}/PrimaryLikesLog`).catch(() => "");
    const warnings = log.split("\n").filter((l) => / (WARNING|ERROR|FATAL) /.test(l)).slice(-12);
    assert.fail(
      `${await stderr}${report.verdict}\nthe primaries' last warnings:\n${warnings.join("\n")}`,
    );
  }
  assert.equal(report.converged, true, report.verdict);
  assert.equal(report.children.length, run.children);
  assert.ok(report.children.every((c) => c.counted === c.generated && c.generated > 0));
  assert.equal((await stats(b.port)).total, report.totals.generated, "counted in Redis");
  return report;
}
