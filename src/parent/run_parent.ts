/**
 * The ParentProcess's run: spawn N LikesServers one `--stagger` apart, log each one's start and
 * end to ParentProcessStatus, show a live progress line on a terminal, wait for all, read the
 * server's `STATS`, and report per LikesServer whether generated = acknowledged = counted.
 * On SIGINT/SIGTERM it stops its children (SIGTERM, then SIGKILL) and leaves no orphan.
 *
 * @module
 */

import { resolve } from "node:path";
import { getLogger } from "@logtape/logtape";
import { delay } from "../base/delay.ts";
import { setupLogging, shutdownLogging } from "../log/log.ts";
import { ProtocolError } from "../protocol/grammar.ts";
import { ReplyTimeoutError } from "../protocol/line_client.ts";
import { fetchStats, StatsPoller } from "../protocol/stats_client.ts";
import type { RunSnapshot } from "../view/run_snapshot.ts";
import { exitCodeFor, onStopSignal } from "../cli/signals.ts";
import { PARENT_DEFAULTS, type ParentConfig } from "./parent_config.ts";
import { formatProgress } from "./progress.ts";
import { missingGrants, netNeed, runNeed } from "../cli/grants.ts";
import { ERASE_LINE } from "../base/terminal_line.ts";
import { buildReport, formatReport, NO_STATS, type RunReport } from "./run_report.ts";
import { ChildRoster } from "./child_roster.ts";
import { explainLogFileError, LOG_FILES, logPath } from "../log/log_paths.ts";
import { say } from "../cli/say.ts";
import { describeError } from "../base/describe_error.ts";

/** Where the parent writes its status log, given its log directory. */
export function parentLogFile(logDir: string): string {
  return logPath(logDir, LOG_FILES.parent);
}

/** Edges of a parent run (tests and the demo pass their own). */
export interface RunParentOptions {
  /** Receives the final report text (or JSON). @default {writes to stdout} */
  readonly print?: (text: string) => void;
  /** Receives live progress lines; `null` turns them off. @default {stderr when it is a terminal} */
  readonly progress?: ((line: string) => void) | null;
  /** The run id that makes client ids unique per run. @default {random} */
  readonly runId?: string;
  /** How long children get to stop after SIGTERM before SIGKILL, in ms. @default {5000} */
  readonly killGraceMs?: number;
  /**
   * Called with a snapshot of the run every `observeEveryMs` (asking the server for `STATS` each
   * time) and once more at the end with the verdict — for the live view. @default {none}
   */
  readonly observe?: (snapshot: RunSnapshot) => void;
  /** @default {250} */
  readonly observeEveryMs?: number;
}

const encoder = new TextEncoder();

function terminalProgress(): ((line: string) => void) | null {
  if (!Deno.stderr.isTerminal()) return null;
  return (line) => Deno.stderr.writeSync(encoder.encode(`${ERASE_LINE}${line}`));
}

/** What the server said it counted, or why it could not say. */
interface Counts {
  readonly total: number | null;
  readonly clients: Readonly<Record<string, number>>;
  readonly error: string | null;
  /** False when a classic server answered, but not with STATS. */
  readonly hasStats: boolean;
}

/**
 * Asks the server for the children's counts. A connection failure is tried again (the server may
 * be restarting); with the classic protocol, a reply that is not STATS, a close or a silence means
 * a classic server without STATS, and is not tried again.
 */
async function readCounts(config: ParentConfig, names: readonly string[]): Promise<Counts> {
  let error = "";
  for (let attempt = 1; attempt <= 3 * config.servers.length; attempt++) {
    // With several servers over one store any of them can answer: go round them.
    const server = config.servers[(attempt - 1) % config.servers.length]!;
    try {
      const stats = await fetchStats({
        hostname: server.host,
        port: server.port,
        connectTimeoutMs: config.replyTimeoutMs,
        replyTimeoutMs: config.replyTimeoutMs,
      }, names);
      return { total: stats.total, clients: stats.clients, error: null, hasStats: true };
    } catch (failure) {
      error = describeError(failure);
      const answered = failure instanceof ProtocolError ||
        failure instanceof ReplyTimeoutError || failure instanceof Deno.errors.UnexpectedEof;
      if (answered && config.protocol === "classic") {
        return { total: null, clients: {}, error, hasStats: false };
      }
      if (attempt < 3) await delay(200 * attempt);
    }
  }
  return { total: null, clients: {}, error, hasStats: true };
}

/** Runs the whole ParentProcess; resolves to its exit code (0 only if every child converged). */
export async function runParent(
  config: ParentConfig,
  options: RunParentOptions = {},
): Promise<number> {
  const {
    print = (text: string) => Deno.stdout.writeSync(encoder.encode(text)),
    progress = terminalProgress(),
    runId = crypto.randomUUID().slice(0, 8),
    killGraceMs = PARENT_DEFAULTS.killGraceMs,
    observe,
    observeEveryMs = PARENT_DEFAULTS.observeEveryMs,
  } = options;
  const logDir = resolve(config.logDir);
  const logFile = parentLogFile(logDir);
  try {
    await setupLogging({ file: logFile });
  } catch (error) {
    say(`error: ${explainLogFileError(error, logFile)}`);
    return 1;
  }
  const address = `${config.host}:${config.port}`;
  // STATS is asked only at the end: a missing grant must not cost the whole run.
  const missing = await missingGrants([
    runNeed("deno", "start the LikesServers"),
    netNeed(config.host, config.port, `ask the PrimaryLikesServer at ${address} for its counts`),
  ]);
  if (missing) {
    say(`error: ${missing}`);
    await shutdownLogging();
    return 1;
  }
  const log = getLogger(["likes", "parent"]);
  using stopSignal = onStopSignal();
  const stopping = new AbortController();
  let interrupted: string | null = null;
  stopSignal.received.then((signal) => {
    interrupted = signal;
    log.warn(`${signal} received: stopping every LikesServer`);
    stopping.abort();
  });

  log.info(
    `ParentProcess started: run ${runId}, ${config.children} LikesServer(s) ${
      config.staggerMs / 1000
    } s apart, lifetime ${
      config.durationMs / 1000
    } s each, server ${address}, ${config.protocol} protocol, seed ${config.seed}`,
  );
  const roster = new ChildRoster(config, { runId, logDir, log });
  const childClientIds = roster.clientIds;
  const startedAt = Date.now();
  const endAt = startedAt + (config.children - 1) * config.staggerMs + config.durationMs;
  const showProgress = () => {
    const { alive, started, generated, acknowledged } = roster.totals();
    progress?.(formatProgress({
      alive,
      started,
      total: config.children,
      generated,
      acknowledged,
      secondsLeft: (endAt - Date.now()) / 1000,
    }));
  };
  const ticker = progress ? setInterval(showProgress, 250) : undefined;

  const server = {
    up: false,
    total: null as number | null,
    clients: {} as Readonly<Record<string, number>>,
  };
  const snapshot = (verdict: string | null, converged: boolean | null): RunSnapshot => ({
    runId,
    seed: config.seed,
    startedAt,
    at: Date.now(),
    serverAddress: address,
    serverUp: server.up,
    serverTotal: server.total,
    serverClients: server.clients,
    children: roster.snapshots(),
    verdict,
    converged,
  });
  const sampling = new AbortController();
  const sampler = observe && (async () => {
    const poller = new StatsPoller({ hostname: config.host, port: config.port }, childClientIds);
    try {
      while (!sampling.signal.aborted) {
        Object.assign(server, await poller.poll());
        observe(snapshot(null, null));
        await delay(observeEveryMs, sampling.signal);
      }
    } finally {
      poller.close();
    }
  })();

  // Numbered from 0, as in the seed exercise: LikesServer0 … LikesServer<N-1>.
  for (let id = 0; id < config.children && !stopping.signal.aborted; id++) {
    roster.start(id);
    if (id < config.children - 1) await delay(config.staggerMs, stopping.signal);
  }
  if (!stopping.signal.aborted) {
    await Promise.race([
      roster.allEnded(),
      new Promise<void>((r) => stopping.signal.addEventListener("abort", () => r())),
    ]);
  }
  if (stopping.signal.aborted) await roster.stop(killGraceMs);
  clearInterval(ticker);
  sampling.abort();
  await sampler;
  if (progress) {
    showProgress();
    progress("\n");
  }

  const counts = await readCounts(config, childClientIds);
  const report: RunReport = buildReport({
    runId,
    seed: config.seed,
    address,
    children: roster.outcomes().map((o) => ({
      ...o,
      counted: counts.total === null ? null : counts.clients[o.clientId] ?? 0,
    })),
    serverTotal: counts.total,
    serverError: counts.error,
    serverHasStats: counts.hasStats,
    interrupted,
  });
  if (!counts.hasStats) log.warn(`${NO_STATS}: ${counts.error}`);
  for (const row of report.children) {
    log.info(
      `${row.name}: generated ${row.generated}, acknowledged ${row.acknowledged}, sent without an answer ${row.unanswered}, counted ${
        row.counted ?? (counts.hasStats ? "?" : "n/a")
      } → ${row.converged ? "converged" : "NOT converged"}`,
    );
  }
  log.info(`verdict: ${report.verdict}`);
  if (observe) {
    Object.assign(server, {
      up: counts.total !== null || !counts.hasStats,
      total: counts.total,
      clients: counts.clients,
    });
    observe(snapshot(report.verdict, report.converged));
  }
  print(config.json ? `${JSON.stringify(report)}\n` : formatReport(report));
  await shutdownLogging();
  if (interrupted) return exitCodeFor(interrupted);
  return report.converged ? 0 : 1;
}
