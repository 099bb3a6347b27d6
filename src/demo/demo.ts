/**
 * The demo: a PrimaryLikesServer on a free port and a ParentProcess with short settings, logs in
 * a fresh directory, the convergence table at the end, then the server stopped cleanly.
 *
 * @module
 */

import { type Flag, formatUsage, parseChoice, parseFlags, printUsage } from "../cli/flags.ts";
import { type RedisProcess, startRedis } from "../launch/redis_process.ts";
import { startServer } from "../launch/processes.ts";
import { prepareRun, runFlags, startParent } from "./run_flags.ts";
import { say } from "../cli/say.ts";
import { LOG_FILES, logPath } from "../log/log_paths.ts";

const FLAGS = [
  ...runFlags({
    duration: "25",
    stagger: "0.5",
    minInterval: "0.2",
    maxInterval: "1",
    prefix: "likes-demo-",
  }),
  {
    name: "store",
    type: "string",
    value: "embedded|redis",
    default: "embedded",
    help:
      "count in the server's journal, or in a Redis the demo starts for the run (Debian's redis-server)",
  },
] as const satisfies readonly Flag[];

/** The `--help` text. */
export function demoUsage(): string {
  return formatUsage(
    "deno task demo",
    "Runs a PrimaryLikesServer and a ParentProcess with short settings and shows them converge.",
    FLAGS,
  );
}

function tell(line: string): void {
  say(`demo: ${line}`);
}

/**
 * Runs the demo with `args` (see {@linkcode demoUsage}); resolves to the parent's exit code, or 1
 * if the server did not stop cleanly.
 *
 * @throws {UsageError} On a bad flag.
 */
export async function runDemo(args: readonly string[]): Promise<number> {
  const { strings: s, booleans: b } = parseFlags(args, FLAGS);
  if (b.help) return await printUsage(demoUsage());
  const store = parseChoice("store", s.store!, ["embedded", "redis"] as const);
  const run = await prepareRun(s, b, "likes-demo-", 5);
  tell(`logs in ${run.logDir} (watch with: tail -f ${logPath(run.logDir, LOG_FILES.server)})`);
  let redis: RedisProcess | undefined;
  if (store === "redis") {
    const dir = `${run.logDir}/redis`;
    await Deno.mkdir(dir, { recursive: true });
    redis = await startRedis({ appendfsync: "always", dir });
    tell(
      `redis-server pid ${redis.pid} on 127.0.0.1:${redis.port} (appendfsync always, files in ${dir})`,
    );
  }
  await using _redis = { [Symbol.asyncDispose]: async () => await redis?.stop() };
  // Detached: on Ctrl-C the parent and its LikesServers stop first and can still read STATS;
  // the demo then stops the server itself (also when it is interrupted).
  await using server = await startServer({
    logDir: run.logDir,
    workers: run.workers,
    detached: true,
    ...(redis
      ? {
        grants: ["--allow-env=REDIS_DEBUG_MAINTENANCE"],
        args: [`--store=redis://127.0.0.1:${redis.port}`],
      }
      : {}),
  });
  tell(
    `PrimaryLikesServer pid ${server.pid} listening on ${server.host}:${server.port} with ${run.workers} Workers`,
  );
  tell(
    `ParentProcess: ${s.children} LikesServers, ${s.stagger} s apart, ${s.duration} s each, a batch every ${
      s["min-interval"]
    }..${s["max-interval"]} s`,
  );
  using parent = startParent(server.port, run);
  const parentStatus = await parent.status;
  const serverStatus = await server.stop("SIGTERM");
  tell(
    `server stopped (exit ${serverStatus.code}); logs: ${run.logDir}/{PrimaryLikesLog,ParentProcessStatus,LikesServer0..${
      run.children - 1
    }}`,
  );
  if (serverStatus.code !== 0) return 1;
  return parentStatus.code;
}
