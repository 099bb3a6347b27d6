/**
 * The demo: a PrimaryLikesServer on a free port and a ParentProcess with short settings, logs in
 * a fresh directory, the convergence table at the end, then the server stopped cleanly.
 *
 * @module
 */

import {
  type Flag,
  formatUsage,
  parseFlags,
  parseInteger,
  parseIntervals,
  parseSeconds,
  printUsage,
} from "../cli.ts";
import { onStopSignal } from "../signals.ts";
import { parentArgs, startServer } from "./processes.ts";

const FLAGS: Flag[] = [
  { name: "children", type: "string", value: "N", default: "10", help: "LikesServers to spawn" },
  {
    name: "stagger",
    type: "string",
    value: "SECONDS",
    default: "0.5",
    help: "pause between spawns",
  },
  {
    name: "duration",
    type: "string",
    value: "SECONDS",
    default: "25",
    help: "each LikesServer's lifetime",
  },
  {
    name: "min-interval",
    type: "string",
    value: "SECONDS",
    default: "0.2",
    help: "shortest wait between batches",
  },
  {
    name: "max-interval",
    type: "string",
    value: "SECONDS",
    default: "1",
    help: "longest wait between batches",
  },
  { name: "workers", type: "string", value: "K", default: "2", help: "server connection Workers" },
  {
    name: "log-dir",
    type: "string",
    value: "DIR",
    help: "where the logs go (default: a fresh /tmp/likes-demo-*)",
  },
  { name: "seed", type: "string", value: "N", help: "seed for a repeatable run" },
  { name: "json", type: "boolean", help: "print the report as JSON" },
];

/** The `--help` text. */
export function demoUsage(): string {
  return formatUsage(
    "deno task demo --",
    "Runs a PrimaryLikesServer and a ParentProcess with short settings and shows them converge.",
    FLAGS,
  );
}

const encoder = new TextEncoder();

function say(line: string): void {
  Deno.stderr.writeSync(encoder.encode(`demo: ${line}\n`));
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
  parseSeconds("stagger", s.stagger!, { min: 0 });
  parseSeconds("duration", s.duration!, { min: 0 });
  parseInteger("children", s.children!, { min: 1, max: 10_000 });
  parseIntervals(s["min-interval"]!, s["max-interval"]!);
  const workers = parseInteger("workers", s.workers!, { min: 1, max: 256 });
  const logDir = s["log-dir"] ?? await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-demo-" });
  await Deno.mkdir(logDir, { recursive: true });
  say(`logs in ${logDir} (watch with: tail -f ${logDir}/PrimaryLikesLog)`);
  // Detached: on Ctrl-C the parent and its LikesServers stop first and can still read STATS;
  // the demo then stops the server itself (also when it is interrupted).
  await using server = await startServer({ logDir, workers, detached: true });
  say(
    `PrimaryLikesServer pid ${server.pid} listening on ${server.host}:${server.port} with ${workers} Workers`,
  );
  say(
    `ParentProcess: ${s.children} LikesServers, ${s.stagger} s apart, ${s.duration} s each, a batch every ${
      s["min-interval"]
    }..${s["max-interval"]} s`,
  );
  const parent = new Deno.Command("deno", {
    args: parentArgs({
      port: server.port,
      logDir,
      args: [
        `--children=${s.children}`,
        `--stagger=${s.stagger}`,
        `--duration=${s.duration}`,
        `--min-interval=${s["min-interval"]}`,
        `--max-interval=${s["max-interval"]}`,
        "--drain=5",
        ...(s.seed === undefined ? [] : [`--seed=${s.seed}`]),
        ...(b.json ? ["--json"] : []),
      ],
    }),
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  using stop = onStopSignal();
  stop.received.then((signal) => {
    try {
      parent.kill(signal);
    } catch {
      // The parent already exited.
    }
  });
  const parentStatus = await parent.status;
  const serverStatus = await server.stop("SIGTERM");
  say(
    `server stopped (exit ${serverStatus.code}); logs: ${logDir}/{PrimaryLikesLog,ParentProcessStatus,LikesServer1..${s.children}}`,
  );
  if (serverStatus.code !== 0) return 1;
  return parentStatus.code;
}
