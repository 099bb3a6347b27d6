/**
 * One LikesServer's life: generate a random batch every min..max interval for the duration, send
 * what is owed (retrying unacknowledged likes with bounded backoff when that is safe), drain for a
 * bounded time, and exit 0 only if every like was acknowledged. A classic message that went out
 * but got no acknowledgement is not sent again (unless `--retry ambiguous`): a classic server
 * cannot tell a retry from a new message. Its likes are reported as sent without an answer.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { delay } from "../base/delay.ts";
import { setupLogging, shutdownLogging } from "../log/log.ts";
import type { EdgeReport } from "../protocol/edge_report.ts";
import { formatClassic, formatKeyed } from "../protocol/grammar.ts";
import { type Random, randomBetween, randomInt, seededRandom } from "../base/random.ts";
import { onStopSignal } from "../cli/signals.ts";
import type { EdgeConfig } from "./edge_config.ts";
import { PendingLikes } from "./pending_likes.ts";
import { createSender } from "./sender.ts";
import { explainLogFileError, LOG_FILES, logPath } from "../log/log_paths.ts";
import { type LineOutput, say } from "../cli/say.ts";
import { missingGrants, netNeed } from "../cli/grants.ts";

/** Where a LikesServer writes its log, given its number and log directory. */
export function edgeLogFile(logDir: string, id: number): string {
  return logPath(logDir, LOG_FILES.likesServer(id));
}

/** Edges a LikesServer run can be given (tests pass their own). */
export interface RunLikesServerOptions {
  /** Randomness for batches and intervals. @default {seededRandom(config.seed)} */
  readonly random?: Random;
  /** Randomness for retry jitter (kept apart so that batches stay repeatable). @default {Math.random} */
  readonly jitter?: Random;
  /** Clock. @default {Date.now} */
  readonly clock?: () => number;
  /** Receives each `--report-json` line. @default {writes to stdout} */
  readonly report?: (line: string) => void;
  /** Where a start-up error's one line goes. @default {stderr} */
  readonly errors?: LineOutput;
}

/** Runs one LikesServer until its lifetime and drain end (or SIGINT/SIGTERM); returns the exit code. */
export async function runLikesServer(
  config: EdgeConfig,
  options: RunLikesServerOptions = {},
): Promise<number> {
  const {
    random = seededRandom(config.seed),
    jitter = Math.random,
    clock = Date.now,
    report = (line: string) => say(line, Deno.stdout),
    errors = Deno.stderr,
  } = options;
  const name = `LikesServer${config.id}`;
  const logFile = edgeLogFile(config.logDir, config.id);
  try {
    await setupLogging({
      file: logFile,
      consoleCategories: config.quiet ? [] : [["likes", "edge", "lifecycle"]],
    });
  } catch (error) {
    say(`error: ${explainLogFileError(error, logFile)}`, errors);
    return 1;
  }
  // A connection refused for want of a grant would look like a server away for the whole run.
  const missing = await missingGrants(
    config.servers.map(({ host, port }) => netNeed(host, port, `send likes to ${host}:${port}`)),
  );
  if (missing) {
    say(`error: ${missing}`, errors);
    await shutdownLogging();
    return 1;
  }
  const lifecycle = getLogger(["likes", "edge", "lifecycle"]);
  const batches = getLogger(["likes", "edge", "batch"]);
  const exchanges = getLogger(["likes", "edge", "exchange"]);
  using stopSignal = onStopSignal();
  const stopping = new AbortController();
  stopSignal.received.then((signal) => {
    lifecycle.info(`${name}: ${signal}, stopping early`);
    stopping.abort();
  });

  const state = new PendingLikes({ maxPerMessage: config.maxLikes });
  let phase: EdgeReport["phase"] = "running";
  let connected = false;
  const sendReport = () => {
    if (!config.reportJson) return;
    const line: EdgeReport = {
      id: config.id,
      clientId: config.clientId,
      phase,
      generated: state.generated,
      acknowledged: state.acknowledged,
      unanswered: state.unanswered,
      unacknowledged: state.unacknowledged,
      connected,
    };
    report(JSON.stringify(line));
  };
  let wake = Promise.withResolvers<void>();
  const notify = () => {
    wake.resolve();
    wake = Promise.withResolvers<void>();
  };

  const seconds = (ms: number) => `${Math.round(ms) / 1000} s`;
  const classicTerms = config.protocol === "classic"
    ? `, --ack ${config.ack}, --retry ${config.retry}`
    : "";
  lifecycle.info(
    `${name} started: client id ${config.clientId}, server ${
      config.servers.map((a) => `${a.host}:${a.port}`).join(",")
    }, ` +
      `${config.protocol} protocol, ${config.connection} connection${classicTerms}, lifetime ${
        seconds(config.durationMs)
      }, a batch of 0..${config.maxLikes} ` +
      `likes every ${seconds(config.minIntervalMs)}..${
        seconds(config.maxIntervalMs)
      }, seed ${config.seed}`,
  );
  sendReport();

  const startedAt = clock();
  let drainDeadline = Infinity;
  const generator = (async () => {
    const endAt = startedAt + config.durationMs;
    while (!stopping.signal.aborted) {
      const wait = randomBetween(random, config.minIntervalMs, config.maxIntervalMs);
      if (clock() + wait > endAt) {
        await delay(endAt - clock(), stopping.signal);
        break;
      }
      if (!await delay(wait, stopping.signal)) break;
      const likes = randomInt(random, 0, config.maxLikes);
      state.add(likes);
      batches.info(`${name} ${likes}`);
      sendReport();
      notify();
    }
    phase = "draining";
    const drainMs = stopping.signal.aborted ? Math.min(config.drainMs, 2000) : config.drainMs;
    drainDeadline = clock() + drainMs;
    if (!state.settled) {
      lifecycle.info(
        `${name} lifetime over: ${state.unacknowledged} likes unacknowledged, draining for up to ${
          seconds(drainMs)
        }`,
      );
    }
    sendReport();
    notify();
  })();

  using sender = createSender({
    servers: config.servers,
    connectTimeoutMs: config.replyTimeoutMs,
    replyTimeoutMs: config.replyTimeoutMs,
    protocol: config.protocol,
    connection: config.connection,
    ack: config.ack,
  });
  // A keyed message can always be sent again: the server counts a (client, seq) once.
  const resendUnanswered = config.protocol === "keyed" || config.retry === "ambiguous";
  let backoffMs = 0;
  let failures = 0;
  while (true) {
    const message = state.next();
    if (!message) {
      if (phase !== "running") break;
      await wake.promise;
      continue;
    }
    if (clock() >= drainDeadline) break;
    const line = config.protocol === "keyed"
      ? formatKeyed(config.clientId, message.seq, message.likes)
      : formatClassic(config.id, message.likes);
    const outcome = await sender.exchange(line, message.seq);
    if (outcome.kind === "acknowledged") {
      state.acknowledge(message.seq);
      exchanges.info(`sent "${line}" → "${outcome.reply}"`);
      if (failures > 0) {
        lifecycle.info(`${name} reached the server again after ${failures} failed attempt(s)`);
      }
      failures = 0;
      backoffMs = 0;
      connected = true;
      sendReport();
      continue;
    }
    if (outcome.kind === "unanswered" && !resendUnanswered) {
      // The server may have counted it: sending it again could count it twice.
      state.giveUp(message.seq);
      connected = true;
      exchanges.warn(
        `sent "${line}" → ${outcome.why}; ${message.likes} likes counted as sent without an answer, not sent again (--retry ambiguous would, and may count them twice)`,
      );
      sendReport();
      continue;
    }
    const problem = outcome.kind === "rejected" ? `"${outcome.reply}"` : outcome.why;
    failures++;
    connected = outcome.kind !== "unsent";
    backoffMs = Math.min(config.maxBackoffMs, backoffMs === 0 ? 100 : backoffMs * 2);
    const wait = Math.min(backoffMs * (0.5 + jitter() / 2), Math.max(0, drainDeadline - clock()));
    exchanges.warn(
      `sent "${line}" → ${problem}; ${message.likes} likes kept, retry ${failures} in ${
        seconds(wait)
      }`,
    );
    sendReport();
    // Wake early on the first stop signal; after it, keep the backoff (bounded by the drain).
    await delay(wait, stopping.signal.aborted ? undefined : stopping.signal);
  }
  await generator;

  phase = "done";
  const ok = state.settled && state.unanswered === 0;
  lifecycle.info(
    `${name} finished: generated ${state.generated}, acknowledged ${state.acknowledged}, sent without an answer ${state.unanswered}, failed ${state.unacknowledged} → exit ${
      ok ? 0 : 1
    }`,
  );
  sendReport();
  await shutdownLogging();
  return ok ? 0 : 1;
}
