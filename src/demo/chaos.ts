/**
 * The chaos run: a ParentProcess sends likes while the PrimaryLikesServer is killed with SIGKILL
 * at random moments and restarted on the same port and data directory. When the LikesServers'
 * lifetime ends the server stays up, they drain what was not acknowledged, and the parent's
 * per-child table shows whether every like survived: generated = acknowledged = counted.
 *
 * @module
 */

import { formatUsage, parseFlags, parseSeconds, printUsage, UsageError } from "../cli/flags.ts";
import { delay } from "../base/delay.ts";
import { freshSeed, randomBetween, seededRandom } from "../base/random.ts";
import { type ServerProcess, startServer } from "../launch/processes.ts";
import { prepareRun, runFlags, startParent } from "./run_flags.ts";
import { say } from "../cli/say.ts";
import { describeError } from "../base/describe_error.ts";

const FLAGS = [
  ...runFlags({
    duration: "60",
    stagger: "0.1",
    minInterval: "0.05",
    maxInterval: "0.3",
    prefix: "likes-chaos-",
  }),
  {
    name: "min-up",
    type: "string" as const,
    value: "SECONDS",
    default: "1",
    help: "shortest time between a restart and the next kill",
  },
  {
    name: "max-up",
    type: "string" as const,
    value: "SECONDS",
    default: "5",
    help: "longest time between a restart and the next kill",
  },
  {
    name: "min-down",
    type: "string" as const,
    value: "SECONDS",
    default: "0.2",
    help: "shortest time the server stays down",
  },
  {
    name: "max-down",
    type: "string" as const,
    value: "SECONDS",
    default: "1.5",
    help: "longest time the server stays down",
  },
];

/** The `--help` text. */
export function chaosUsage(): string {
  return formatUsage(
    "deno task chaos",
    "Runs a ParentProcess against a PrimaryLikesServer that is killed (SIGKILL) and restarted at random\n" +
      "while the LikesServers live, then shows whether every like survived. Exit 0 only if all converged.",
    FLAGS,
  );
}

/**
 * Reads the pair of second flags `--LOW` and `--HIGH` from parsed flags, in ms.
 *
 * @throws {UsageError} If either is not a number of seconds ≥ 0, or LOW exceeds HIGH.
 */
export function parseSecondsRange(
  s: Readonly<Record<string, string>>,
  low: string,
  high: string,
): [number, number] {
  const min = parseSeconds(low, s[low]!, { min: 0 });
  const max = parseSeconds(high, s[high]!, { min: 0 });
  if (min > max) {
    throw new UsageError(
      `--${low} must not exceed --${high}: current values are ${s[low]} and ${s[high]}`,
    );
  }
  return [min, max];
}

/**
 * Runs chaos with `args` (see {@linkcode chaosUsage}); resolves to the parent's exit code (0 only
 * if every LikesServer converged), or 1 if the server could not be restarted or stopped cleanly.
 *
 * @throws {UsageError} On a bad flag.
 */
export async function runChaos(args: readonly string[]): Promise<number> {
  const { strings: s, booleans: b } = parseFlags(args, FLAGS);
  if (b.help) return await printUsage(chaosUsage());
  const [minUp, maxUp] = parseSecondsRange(s, "min-up", "max-up");
  const [minDown, maxDown] = parseSecondsRange(s, "min-down", "max-down");
  const run = await prepareRun(s, b, "likes-chaos-", 30);
  const random = seededRandom(run.seed ?? freshSeed());
  const dataDir = `${run.logDir}/data`;
  const startedAt = Date.now();
  const tell = (line: string) => {
    const at = ((Date.now() - startedAt) / 1000).toFixed(1).padStart(5);
    say(`chaos ${at} s: ${line}`);
  };
  const recoveredLine = (server: ServerProcess) =>
    /recovered .* in \d+ ms/.exec(server.output().stderr)?.[0] ?? "started";
  const start = async (port: number): Promise<ServerProcess> => {
    for (let attempt = 1;; attempt++) {
      try {
        return await startServer({
          logDir: run.logDir,
          dataDir,
          port,
          workers: run.workers,
          detached: true,
        });
      } catch (error) {
        if (attempt >= 5) throw error;
        await delay(200 * attempt);
      }
    }
  };

  tell(`logs and data in ${run.logDir}`);
  let server = await start(0);
  const port = server.port;
  tell(`server pid ${server.pid} listening on 127.0.0.1:${port}`);
  using parent = startParent(port, run);
  let parentDone = false;
  parent.status.then(() => (parentDone = true));
  const stopKilling = new AbortController();
  parent.status.then(() => stopKilling.abort());
  let kills = 0;
  let downMs = 0;
  let failure: unknown;
  try {
    while (!parentDone && Date.now() - startedAt < run.durationMs) {
      const up = randomBetween(random, minUp, maxUp);
      const left = run.durationMs - (Date.now() - startedAt);
      if (up >= left) break;
      if (!await delay(up, stopKilling.signal)) break;
      await server.stop("SIGKILL");
      kills++;
      const down = randomBetween(random, minDown, maxDown);
      tell(
        `kill -9 server pid ${server.pid} (kill ${kills}); down for ${(down / 1000).toFixed(1)} s`,
      );
      const downFrom = Date.now();
      await delay(down);
      server = await start(port);
      downMs += Date.now() - downFrom;
      tell(`server back as pid ${server.pid}: ${recoveredLine(server)}`);
    }
    tell(`no more kills; LikesServers finish and drain against pid ${server.pid}`);
  } catch (error) {
    failure = error;
    tell(`could not restart the server: ${describeError(error, "message")}`);
  }
  const parentStatus = await parent.status;
  const serverStatus = failure ? null : await server.stop("SIGTERM");
  tell(
    `the server was killed ${kills} time(s) and down ${(downMs / 1000).toFixed(1)} s in all; ` +
      `it stopped with exit ${serverStatus?.code ?? "?"}; logs in ${run.logDir}`,
  );
  if (failure || serverStatus?.code !== 0) return 1;
  return parentStatus.code;
}
