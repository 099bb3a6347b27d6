/**
 * What the demo and the chaos run share: the flags that shape the ParentProcess they start, a
 * fresh log directory, and starting that parent with its own narrow permissions.
 *
 * @module
 */

import {
  type Flag,
  parseInteger,
  parseIntervals,
  parsePath,
  parseSeconds,
  StartError,
} from "../cli/flags.ts";
import { missingGrants, writeNeed } from "../cli/grants.ts";
import { serviceEnv } from "../launch/child_process.ts";
import { freePort } from "../launch/free_port.ts";
import { onStopSignal } from "../cli/signals.ts";
import { parentArgs } from "../launch/processes.ts";

/** Flags of a demo or chaos run, with their defaults. */
export function runFlags(defaults: {
  readonly duration: string;
  readonly stagger: string;
  readonly minInterval: string;
  readonly maxInterval: string;
  readonly prefix: string;
}): Flag[] {
  return [
    { name: "children", type: "string", value: "N", default: "10", help: "LikesServers to spawn" },
    {
      name: "stagger",
      type: "string",
      value: "SECONDS",
      default: defaults.stagger,
      help: "pause between spawns",
    },
    {
      name: "duration",
      type: "string",
      value: "SECONDS",
      default: defaults.duration,
      help: "each LikesServer's lifetime",
    },
    {
      name: "min-interval",
      type: "string",
      value: "SECONDS",
      default: defaults.minInterval,
      help: "shortest wait between batches",
    },
    {
      name: "max-interval",
      type: "string",
      value: "SECONDS",
      default: defaults.maxInterval,
      help: "longest wait between batches",
    },
    {
      name: "workers",
      type: "string",
      value: "K",
      default: "2",
      help: "server connection Workers",
    },
    {
      name: "log-dir",
      type: "string",
      value: "DIR",
      help: `where logs and data go (default: a fresh /tmp/${defaults.prefix}*)`,
    },
    { name: "seed", type: "string", value: "N", help: "seed for a repeatable run" },
    { name: "json", type: "boolean", help: "print the parent's report as JSON" },
    {
      name: "view-port",
      type: "string",
      value: "PORT",
      default: "0",
      help: "port of the live view (0: a free one)",
    },
    { name: "no-view", type: "boolean", help: "do not serve the live view" },
  ];
}

/** The validated run flags. */
export interface RunSettings {
  readonly children: number;
  readonly durationMs: number;
  readonly workers: number;
  readonly logDir: string;
  readonly seed: number | undefined;
  /** The live view's port, or `undefined` for none. */
  readonly viewPort: number | undefined;
  /** The flags to pass on to `parent.ts`. */
  readonly parentFlags: string[];
}

/**
 * Validates the run flags, creates the log directory, and builds the parent's flags.
 *
 * @throws {UsageError} On a bad value.
 * @throws {StartError} If a `--log-dir` given was not granted for writing.
 */
export async function prepareRun(
  s: Readonly<Record<string, string>>,
  b: Readonly<Record<string, boolean>>,
  prefix: string,
  drainSeconds: number,
): Promise<RunSettings> {
  const json = b.json ?? false;
  const requestedView = parseInteger("view-port", s["view-port"]!, { min: 0, max: 65535 });
  const viewPort = b["no-view"] ? undefined : requestedView === 0 ? freePort() : requestedView;
  const children = parseInteger("children", s.children!, { min: 1, max: 10_000 });
  parseSeconds("stagger", s.stagger!, { min: 0 });
  const durationMs = parseSeconds("duration", s.duration!, { min: 0 });
  parseIntervals(s["min-interval"]!, s["max-interval"]!);
  const workers = parseInteger("workers", s.workers!, { min: 1, max: 256 });
  const seed = s.seed === undefined
    ? undefined
    : parseInteger("seed", s.seed, { min: 0, max: 4294967295 });
  const given = s["log-dir"] === undefined ? null : parsePath("log-dir", s["log-dir"]);
  const missing = given === null
    ? null
    : await missingGrants([writeNeed(given, `write logs and data in ${given}`)]);
  if (missing) throw new StartError(missing);
  const logDir = given ?? await Deno.makeTempDir({ dir: "/tmp", prefix });
  await Deno.mkdir(logDir, { recursive: true });
  return {
    children,
    durationMs,
    workers,
    logDir,
    seed,
    viewPort,
    parentFlags: [
      `--children=${children}`,
      `--stagger=${s.stagger}`,
      `--duration=${s.duration}`,
      `--min-interval=${s["min-interval"]}`,
      `--max-interval=${s["max-interval"]}`,
      `--drain=${drainSeconds}`,
      ...(seed === undefined ? [] : [`--seed=${seed}`]),
      ...(json ? ["--json"] : []),
    ],
  };
}

/** A running parent whose output goes to this terminal; stop signals are passed on to it. */
export interface ParentRun extends Disposable {
  readonly status: Promise<Deno.CommandStatus>;
}

/** Starts `parent.ts` against `port`; SIGINT/SIGTERM received here are forwarded to it. */
export function startParent(port: number, settings: RunSettings): ParentRun {
  const parent = new Deno.Command("deno", {
    args: parentArgs({
      port,
      logDir: settings.logDir,
      args: settings.parentFlags,
      ...(settings.viewPort === undefined ? {} : { viewPort: settings.viewPort }),
    }),
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
    env: serviceEnv("likes-parent"),
  }).spawn();
  const stop = onStopSignal();
  stop.received.then((signal) => {
    try {
      parent.kill(signal);
    } catch {
      // The parent already exited.
    }
  });
  return { status: parent.status, [Symbol.dispose]: () => stop[Symbol.dispose]() };
}
