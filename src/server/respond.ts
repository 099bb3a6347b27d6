/**
 * One frame in, one reply out: grammar → store → reply text, with a log line for every
 * accepted message (and the running total) and an `Invalid data …` line for every rejected one.
 * No sockets here, so it is tested directly.
 *
 * @module
 */

import { getLogger, type Logger } from "@logtape/logtape";
import { type InfoLog, infoLog } from "../log/log.ts";
import type { Frame } from "../protocol/framing.ts";
import { parseFast } from "../protocol/fast_parse.ts";
import {
  CLASSIC_ACK,
  type ClassicRequest,
  decodeFrame,
  formatError,
  formatKeyedAck,
  type KeyedRequest,
  OUTCOME_UNKNOWN,
  parseRequest,
  type Protocol,
  ProtocolError,
} from "../protocol/grammar.ts";
import { formatStats, STATS_MAX_CLIENTS } from "../protocol/stats.ts";
import {
  type ApplyResult,
  type Eventually,
  type LikesStore,
  NO_RECEIPT,
  type Receipt,
  StoreOutcomeUnknownError,
} from "../store/likes_store.ts";
import { messageCounter, messageTotals, type ServerCounters } from "./server_counters.ts";
import { SERVER_DEFAULTS } from "./server_defaults.ts";
import { describeError } from "../base/describe_error.ts";

/** What a responder needs besides the frame. */
export interface ResponderOptions {
  /** Largest number of likes in one message. @default {42} */
  readonly maxLikes?: number;
  /** Longest frame accepted, in bytes (only used in the error text). @default {512} */
  readonly maxLineBytes?: number;
  /** Number of connection workers, reported by `STATS`. @default {1} */
  readonly workers?: number;
  /** When the server started (ms since the epoch), for `STATS` uptime. @default {Date.now()} */
  readonly startedAt?: number;
  /** Clock. @default {Date.now} */
  readonly clock?: () => number;
  /** Logger for accepted messages (a Worker passes its fast one). @default {through LogTape} */
  readonly messageLog?: InfoLog;
  /** Logger for rejected input. @default {getLogger(["likes", "server", "invalid"])} */
  readonly invalidLog?: Logger;
}

/** `LIKE` followed by a space, as bytes: the start of a keyed message. */
const KEYED_START = [0x4c, 0x49, 0x4b, 0x45, 0x20];

/** The protocol a frame claims by its start (for counting messages that fail to parse). */
function protocolOf(bytes: Uint8Array): Protocol {
  return KEYED_START.every((b, i) => bytes[i] === b) ? "keyed" : "classic";
}

function now(text: string): Reply {
  return { text, receipt: NO_RECEIPT };
}

const ACK_NOW: Reply = now(CLASSIC_ACK);

/** A reply and what it waits for before it is sent. */
export interface Reply {
  /** The reply text, without terminator. */
  readonly text: string;
  /** The store's receipt to wait for (`store.settled`), or `NO_RECEIPT` to send at once. */
  readonly receipt: Receipt;
}

/**
 * Turns frames into replies against a store: at once for a store in memory, as a promise for a
 * store across the network (the Connection keeps replies in the order of the messages).
 */
export type Responder = (frame: Frame, peer: string) => Reply | Promise<Reply>;

/**
 * Creates the function that answers one frame.
 *
 * @example
 * ```ts
 * import { createResponder } from "./respond.ts";
 * import { SharedCounters } from "./server_counters.ts";
 * import { LikesTable } from "../store/embedded/likes_table.ts";
 * import { EmbeddedStore } from "../store/embedded/embedded_store.ts";
 * import assert from "node:assert/strict";
 * const table = LikesTable.create({ maxClients: 4 });
 * const respond = createResponder(new EmbeddedStore(table), SharedCounters.create());
 * const frame = (text: string) => ({ bytes: new TextEncoder().encode(text), terminator: "\n" as const, length: text.length, overlong: false });
 * // A store in memory answers at once (a store across the network answers with a promise).
 * assert.equal((await respond(frame("LikesServer1 3"), "test")).text, "ACK");
 * assert.match((await respond(frame("LikesServer1 43"), "test")).text, /^ERR likes "43" above max 42/);
 * ```
 */
export function createResponder(
  store: LikesStore,
  counters: ServerCounters,
  options: ResponderOptions = {},
): Responder {
  const {
    maxLikes = SERVER_DEFAULTS.maxLikes,
    maxLineBytes = SERVER_DEFAULTS.maxLineBytes,
    workers = 1,
    clock = Date.now,
    startedAt = clock(),
    messageLog = infoLog(["likes", "server", "message"]),
    invalidLog = getLogger(["likes", "server", "invalid"]),
  } = options;

  /** Permanent: counts stay exact integers (below 2^53), so a restart can always read them. */
  const countLimit = (likes: number) =>
    `count limit: ${likes} more likes would take a count past ${Number.MAX_SAFE_INTEGER}; not counted`;

  /** Temporary: idle clients are forgotten after --client-ttl, and their room is reused. */
  const tableFull = () =>
    `client table full (${store.maxClients} clients); retry later, idle clients are forgotten`;

  function reject(reason: string, input: string, peer: string, protocol: Protocol): Reply {
    counters.count(messageCounter("invalid", protocol));
    invalidLog.warn(`Invalid data ${input} from ${peer}: ${reason}`);
    return now(formatError(reason));
  }

  /** The frame as it arrived, quoted for a log line (computed only when something is rejected). */
  const quoted = (frame: Frame) =>
    JSON.stringify(String.fromCharCode.apply(null, frame.bytes as unknown as number[]));

  /**
   * A frame to use after the answer comes back from a remote store: its bytes are copied, since
   * the connection reuses its buffer for the next frames meanwhile.
   */
  const keep = (frame: Frame): Frame => ({ ...frame, bytes: frame.bytes.slice() });

  /**
   * The store failed: no ACK. Unreachable (`ERR store unavailable`): nothing was counted, the
   * client sends the like again. Its answer lost (`ERR store unknown`): maybe counted, so only a
   * keyed message may be sent again.
   */
  function storeDown(error: unknown, input: string, peer: string, protocol: Protocol): Reply {
    if (error instanceof StoreOutcomeUnknownError) {
      counters.count(messageCounter("unknown", protocol));
      invalidLog.warn(`store outcome unknown for ${input} from ${peer}: ${error.message}`);
      return now(
        formatError(`${OUTCOME_UNKNOWN}: it may have been counted (resend only a keyed message)`),
      );
    }
    counters.count(messageCounter("unavailable", protocol));
    invalidLog.warn(
      `store unavailable for ${input} from ${peer}: ${describeError(error, "message")}`,
    );
    return now(formatError("store unavailable"));
  }

  function keyedReply(
    result: ApplyResult,
    request: KeyedRequest,
    frame: Frame,
    peer: string,
  ): Reply {
    const { client, seq, likes } = request;
    switch (result.status) {
      case "applied":
      case "duplicate": {
        const duplicate = result.status === "duplicate";
        if (duplicate) counters.count("duplicates");
        else {
          counters.count("countedKeyed");
          counters.count("likesCounted", likes);
        }
        messageLog.info(
          `LIKE ${client} ${seq} ${likes} ${
            duplicate ? "duplicate, not counted again" : "counted"
          } client=${result.client} total=${result.total}`,
        );
        return {
          text: formatKeyedAck({ seq, client: result.client, total: result.total, duplicate }),
          receipt: result.receipt,
        };
      }
      case "gap":
        return reject(
          `out of order: seq ${seq}, expected ${result.expected}`,
          quoted(frame),
          peer,
          "keyed",
        );
      case "conflict":
        return reject(
          `conflict: seq ${seq} was counted with ${result.likes} likes, not ${likes}`,
          quoted(frame),
          peer,
          "keyed",
        );
      case "full":
        return reject(tableFull(), quoted(frame), peer, "keyed");
      case "limit":
        return reject(countLimit(likes), quoted(frame), peer, "keyed");
    }
  }

  /**
   * The reply to an applied message: at once from a store in memory; later from a remote store,
   * with `ERR store unavailable` if it cannot be reached.
   */
  function answer(
    result: Eventually<ApplyResult>,
    frame: Frame,
    peer: string,
    protocol: Protocol,
    reply: (result: ApplyResult, frame: Frame) => Reply,
  ): Reply | Promise<Reply> {
    if (!(result instanceof Promise)) return reply(result, frame);
    const kept = keep(frame);
    return result.then(
      (r) => reply(r, kept),
      (error) => storeDown(error, quoted(kept), peer, protocol),
    );
  }

  function keyed(request: KeyedRequest, frame: Frame, peer: string): Reply | Promise<Reply> {
    const result = store.applyKeyed(request.client, request.seq, request.likes);
    return answer(result, frame, peer, "keyed", (r, f) => keyedReply(r, request, f, peer));
  }

  function classicReply(
    result: ApplyResult,
    request: ClassicRequest,
    frame: Frame,
    peer: string,
  ): Reply {
    if (result.status !== "applied") {
      const reason = result.status === "limit" ? countLimit(request.likes) : tableFull();
      return reject(reason, quoted(frame), peer, "classic");
    }
    counters.count("countedClassic");
    counters.count("likesCounted", request.likes);
    // A message ended by the client's silence, not a terminator: if a retransmit split it, the
    // count is of its first part; the log says how it ended.
    const ended = frame.ended === "pause" ? " (no terminator: answered on a pause)" : "";
    messageLog.info(`${request.client} ${request.likes} total=${result.total}${ended}`);
    return result.receipt === NO_RECEIPT ? ACK_NOW : { text: CLASSIC_ACK, receipt: result.receipt };
  }

  function classic(request: ClassicRequest, frame: Frame, peer: string): Reply | Promise<Reply> {
    const result = store.applyClassic(request.client, request.likes);
    return answer(result, frame, peer, "classic", (r, f) => classicReply(r, request, f, peer));
  }

  function statsReply(
    total: number,
    clients: Record<string, number>,
    clientCount: number,
  ): Reply {
    return now(formatStats({
      total,
      clients,
      clientCount,
      messages: messageTotals(counters),
      connections: {
        open: counters.counter("connectionsOpen"),
        accepted: counters.counter("connectionsAccepted"),
        refused: counters.counter("connectionsRefused"),
      },
      workers,
      uptimeSeconds: Math.round((clock() - startedAt) / 100) / 10,
      memory: { rss: Deno.memoryUsage().rss },
    }));
  }

  function stats(names: readonly string[], peer: string): Reply | Promise<Reply> {
    const total = store.total();
    const clients = names.length === 0
      ? store.topClients(STATS_MAX_CLIENTS)
      : store.countsOf(names);
    const clientCount = store.clientCount();
    if (
      total instanceof Promise || clients instanceof Promise || clientCount instanceof Promise
    ) {
      return Promise.all([total, clients, clientCount]).then(
        ([t, c, n]) => statsReply(t, c, n),
        (error) => storeDown(error, "STATS", peer, "classic"),
      );
    }
    return statsReply(total, clients, clientCount);
  }

  return (frame, peer) => {
    if (frame.ended === "abandoned") {
      return reject(
        "incomplete keyed message: the server closed the connection before its newline; not counted, send it again whole",
        quoted(frame),
        peer,
        "keyed",
      );
    }
    if (frame.overlong) {
      return reject(
        `line too long: ${frame.length} bytes, max ${maxLineBytes}`,
        JSON.stringify(`${new TextDecoder().decode(frame.bytes.subarray(0, 40))}…`),
        peer,
        protocolOf(frame.bytes),
      );
    }
    // Most messages are valid: take them straight from the bytes; the full parser explains the rest.
    const fast = parseFast(frame.bytes, maxLikes);
    if (fast) {
      return fast.kind === "classic" ? classic(fast, frame, peer) : keyed(fast, frame, peer);
    }
    try {
      const request = parseRequest(decodeFrame(frame.bytes), { maxLikes });
      return request.kind === "classic"
        ? classic(request, frame, peer)
        : request.kind === "keyed"
        ? keyed(request, frame, peer)
        : stats(request.clients, peer);
    } catch (error) {
      if (error instanceof ProtocolError) {
        return reject(error.message, error.input, peer, protocolOf(frame.bytes));
      }
      throw error;
    }
  };
}
