/**
 * Runs one overlay node from its flags until SIGINT/SIGTERM: reads and checks the cluster config
 * (a bad one is a one-line error naming the field, exit 2), sets up logging in the node's
 * directory, starts the node, prints where it listens, and stops cleanly.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { UsageError } from "../../cli/flags.ts";
import { setupLogging, shutdownLogging } from "../../log/log.ts";
import { DataDirError } from "../../store/open_store.ts";
import { onStopSignal } from "../../cli/signals.ts";
import {
  type ClusterConfig,
  ClusterConfigError,
  parseClusterConfig,
} from "../domain/cluster_config.ts";
import { type OverlayNode, startNode } from "../node/node_service.ts";
import type { NodeRunConfig } from "./node_flags.ts";
import { readSecretFile, secretPath } from "./secret_file.ts";
import { type LineOutput, say } from "../../cli/say.ts";
import { LOG_FILES, logPath } from "../../log/log_paths.ts";
import { describeError } from "../../base/describe_error.ts";

/**
 * Reads and checks a cluster config file.
 *
 * @throws {UsageError} With `FILE: field: problem` when it cannot be read or is not valid.
 */
export async function loadClusterConfig(file: string): Promise<ClusterConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.NotCapable
      ? `no permission to read it; run deno with --allow-read=${file}`
      : String(error);
    throw new UsageError(`${file}: ${why}`);
  }
  try {
    return parseClusterConfig(text);
  } catch (error) {
    if (error instanceof ClusterConfigError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
}

/** Explains why node `run.id` could not start, in one line that says what to do. */
export function explainNodeStartError(
  error: unknown,
  config: ClusterConfig,
  run: NodeRunConfig,
): string {
  const me = config.nodes.get(run.id)!;
  const host = run.listen ?? me.host;
  if (error instanceof DataDirError) return error.message;
  if (error instanceof Deno.errors.NotCapable) {
    return `${error.message}; \`deno task cluster --print-commands\` prints each node's command with the grants it needs`;
  }
  if (error instanceof Deno.errors.AddrInUse) {
    return `Cannot listen on ${host}:${me.port}${
      me.likesPort === null ? "" : ` or ${host}:${me.likesPort}`
    }: the address is already in use (is node ${run.id} already running?)`;
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return `Cannot listen on ${host}: the address is not on this machine (run node ${run.id} where ${me.host} is, or pass --listen 0.0.0.0)`;
  }
  return `Cannot start node ${run.id}: ${describeError(error, "message")}`;
}

/**
 * Runs until stopped; resolves to the process exit code. A start-up error is one line on
 * `errors` (stderr by default).
 */
export async function runNode(
  run: NodeRunConfig,
  errors: LineOutput = Deno.stderr,
): Promise<number> {
  const config = await loadClusterConfig(run.configFile);
  const me = config.nodes.get(run.id);
  if (!me) {
    throw new UsageError(
      `--id ${run.id} is not in ${run.configFile}, which names ${
        [...config.nodes.keys()].join(", ")
      }`,
    );
  }
  const secret = await readSecretFile(secretPath(run.configFile, config, run.secretFile));
  using stop = onStopSignal();
  let node: OverlayNode;
  let fatal: Error | undefined;
  const died = Promise.withResolvers<void>();
  try {
    await Deno.mkdir(run.dir, { recursive: true });
    await setupLogging({
      file: logPath(run.dir, LOG_FILES.node),
      consoleCategories: [["likes", "overlay", "lifecycle"]],
    });
    node = await startNode({
      config,
      id: run.id,
      secret,
      logDir: run.dir,
      workerLogs: true,
      queryWorkers: run.queryWorkers,
      ...(me.likesPort === null ? {} : { dataDir: `${run.dir}/data` }),
      ...(run.listen === null ? {} : { listenHost: run.listen }),
      workers: run.workers,
      maxClients: run.maxClients,
      clientTtlMs: run.clientTtlMs,
      gossipIntervalMs: run.gossipIntervalMs,
      ...(run.cacheTtlMs === null ? {} : { cacheTtlMs: run.cacheTtlMs }),
      cacheBytes: run.cacheBytes,
      deadlineMs: run.deadlineMs,
      heartbeatMs: run.heartbeatMs,
      downAfterMs: run.downAfterMs,
      onFatal: (error) => {
        fatal = error;
        died.resolve();
      },
    });
  } catch (error) {
    say(`error: ${explainNodeStartError(error, config, run)}`, errors);
    await shutdownLogging();
    return 1;
  }
  const log = getLogger(["likes", "overlay", "lifecycle"]);
  const likes = node.likes ? `, likes on ${node.likes.hostname}:${node.likes.port}` : "";
  log.info(`node ${run.id} started; log ${logPath(run.dir, LOG_FILES.node)}`);
  say(`node ${run.id} listening on ${node.hostname}:${node.port}${likes}`, Deno.stdout);
  const signal = await Promise.race([stop.received, died.promise.then(() => null)]);
  log.info(
    signal ? `${signal}: stopping node ${run.id}` : `stopping node ${run.id} after a failure`,
  );
  await node.stop();
  await shutdownLogging(); // a fatal error was logged where it happened, once
  return fatal ? 1 : 0;
}
