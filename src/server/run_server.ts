/**
 * Runs the PrimaryLikesServer from a config until SIGINT/SIGTERM: logging, the service, the
 * `listening on HOST:PORT` line, and a clean stop with every log line flushed.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { setupLogging, shutdownLogging } from "../log/log.ts";
import { onStopSignal } from "../cli/signals.ts";
import { type LikesService, serveLikes } from "./likes_service.ts";
import type { ServerRecorder } from "./server_recorder.ts";
import { messageTotals } from "./server_counters.ts";
import type { ServerConfig } from "./server_config.ts";
import { describeRedis, isStoreStartError } from "../store/open_store.ts";
import { say } from "../cli/say.ts";
import { explainLogFileError, LOG_FILES, logPath } from "../log/log_paths.ts";
import { describeError } from "../base/describe_error.ts";

/** Where the server writes, given its log directory. */
export function serverLogFile(logDir: string): string {
  return logPath(logDir, LOG_FILES.server);
}

/** Explains a start-up failure in one line that says what to do. */
export function explainStartError(error: unknown, config: ServerConfig, logFile: string): string {
  const where = `${config.host}:${config.port}`;
  if (isStoreStartError(error)) return error.message;
  if (error instanceof Deno.errors.NotCapable) {
    return /net access/.test(error.message)
      ? `Cannot listen on ${where}: no permission; run deno with --allow-net=${where}`
      : /read access/.test(error.message)
      ? `Cannot load the connection Workers: no read permission for src/; run deno with --allow-read=src (${error.message})`
      : explainLogFileError(error, logFile);
  }
  if (error instanceof Deno.errors.NotFound) return explainLogFileError(error, logFile);
  if (error instanceof Deno.errors.AddrInUse) {
    return `Cannot listen on ${where}: the address is already in use (another server running?)`;
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return `Cannot listen on ${where}: the address is not available on this machine`;
  }
  return `Cannot start the server: ${describeError(error, "message")}`;
}

/**
 * Runs until stopped, recording metrics with `recorder` when there is one; resolves to the
 * process exit code.
 */
export async function runServer(config: ServerConfig, recorder?: ServerRecorder): Promise<number> {
  const logFile = serverLogFile(config.logDir);
  using stop = onStopSignal();
  let service: LikesService;
  let fatal: Error | undefined;
  const died = Promise.withResolvers<void>();
  try {
    await setupLogging({ file: logFile, consoleCategories: [["likes", "server", "lifecycle"]] });
    const { host, logDir: _, redis, ...served } = config;
    service = await serveLikes({
      ...served,
      hostname: host,
      logFile,
      ...(redis ? { redis } : {}),
      ...(recorder ? { recorder } : {}),
      onFatal: (error) => {
        fatal = error;
        died.resolve();
      },
    });
  } catch (error) {
    say(`error: ${explainStartError(error, config, logFile)}`);
    await shutdownLogging();
    return 1;
  }
  const log = getLogger(["likes", "server", "lifecycle"]);
  const address = `${service.hostname}:${service.port}`;
  log.info(
    `PrimaryLikesServer listening on ${address} with ${config.workers} worker(s); log ${logFile}`,
  );
  say(`listening on ${address}`, Deno.stdout);
  const signal = await Promise.race([stop.received, died.promise.then(() => null)]);
  log.info(
    signal ? `${signal}: stopping, answering what was read` : `stopping after a failure`,
  );
  try {
    await service.stop();
  } catch (error) {
    fatal ??= error instanceof Error ? error : new Error(String(error));
    log.error(`stopping failed: ${fatal.message}`);
  }
  const snapshot = service.table?.snapshot();
  const counts = config.redis || !snapshot
    ? `counts in ${config.redis ? describeRedis(config.redis) : "the store"}`
    : `total ${snapshot.total} likes from ${Object.keys(snapshot.clients).length} client(s)`;
  const messages = messageTotals(service.counters);
  log.info(
    `stopped: ${counts}, ${messages.accepted} accepted, ${messages.duplicates} duplicate, ${messages.rejected} rejected message(s)${
      messages.unknown > 0
        ? `, ${messages.unknown} of unknown outcome (the store's answer lost)`
        : ""
    }`,
  );
  const journal = service.journalStats();
  if (journal) {
    log.info(
      `journal: ${journal.records} record(s) written with ${journal.flushes} flush(es) (${config.fsync}), segment ${journal.segment}`,
    );
  }
  await shutdownLogging(); // a fatal error was logged where it happened, once
  return fatal ? 1 : 0;
}
