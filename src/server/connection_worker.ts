/// <reference lib="deno.worker" />
/**
 * Worker entry: listens on the shared port (with `reusePort` when there are several Workers),
 * serves each connection with {@linkcode Connection}, drops idle ones, and on `stop` closes the
 * listener, answers what it already read, flushes its log lines and reports back.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { delay } from "../base/delay.ts";
import { type Logging, setupLogging } from "../log/log.ts";
import { Connection, type ConnectionOptions } from "./connection.ts";
import { type AttachedStore, attachStore, type StoreAttachment } from "../store/open_store.ts";
import { createResponder } from "./respond.ts";
import { SharedCounters } from "./server_counters.ts";
import { REPLY_TIMES_POST_MS, ReplyTimeBatch } from "./reply_times.ts";
import type { FromWorker, ToWorker, WorkerSettings } from "./worker_messages.ts";

const log = getLogger(["likes", "server", "worker"]);
/** How long a stopping Worker waits for clients to take their last replies. */
const FINISH_TIMEOUT_MS = 3000;
/** Pause before accepting again after `accept()` failed (for example out of file descriptors). */
const ACCEPT_RETRY_MS = 100;
const connections = new Set<Connection>();
const served = new Set<Promise<void>>();
let listener: Deno.Listener | undefined;
let workerIndex = 0;
let accepted = 0;
/** True once stop() began: a connection accepted after that is closed at once. */
let stopping = false;
let sweeper: ReturnType<typeof setInterval> | undefined;
let logging: Logging | undefined;
/** This Worker's view of the store (a connection of its own, when the counts live in Redis). */
let attached: AttachedStore | undefined;
/** Reply times not yet posted, with `timeReplies` only. */
let replyTimes: ReplyTimeBatch | undefined;
let replyTimesPoster: ReturnType<typeof setInterval> | undefined;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.kind === "start") {
    start(message.index, message.store, message.counters, message.settings).catch((error) => {
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
  attachment: StoreAttachment,
  countersBuffer: SharedArrayBuffer,
  settings: WorkerSettings,
): Promise<void> {
  // Logging is the caller's choice (serveLikes' logFile): without it this Worker logs nothing.
  logging = settings.logFile === null ? undefined : await setupLogging({ file: settings.logFile });
  attached = await attachStore(attachment);
  const { store } = attached;
  const counters = SharedCounters.attach(countersBuffer);
  const respond = createResponder(store, counters, {
    ...settings,
    ...(logging ? { messageLog: logging.hotLogger(["likes", "server", "message"]) } : {}),
  });
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
    () => sweep(settings.idleTimeoutMs, settings.writeTimeoutMs),
    Math.min(1000, settings.idleTimeoutMs / 4, settings.writeTimeoutMs / 4),
  );
  post({ kind: "listening", port });
  if (settings.timeReplies) {
    replyTimes = new ReplyTimeBatch((times) => post({ kind: "replied", times }, [times.buffer]));
    replyTimesPoster = setInterval(() => replyTimes?.flush(), REPLY_TIMES_POST_MS);
  }
  acceptLoop(listener, counters, respond, {
    ...settings,
    maxPendingReplyBytes: settings.replyBufferBytes,
    store,
    ...(replyTimes ? { ackTimer: replyTimes } : {}),
  });
}

/** What the accept loop needs besides the listener. */
interface AcceptSettings extends ConnectionOptions {
  readonly maxConnections: number;
}

const REFUSED = new TextEncoder().encode("ERR too many connections\n");
const invalidLog = getLogger(["likes", "server", "invalid"]);

/** Tells a client over the connection cap why it is refused, and closes it (never blocks). */
function refuse(conn: Deno.Conn, peer: string, open: number, max: number): void {
  invalidLog.warn(
    `Refused connection from ${peer}: too many connections (${open} open, max ${max})`,
  );
  const timer = setTimeout(() => closeQuietly(conn), 1000);
  conn.write(REFUSED).catch(() => {}).finally(() => {
    clearTimeout(timer);
    closeQuietly(conn);
  });
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}

async function acceptLoop(
  server: Deno.Listener,
  counters: SharedCounters,
  respond: ReturnType<typeof createResponder>,
  settings: AcceptSettings,
): Promise<void> {
  while (true) {
    let conn: Deno.Conn;
    try {
      conn = await server.accept();
    } catch (error) {
      if (error instanceof Deno.errors.BadResource) return; // the listener was closed: stopping
      // For example EMFILE (out of file descriptors): keep the listener, try again shortly.
      log.error(`accept failed: ${error}; accepting again in ${ACCEPT_RETRY_MS} ms`);
      await delay(ACCEPT_RETRY_MS);
      continue;
    }
    if (stopping) {
      // Accepted as the listener closed, after stop() took its list of connections to finish:
      // nothing was read from it, so nothing is lost; the client connects again elsewhere.
      closeQuietly(conn);
      continue;
    }
    const remote = conn.remoteAddr as Deno.NetAddr;
    const peer = `${remote.hostname}:${remote.port}`;
    const open = counters.openConnection(settings.maxConnections);
    if (open < 0) {
      counters.count("connectionsRefused");
      refuse(conn, peer, -open, settings.maxConnections);
      continue;
    }
    counters.count("connectionsAccepted");
    try {
      (conn as Deno.TcpConn).setNoDelay(true);
    } catch {
      // The client already left; serve() will notice.
    }
    const connection = new Connection(conn, peer, respond, settings);
    accepted++;
    connections.add(connection);
    const done: Promise<void> = connection.serve()
      .catch((error) => log.error(`connection ${peer} failed: ${error}`))
      .finally(() => {
        connections.delete(connection);
        served.delete(done);
        counters.closeConnection();
      });
    served.add(done);
  }
}

/**
 * Once per sweep: closes a connection whose reply has been stuck in a write for the write
 * timeout (the client stopped reading), and finishes — once — a connection with nothing to do
 * (no bytes in, no replies out, no write in progress) for the idle timeout. Both are judged over
 * two sweeps, so a Worker that was busy does not blame its clients.
 */
function sweep(idleTimeoutMs: number, writeTimeoutMs: number): void {
  const now = Date.now();
  for (const connection of connections) {
    if (connection.closed) continue;
    if (connection.writeStalledFor(now) >= writeTimeoutMs) {
      invalidLog.warn(
        `Connection from ${connection.peer} closed: it took no replies for ${
          writeTimeoutMs / 1000
        } s (${connection.pendingReplyBytes} bytes of replies waiting); what it sent before was counted`,
      );
      connection.close();
      continue;
    }
    if (!connection.finishing && connection.idleFor(now) >= idleTimeoutMs) {
      invalidLog.warn(
        `Idle connection from ${connection.peer} dropped after ${
          idleTimeoutMs / 1000
        } s without data`,
      );
      connection.finish("ERR idle timeout");
    }
  }
}

async function stop(): Promise<number> {
  stopping = true;
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
  clearInterval(replyTimesPoster);
  replyTimes?.flush(); // before "stopped", so the main thread has every time when it stops
  log.debug(`worker ${workerIndex} stopped; it served ${accepted} connection(s)`);
  await attached?.close().catch(() => {});
  await logging?.shutdown();
  return open.length;
}
