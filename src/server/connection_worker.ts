/// <reference lib="deno.worker" />
/**
 * Worker entry: listens on the shared port (with `reusePort` when there are several Workers),
 * serves each connection with {@linkcode Connection}, drops idle ones, and on `stop` closes the
 * listener, answers what it already read, flushes its log lines and reports back.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { delay } from "../delay.ts";
import { setupLogging, shutdownLogging } from "../log.ts";
import { Connection, type ConnectionOptions } from "./connection.ts";
import { DurableWaiter } from "./durability.ts";
import { JournalRing } from "./journal_ring.ts";
import { LikesTable } from "./likes_table.ts";
import { createResponder } from "./respond.ts";
import type { FromWorker, ToWorker, WorkerSettings } from "./worker_messages.ts";

const log = getLogger(["likes", "server", "worker"]);
/** How long a stopping Worker waits for clients to take their last replies. */
const FINISH_TIMEOUT_MS = 3000;
const connections = new Set<Connection>();
const served = new Set<Promise<void>>();
let listener: Deno.Listener | undefined;
let workerIndex = 0;
let accepted = 0;
let sweeper: ReturnType<typeof setInterval> | undefined;

function post(message: FromWorker): void {
  self.postMessage(message);
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.kind === "start") {
    start(message.index, message.buffer, message.journal, message.settings).catch((error) => {
      post({
        kind: "failed",
        name: error?.name ?? "Error",
        message: String(error?.message ?? error),
      });
    });
  } else {
    stop().then((closed) => post({ kind: "stopped", connectionsClosed: closed }));
  }
};

async function start(
  index: number,
  buffer: SharedArrayBuffer,
  journalBuffer: SharedArrayBuffer | null,
  settings: WorkerSettings,
): Promise<void> {
  await setupLogging({ file: settings.logFile });
  const journal = journalBuffer ? JournalRing.attach(journalBuffer) : undefined;
  const table = LikesTable.attach(buffer, journal);
  const respond = createResponder(table, settings);
  const durability = journal && settings.acknowledgeDurable
    ? new DurableWaiter(journal)
    : undefined;
  listener = Deno.listen({
    hostname: settings.hostname,
    port: settings.port,
    transport: "tcp",
    ...(settings.reusePort ? { reusePort: true } : {}),
  });
  const port = (listener.addr as Deno.NetAddr).port;
  workerIndex = index;
  log.debug(`worker ${index} listening on ${settings.hostname}:${port}`);
  sweeper = setInterval(
    () => dropIdle(settings.idleTimeoutMs),
    Math.min(1000, settings.idleTimeoutMs / 4),
  );
  post({ kind: "listening", port });
  acceptLoop(listener, table, respond, { ...settings, ...(durability ? { durability } : {}) });
}

async function acceptLoop(
  server: Deno.Listener,
  table: LikesTable,
  respond: ReturnType<typeof createResponder>,
  settings: ConnectionOptions,
): Promise<void> {
  try {
    for await (const conn of server) {
      const remote = conn.remoteAddr as Deno.NetAddr;
      const peer = `${remote.hostname}:${remote.port}`;
      try {
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch {
        // The client already left; serve() will notice.
      }
      const connection = new Connection(conn, peer, respond, settings);
      accepted++;
      connections.add(connection);
      table.count("connectionsAccepted");
      table.count("connectionsOpen");
      const done: Promise<void> = connection.serve()
        .catch((error) => log.error(`connection ${peer} failed: ${error}`))
        .finally(() => {
          connections.delete(connection);
          served.delete(done);
          table.count("connectionsOpen", -1);
        });
      served.add(done);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) log.error(`accept failed: ${error}`);
  }
}

function dropIdle(idleTimeoutMs: number): void {
  const now = Date.now();
  for (const connection of connections) {
    if (now - connection.lastActivity >= idleTimeoutMs) {
      getLogger(["likes", "server", "invalid"]).warn(
        `Idle connection from ${connection.peer} dropped after ${
          idleTimeoutMs / 1000
        } s without data`,
      );
      connection.finish("ERR idle timeout");
    }
  }
}

async function stop(): Promise<number> {
  clearInterval(sweeper);
  try {
    listener?.close();
  } catch {
    // Already closed.
  }
  const open = [...connections];
  // Answer what was read; a client that stopped reading cannot hold the shutdown for long.
  const patience = new AbortController();
  const answered = await Promise.race([
    Promise.all(open.map((c) => c.finish())).then(() => true),
    delay(FINISH_TIMEOUT_MS, patience.signal).then(() => false),
  ]);
  patience.abort();
  if (!answered) {
    log.warn(`closing connections that did not take their replies within ${FINISH_TIMEOUT_MS} ms`);
    for (const connection of open) connection.close();
  }
  await Promise.all([...served]);
  log.debug(`worker ${workerIndex} stopped; it served ${accepted} connection(s)`);
  await shutdownLogging();
  return open.length;
}
