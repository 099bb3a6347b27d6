/// <reference lib="deno.worker" />
/**
 * A node's query Worker: listens on the node's port (with `reusePort` beside its sibling
 * Workers), reads framed messages, answers `query` with the query engine (cache, seen query ids
 * and counters shared with the other threads), hands `gossip` to the main thread, which owns the
 * replica, answers `stats` with what the main thread reports and a neighbour's heartbeat `ping`
 * with `pong`. Silent connections are closed.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { setupLogging, shutdownLogging } from "../../log/log.ts";
import { LikesTable } from "../../store/embedded/likes_table.ts";
import { parseClusterConfig } from "../domain/cluster_config.ts";
import { FrameError } from "../wire/frame.ts";
import { FrameConn, PeerLink } from "../wire/frame_conn.ts";
import { ClusterSecret } from "../wire/link_auth.ts";
import { LogLimiter } from "../domain/log_limiter.ts";
import type {
  FromQueryWorker,
  PackedReplica,
  QueryWorkerSettings,
  ToQueryWorker,
} from "./node_messages.ts";
import { unpackRows } from "../domain/packed_rows.ts";
import { NodeShared } from "../domain/node_shared.ts";
import type { AnswerMessage } from "../domain/messages.ts";
import { answerQuery, type QueryContext } from "../domain/query_engine.ts";
import { type ReplicaEntry, RETIRED_KEY } from "../domain/replica.ts";
import { describeError } from "../../base/describe_error.ts";

const log = getLogger(["likes", "overlay", "node"]);
const conns = new Set<FrameConn>();
/** Connections still in their handshake, oldest first. */
const handshaking = new Set<FrameConn>();
/** Refused peers are logged once a minute per host, however many connections they open. */
const refusals = new LogLimiter(60_000);
const links = new Map<string, PeerLink>();
/** How many times each neighbour had been marked down when this Worker last used its link. */
const linkDowns = new Map<string, number>();
const asked = new Map<number, (value: unknown) => void>();
let nextAsk = 1;
let listener: Deno.TcpListener | undefined;
let accepting: Promise<void> = Promise.resolve();
let sweeper: ReturnType<typeof setInterval> | undefined;
let logging = false;

function post(message: FromQueryWorker): void {
  self.postMessage(message);
}

/** Asks the main thread for something only it holds. */
function ask(what: "replica" | "stats", keys?: readonly string[]): Promise<unknown> {
  const id = nextAsk++;
  return new Promise((resolve) => {
    asked.set(id, resolve);
    post({ kind: "ask", ask: id, what, ...(keys ? { keys } : {}) });
  });
}

/**
 * Slots of the likes table read between two turns of the event loop: a Worker reading a table
 * of a million clients in one go misses its heartbeats (`ping`) for over a second.
 */
const SLOTS_PER_TURN = 32_768;

/**
 * A node's own rows from its table: one per client, and one for the likes of the clients it
 * forgot (`--client-ttl`), so that its rows add up to its total, as its replica's do.
 */
async function ownRows(id: string, table: LikesTable): Promise<ReplicaEntry[]> {
  const total = table.total();
  const rows: ReplicaEntry[] = [];
  for (let from = 0; from < table.slots; from += SLOTS_PER_TURN) {
    if (from > 0) await new Promise((resolve) => setTimeout(resolve, 0));
    for (const [key, likes] of table.clients(from, from + SLOTS_PER_TURN)) {
      rows.push({ key, node: id, likes });
    }
  }
  const retired = total - rows.reduce((sum, row) => sum + row.likes, 0);
  if (retired > 0) rows.push({ key: RETIRED_KEY, node: id, likes: retired });
  return rows;
}

self.onmessage = (event: MessageEvent<ToQueryWorker>) => {
  const message = event.data;
  if (message.kind === "start") {
    start(message.settings).catch((error) => {
      post({
        kind: "failed",
        name: error?.name ?? "Error",
        message: describeError(error, "message"),
      });
    });
  } else if (message.kind === "answer") {
    asked.get(message.ask)?.(message.value);
    asked.delete(message.ask);
  } else {
    stop().then(() => post({ kind: "stopped" }));
  }
};

async function start(settings: QueryWorkerSettings): Promise<void> {
  if (settings.logFile !== null) {
    await setupLogging({ file: settings.logFile });
    logging = true;
  }
  const config = parseClusterConfig(settings.configText);
  const shared = NodeShared.attach(settings.shared);
  const table = settings.table ? LikesTable.attach(settings.table) : null;
  const secret = ClusterSecret.fromText(settings.secret);
  for (const next of config.nodes.get(settings.id)!.connections) {
    const node = config.nodes.get(next)!;
    links.set(next, new PeerLink({ hostname: node.host, port: node.port, secret }));
  }
  const ctx: QueryContext = {
    id: settings.id,
    config,
    shared,
    deadlineMs: settings.deadlineMs,
    log,
    ownRows: () => (table ? ownRows(settings.id, table) : []),
    replica: async (keys) => {
      const { rows, staleMs } = await ask("replica", keys) as PackedReplica;
      return { entries: unpackRows(rows), staleMs };
    },
    link: (id) => {
      const link = links.get(id)!;
      // A neighbour marked down since this Worker last asked it may have left this Worker's
      // connection to it half-open: start afresh.
      const downs = shared.peers.read(id)?.downs ?? 0;
      if (downs !== (linkDowns.get(id) ?? 0)) {
        linkDowns.set(id, downs);
        link.drop("the neighbour was marked down");
      }
      return link;
    },
    peerStatus: (id) => shared.peers.read(id),
  };
  listener = Deno.listen({
    hostname: settings.hostname,
    port: settings.port,
    ...(settings.reusePort ? { reusePort: true } : {}),
  });
  const port = (listener.addr as Deno.NetAddr).port;
  sweeper = setInterval(() => {
    const now = performance.now();
    for (const conn of conns) {
      if (now - conn.lastActivity > settings.idleTimeoutMs) {
        log.info(`closing ${conn.remote}: silent for ${settings.idleTimeoutMs} ms`);
        conn.close();
      } else if (conn.partialFor(now) > settings.frameDeadlineMs) {
        log.warn(
          `closing ${conn.remote}: a frame took more than ${settings.frameDeadlineMs} ms to arrive`,
        );
        conn.close();
      }
    }
  }, Math.min(1000, settings.idleTimeoutMs, settings.frameDeadlineMs / 2));

  /** Replaces `answer` by a failure of that query alone: logged, counted, and sent. */
  const fail = async (conn: FrameConn, answer: AnswerMessage, why: string, message: string) => {
    log.warn(`query ${answer.query_id} from ${conn.remote}: ${why}`);
    shared.add("failed");
    await conn.send({
      type: "answer",
      rid: answer.rid,
      "query_id": answer.query_id,
      success: false,
      message,
    });
  };

  /** Sends an answer; one too large for a frame becomes an error reply to that query alone. */
  const reply = async (conn: FrameConn, answer: AnswerMessage): Promise<void> => {
    try {
      await conn.send(answer);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      await fail(
        conn,
        answer,
        `the answer failed: ${error.message}`,
        `the answer does not fit in one frame (${error.message})`,
      );
    }
  };

  const handle = async (conn: FrameConn, value: unknown): Promise<void> => {
    if (value instanceof FrameError) {
      await conn.send({ type: "error", message: value.message });
      return;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      await conn.send({ type: "error", message: "a message must be a JSON object" });
      return;
    }
    const message = value as Record<string, unknown>;
    switch (message.type) {
      case "query": {
        // A long answer's rows go first, as `rows` frames, in order before the answer. The
        // promise lets the engine wait till a frame is written before it reads more rows.
        let lost: string | null = null;
        const stream = (frame: Record<string, unknown>) =>
          conn.send(frame).catch((error) => {
            lost ??= describeError(error, "message");
          });
        const answer = await answerQuery(ctx, message, stream);
        if (lost === null) return await reply(conn, answer);
        // Rows that did not go out make the answer wrong: fail it (if the link still works).
        return await fail(
          conn,
          answer,
          `streaming failed: ${lost}`,
          `streaming the rows failed (${lost})`,
        );
      }
      case "digest":
      case "delta":
        post({ kind: "gossip", message, from: conn.remote, bytes: conn.lastFrameBytes });
        return;
      case "stats":
        await conn.send({ type: "stats", rid: message.rid, ...(await ask("stats") as object) });
        return;
      case "ping":
        await conn.send({ type: "pong", rid: message.rid });
        return;
      default:
        await conn.send({
          type: "error",
          rid: message.rid,
          message: `unknown message type ${
            JSON.stringify(message.type)
          }: a node takes query, stats, ping, digest and delta`,
        });
    }
  };

  const serve = async (conn: FrameConn) => {
    let inFlight = 0;
    try {
      try {
        handshaking.add(conn);
        await conn.accept(secret, settings.id, settings.handshakeTimeoutMs);
      } catch (error) {
        shared.add("unauthenticated");
        const host = conn.remote.replace(/:\d+$/, "");
        const notLogged = refusals.admit(host, performance.now());
        if (notLogged !== null) {
          log.warn(
            `refused ${conn.remote}: ${describeError(error, "message")}${
              notLogged > 0 ? ` (and ${notLogged} more from ${host} since the last such line)` : ""
            }`,
          );
        }
        return;
      } finally {
        handshaking.delete(conn);
      }
      for await (const value of conn.values()) {
        if (inFlight >= settings.maxInFlight) {
          const rid = typeof value === "object" && value !== null
            ? (value as Record<string, unknown>).rid
            : undefined;
          conn.send({
            type: "error",
            ...(typeof rid === "number" ? { rid } : {}),
            message: `too many requests in flight on this connection (${settings.maxInFlight})`,
          }).catch(() => conn.close());
          continue;
        }
        inFlight++;
        handle(conn, value).catch(() => conn.close()).finally(() => inFlight--);
      }
    } catch (error) {
      log.warn(`closing ${conn.remote}: ${describeError(error, "message")}`);
      await conn.send({ type: "error", message: describeError(error, "message") }).catch(() => {});
    } finally {
      conn.close();
      conns.delete(conn);
      shared.add("open", -1);
    }
  };

  const server = listener;
  accepting = (async () => {
    while (true) {
      let tcp: Deno.TcpConn;
      try {
        tcp = await server.accept();
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) return;
        log.warn(`accept failed: ${describeError(error, "message")}`);
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const conn = new FrameConn(tcp);
      if (conns.size >= settings.maxConnections) {
        shared.add("refused");
        conn.close(); // before any handshake: a caller cannot be told more safely
        continue;
      }
      if (handshaking.size >= settings.maxHandshakes) {
        // Unauthenticated connections cannot crowd out the cluster: the oldest one makes room
        // (a caller with the secret finishes its handshake in a round trip or two).
        const oldest = handshaking.values().next().value!;
        handshaking.delete(oldest);
        oldest.close();
      }
      conns.add(conn);
      shared.add("open");
      serve(conn);
    }
  })();
  post({ kind: "listening", port });
}

async function stop(): Promise<void> {
  clearInterval(sweeper);
  listener?.close();
  await accepting;
  for (const conn of conns) conn.close();
  for (const link of links.values()) link.close();
  for (const resolve of asked.values()) resolve(null);
  if (logging) await shutdownLogging();
}
