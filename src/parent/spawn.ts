/**
 * Spawning one LikesServer child with `Deno.Command` and only the permissions it needs: network
 * access to the one server host:port and write access to its own log file. Its `--report-json`
 * lines are read from stdout; the tail of its stderr is kept for the status log.
 *
 * @module
 */

import { forEachLine, serviceEnv, spawnDeno } from "../launch/child_process.ts";
import { likesServerArgs } from "../launch/processes.ts";
import { type EdgeReport, parseEdgeReport } from "../protocol/edge_report.ts";
import type { LikesRunConfig } from "../edge/likes_flags.ts";
import { formatSeconds } from "../cli/flags.ts";

/**
 * What one child is asked to do: the LikesServer's own settings (`LikesRunConfig`, as its flags
 * give them), its number and the key the server counts it under.
 */
export interface ChildSpec extends
  Pick<
    LikesRunConfig,
    | "servers"
    | "durationMs"
    | "minIntervalMs"
    | "maxIntervalMs"
    | "maxLikes"
    | "seed"
    | "protocol"
    | "ack"
    | "connection"
    | "retry"
    | "replyTimeoutMs"
    | "drainMs"
  > {
  /** Its number N. */
  readonly id: number;
  /** The key the server will count it under. */
  readonly clientId: string;
  /** Absolute log directory. */
  readonly logDir: string;
}

/**
 * The `deno` arguments that run one child with narrow permissions. Pure, so tests can check that
 * nothing broader than the one host:port and the one log file is granted.
 *
 * @example
 * ```ts
 * import { childArgs } from "./spawn.ts";
 * import assert from "node:assert/strict";
 * const args = childArgs({ id: 3, clientId: "LikesServer3-r", servers: [{ host: "127.0.0.1", port: 4242 }], logDir: "/tmp",
 *   durationMs: 1000, minIntervalMs: 100, maxIntervalMs: 200, maxLikes: 42, seed: 1, protocol: "keyed",
 *   ack: "prefix", connection: "persistent", retry: "safe", replyTimeoutMs: 2000, drainMs: 0 });
 * assert.ok(args.includes("--allow-net=127.0.0.1:4242"));
 * assert.ok(args.includes("--allow-write=/tmp/LikesServer3"));
 * ```
 */
export function childArgs(spec: ChildSpec): string[] {
  return likesServerArgs({
    servers: spec.servers,
    logDir: spec.logDir,
    id: spec.id,
    args: [
      `--client-id=${spec.clientId}`,
      `--duration=${formatSeconds(spec.durationMs)}`,
      `--min-interval=${formatSeconds(spec.minIntervalMs)}`,
      `--max-interval=${formatSeconds(spec.maxIntervalMs)}`,
      `--max-likes=${spec.maxLikes}`,
      `--seed=${spec.seed}`,
      `--protocol=${spec.protocol}`,
      `--ack=${spec.ack}`,
      `--connection=${spec.connection}`,
      `--retry=${spec.retry}`,
      `--reply-timeout=${formatSeconds(spec.replyTimeoutMs)}`,
      `--drain=${formatSeconds(spec.drainMs)}`,
      "--report-json",
      "--quiet",
    ],
  });
}

/** A running (or finished) child. */
export interface RunningChild {
  readonly spec: ChildSpec;
  readonly pid: number;
  /** When it was spawned (ms since the epoch). */
  readonly startedAt: number;
  /** Its latest progress line, if any. */
  readonly latest: EdgeReport | null;
  /** Resolves when it exits (after its stdout and stderr were read to the end). */
  readonly status: Promise<Deno.CommandStatus>;
  /** The last few kilobytes it wrote to stderr. */
  stderrTail(): string;
  /** Sends a signal, ignoring a child that already exited. */
  kill(signal?: Deno.Signal): void;
}

const STDERR_TAIL_CHARS = 4000;

/**
 * Spawns one child with `deno` from PATH (the only program the parent may run).
 *
 * @throws {Deno.errors.NotFound} If `deno` is not on PATH.
 * @throws {Deno.errors.NotCapable} If the parent may not run `deno`.
 */
export function spawnChild(spec: ChildSpec): RunningChild {
  const process = spawnDeno(childArgs(spec), { env: serviceEnv("likes-server") });
  let latest: EdgeReport | null = null;
  let stderr = "";
  const stdoutDone = forEachLine(process.stdout, (line) => {
    const report = parseEdgeReport(line);
    if (report) latest = report;
  });
  const stderrDone = forEachLine(process.stderr, (line) => {
    stderr = (stderr + line + "\n").slice(-STDERR_TAIL_CHARS);
  });
  const status = Promise.all([process.status, stdoutDone, stderrDone]).then(([s]) => s);
  return {
    spec,
    pid: process.pid,
    startedAt: Date.now(),
    get latest() {
      return latest;
    },
    status,
    stderrTail: () => stderr,
    kill(signal: Deno.Signal = "SIGTERM") {
      try {
        process.kill(signal);
      } catch {
        // Already exited.
      }
    },
  };
}
