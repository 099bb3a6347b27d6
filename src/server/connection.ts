/**
 * One connection's loop: bytes → frames → replies, written back in the framing each request
 * came in. Handles every classic framing (see `framing.ts`): an unterminated message is answered
 * when the client pauses for `pauseMs`, half-closes, closes or resets the connection. Knows only
 * a small byte-stream interface, not `Deno.Conn`, so tests can drive it in memory.
 *
 * Nothing a client sent is dropped because of its replies:
 * - every complete message read is answered by the responder (counted and logged), whatever
 *   happens to the replies; a write that fails (the client reset or closed its side) only means
 *   that no more replies are sent — the connection keeps reading to the end of what arrived;
 * - at end of stream *or* at a reset, the unterminated last message is counted like at a
 *   half-close;
 * - reading waits for the replies to what was read, and replies waiting to be written are capped
 *   (`maxPendingReplyBytes`, checked after every message): past the cap the connection stops
 *   reading from that client until its replies drain, so a client that sends without reading
 *   cannot make the server buffer without bound;
 * - the Worker's sweeper asks how long the write in progress has made no progress
 *   ({@linkcode Connection.writeStalledFor}), to close a client that stopped reading
 *   (`--write-timeout`), and since when the connection has had nothing to do
 *   ({@linkcode Connection.idleSince}). Neither reads a clock per message.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { FrameDecoder } from "../protocol/framing.ts";
import type { Frame } from "../protocol/framing.ts";
import { type LikesStore, NO_RECEIPT } from "../store/likes_store.ts";
import type { Responder } from "./respond.ts";
import type { AckTimer } from "./reply_times.ts";
import { describeError } from "../base/describe_error.ts";
import { SERVER_DEFAULTS } from "./server_defaults.ts";

/**
 * The read buffer a connection starts with, in bytes: room for a few classic or keyed messages,
 * and all an idle connection holds while its read waits (see `readBufferBytes`).
 */
export const FIRST_READ_BYTES = 512;

/** The part of a `Deno.Conn` a connection loop uses. */
export interface ByteConn {
  /** Reads into `buffer`; resolves to the byte count, or `null` at end of stream. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes some of `data`; resolves to the byte count written. */
  write(data: Uint8Array): Promise<number>;
  /** Closes both directions. */
  close(): void;
}

/** Options for {@linkcode Connection}. */
export interface ConnectionOptions {
  /** Longest frame kept, in bytes. @default {512} */
  readonly maxLineBytes?: number;
  /** Silence after which an unterminated message is answered, in ms. @default {50} */
  readonly pauseMs?: number;
  /**
   * Size of the read buffer, in bytes. A connection starts with {@linkcode FIRST_READ_BYTES} (an
   * idle client holds no more than that while its read waits) and grows to this size the first
   * time a read fills the small buffer. @default {4096}
   */
  readonly readBufferBytes?: number;
  /**
   * Replies waiting to be written, in bytes, past which the connection stops reading until they
   * drain. Buffered replies never exceed this plus one reply. @default {65536}
   */
  readonly maxPendingReplyBytes?: number;
  /** Clock for idle tracking (read once per chunk read). @default {Date.now} */
  readonly clock?: () => number;
  /**
   * The timers the pause rule sets (tests pass fake ones and step time instead of waiting).
   * @default {the global setTimeout and clearTimeout}
   */
  readonly timers?: ConnectionTimers;
  /** Holds replies until the store has settled their receipts. @default {none: send at once} */
  readonly store?: Pick<LikesStore, "settled">;
  /**
   * Told how long messages waited from their arrival to their reply being written (the metric
   * `likes.ack.duration`). Without it no clock is read for this. @default {none}
   */
  readonly ackTimer?: AckTimer;
}

/** Setting and clearing a timer, as the global functions do. */
export interface ConnectionTimers {
  /** Calls `callback` once, `ms` from now; returns an id for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels the timer of `id` (nothing for `undefined` or a timer that ran). */
  clearTimeout(id: unknown): void;
}

const GLOBAL_TIMERS: ConnectionTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout> | undefined),
};

/** How a connection's input ended: still open, end of stream, reset by the client, or closed here. */
type InputEnd = "open" | "eof" | "reset" | "closed";

const encoder = new TextEncoder();
const log = getLogger(["likes", "server", "connection"]);

/** What a reply still to come from the store counts against the reply cap, in bytes. */
const ASYNC_REPLY_BYTES = 64;

/** Why no more replies go out once the journal failed. */
const JOURNAL_FAILED = "the journal failed";

/** How many parts of one chunk are answered before the event loop gets a turn. */
const YIELD_EVERY_PARTS = 8;

/** Resolves on a later turn of the event loop, after pending I/O was handled. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** The bytes of the most common reply batches, encoded once. */
const COMMON_REPLIES = new Map(
  ["ACK\n", "ACK\r\n", "ACK", "ACK\0"].map((r) => [r, encoder.encode(r)]),
);

function encodeReplies(text: string): Uint8Array {
  return COMMON_REPLIES.get(text) ?? encoder.encode(text);
}

/**
 * Serves one client until it closes, goes idle or the server stops.
 *
 * @example In memory
 * ```ts
 * import { Connection } from "./connection.ts";
 * import assert from "node:assert/strict";
 * const input = [new TextEncoder().encode("LikesServer1 2\n")];
 * let output = "";
 * const conn = {
 *   read: (b: Uint8Array) => Promise.resolve(input.length ? (b.set(input[0]!), input.shift()!.length) : null),
 *   write: (d: Uint8Array) => Promise.resolve((output += new TextDecoder().decode(d), d.length)),
 *   close: () => {},
 * };
 * await new Connection(conn, "mem", () => ({ text: "ACK", receipt: -1 })).serve();
 * assert.equal(output, "ACK\n");
 * ```
 */
export class Connection {
  readonly #conn: ByteConn;
  readonly #peer: string;
  readonly #respond: Responder;
  readonly #decoder: FrameDecoder;
  readonly #pauseMs: number;
  readonly #readBufferBytes: number;
  readonly #maxPending: number;
  readonly #clock: () => number;
  readonly #timers: ConnectionTimers;
  readonly #store: Pick<LikesStore, "settled"> | undefined;
  readonly #ackTimer: AckTimer | undefined;
  /** When the chunk being answered was read (by the ack timer's clock; 0 without one). */
  #chunkAt = 0;
  /** Replies answered since they were last handed to the writer. */
  #replies = "";
  #receipt = NO_RECEIPT;
  /** How many messages those replies answer, and when the first of them arrived. */
  #batchMessages = 0;
  #batchAt = 0;
  /** The chain of writes; it never rejects. */
  #writing: Promise<void> = Promise.resolve();
  /** Bytes handed to the writer and not yet written. */
  #pendingBytes = 0;
  /** Bytes written so far, and whether a write is in progress. */
  #written = 0;
  #writeInProgress = false;
  /** What the sweeper last saw: the bytes written then, and when it saw them. */
  #stallWritten = -1;
  #stallSince = 0;
  /** The idle stamp the sweeper saw last time (0: it saw the connection busy). */
  #idleSeen = 0;
  /** Why replies can no longer be sent (the client is gone), or `null`. */
  #replyFailure: string | null = null;
  #pauseTimer: unknown;
  #input: InputEnd = "open";
  #finishing: Promise<void> | undefined;
  #closed = false;
  #lastActivity: number;
  /** Messages answered after replies could no longer be sent (counted all the same). */
  #unanswered = 0;
  /** True while a chunk that was read is being answered. */
  #midChunk = false;
  /** Wakes a {@linkcode Connection.finish} that waits for the chunk in progress. */
  #afterChunk: (() => void) | undefined;
  readonly #emit = (frame: Frame): boolean => {
    const reply = this.#respond(frame, this.#peer);
    if (this.#replyFailure !== null) this.#unanswered++;
    if (reply instanceof Promise) {
      // A store across the network: the request is on its way already (the store pipelines
      // what one turn sends). Replies before it go first, its own follows, in message order.
      this.#sendReplies();
      this.#pendingBytes += ASYNC_REPLY_BYTES;
      const arrivedAt = this.#chunkAt;
      this.#writing = this.#writing.then(() =>
        reply.then(
          (answer) =>
            this.#write(
              encodeReplies(answer.text + frame.terminator),
              answer.receipt,
              arrivedAt,
              1,
            ),
          () => {}, // a responder never rejects: a failed store is an ERR reply
        ).finally(() => (this.#pendingBytes -= ASYNC_REPLY_BYTES))
      );
      return this.#pendingBytes < this.#maxPending;
    }
    this.#replies += reply.text + frame.terminator;
    if (reply.receipt > this.#receipt) this.#receipt = reply.receipt;
    if (this.#batchMessages++ === 0) this.#batchAt = this.#chunkAt;
    return this.#pendingBytes + this.#replies.length < this.#maxPending;
  };

  /** Wraps `conn`; `peer` names the client in log lines. */
  constructor(conn: ByteConn, peer: string, respond: Responder, options: ConnectionOptions = {}) {
    const {
      maxLineBytes = SERVER_DEFAULTS.maxLineBytes,
      pauseMs = SERVER_DEFAULTS.pauseMs,
      readBufferBytes = 4096,
      maxPendingReplyBytes = SERVER_DEFAULTS.replyBufferBytes,
      clock = Date.now,
      timers = GLOBAL_TIMERS,
      store,
      ackTimer,
    } = options;
    if (!Number.isInteger(maxPendingReplyBytes) || maxPendingReplyBytes < 1) {
      throw new RangeError(
        `Cannot serve a connection as 'maxPendingReplyBytes' must be a positive integer: current value is ${maxPendingReplyBytes}`,
      );
    }
    this.#store = store;
    this.#ackTimer = ackTimer;
    this.#conn = conn;
    this.#peer = peer;
    this.#respond = respond;
    this.#decoder = new FrameDecoder({ maxLineBytes });
    this.#pauseMs = pauseMs;
    this.#readBufferBytes = readBufferBytes;
    this.#maxPending = maxPendingReplyBytes;
    this.#clock = clock;
    this.#timers = timers;
    this.#lastActivity = clock();
  }

  /** The client's address, as used in log lines. */
  get peer(): string {
    return this.#peer;
  }

  /** When the last chunk read was answered (or the connection opened), by the clock. */
  get lastActivity(): number {
    return this.#lastActivity;
  }

  /**
   * Since when the connection has had nothing to do — no chunk being answered, no write in
   * progress — by the clock; 0 while it is busy or once closed.
   */
  get idleSince(): number {
    return this.#closed || this.#midChunk || this.#writeInProgress ? 0 : this.#lastActivity;
  }

  /** True once {@linkcode Connection.finish} was called (for example by the idle sweeper). */
  get finishing(): boolean {
    return this.#finishing !== undefined;
  }

  /** True once the connection was closed (its loop may still be winding down). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes of replies waiting to be written. */
  get pendingReplyBytes(): number {
    return this.#pendingBytes + this.#replies.length;
  }

  /**
   * How long the connection has had nothing to do, as seen by a caller that asks now and then
   * with the time (the Worker's sweeper): 0 while it is busy, and 0 the first time it is seen
   * idle since its last activity. Only a second look counts, because between two timer runs the
   * event loop reads whatever arrived: a client whose message waits while the Worker is busy is
   * not taken for idle.
   */
  idleFor(now: number): number {
    const since = this.idleSince;
    if (since === 0 || since !== this.#idleSeen) {
      this.#idleSeen = since;
      return 0;
    }
    return now - since;
  }

  /**
   * How long the write in progress has made no progress, as seen by a caller that asks now and
   * then with the time (the Worker's sweeper): 0 when no write is in progress, when bytes were
   * written since the last call, or once closed. Precise to the interval between calls.
   */
  writeStalledFor(now: number): number {
    if (this.#closed || !this.#writeInProgress) {
      this.#stallWritten = -1;
      return 0;
    }
    if (this.#stallWritten !== this.#written) {
      this.#stallWritten = this.#written;
      this.#stallSince = now;
      return 0;
    }
    return now - this.#stallSince;
  }

  /**
   * Reads and answers until end of stream, a reset, or {@linkcode Connection.close}; then sends
   * what is left to send (bounded by the Worker's write deadline) and closes. Reading waits for
   * the replies to what was read, so a client that takes no replies stops being read.
   */
  async serve(): Promise<void> {
    let buffer = new Uint8Array(Math.min(FIRST_READ_BYTES, this.#readBufferBytes));
    try {
      while (!this.#closed) {
        let n: number | null;
        try {
          n = await this.#conn.read(buffer);
        } catch (error) {
          if (this.#closed) break;
          if (!isDisconnect(error)) throw error;
          this.#input = "reset";
          this.#replyFailure ??= `the client reset the connection (${
            describeError(error, "name")
          })`;
          break;
        }
        if (n === null) {
          this.#input = "eof";
          break;
        }
        // A full small buffer: more may be waiting, so the next reads take the full size.
        const full = n === buffer.length && buffer.length < this.#readBufferBytes;
        // Bytes that arrived are answered (counted and logged) even if the connection closed meanwhile.
        this.#timers.clearTimeout(this.#pauseTimer);
        if (this.#ackTimer) this.#chunkAt = this.#ackTimer.now();
        this.#midChunk = true;
        for (let offset = 0, parts = 1; offset < n; parts++) {
          offset += this.#decoder.push(buffer.subarray(offset, n), this.#emit);
          await this.#sendReplies(); // past the reply cap, the rest of the chunk waits for this
          // A write that completes at once does not pass through the event loop: a chunk of
          // costly requests (hundreds of pipelined STATS) would hold the Worker from its other
          // clients. So every few parts, let the event loop turn.
          if (offset < n && parts % YIELD_EVERY_PARTS === 0) await nextTurn();
        }
        this.#midChunk = false;
        if (full) buffer = new Uint8Array(this.#readBufferBytes);
        this.#lastActivity = this.#clock();
        if (this.#afterChunk) {
          this.#afterChunk();
          this.#afterChunk = undefined;
        }
        // The pause rule is for classic clients that never send a terminator; a keyed message
        // waits for its newline (or the end of the stream), however long the pause.
        if (this.#decoder.hasPartial && !this.#closed && !this.#decoder.partialMayBeKeyed) {
          this.#pauseTimer = this.#timers.setTimeout(() => this.#answerPartial(), this.#pauseMs);
        }
      }
    } finally {
      this.#midChunk = false;
      this.#afterChunk?.();
      if (this.#input === "open") this.#input = "closed";
      this.#timers.clearTimeout(this.#pauseTimer);
      // The client ended its last message by closing or resetting: it is a message like any other.
      if (this.#input === "eof" || this.#input === "reset") this.#decoder.flush(this.#emit);
      await this.#sendReplies();
      if (this.#unanswered > 0) {
        log.info(
          `${this.#peer}: ${this.#unanswered} message(s) answered after ${this.#replyFailure}; ${
            this.#replyFailure === JOURNAL_FAILED ? "not durable" : "counted"
          }, no reply sent`,
        );
      }
      this.close();
    }
  }

  /**
   * Answers what was already read (after the chunk in progress, including an unterminated
   * message), optionally adds a final line such as `ERR idle timeout`, sends what it can and
   * closes. Only the first call does anything; later ones wait for it.
   */
  finish(lastLine?: string): Promise<void> {
    this.#finishing ??= (async () => {
      if (this.#midChunk) await new Promise<void>((resolve) => (this.#afterChunk = resolve));
      if (this.#closed) return;
      this.#answerPartial();
      if (lastLine !== undefined) this.#replies += `${lastLine}\n`;
      await this.#sendReplies();
      this.close();
    })();
    return this.#finishing;
  }

  /** Closes the connection at once; replies not yet written are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#timers.clearTimeout(this.#pauseTimer);
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer or the runtime.
    }
  }

  /**
   * Answers the unterminated message the client paused after, or that was read when the server
   * closes the connection: as it is, unless it is keyed — a keyed message the client did not end
   * is incomplete, answered with an error and not counted.
   */
  #answerPartial(): void {
    this.#timers.clearTimeout(this.#pauseTimer);
    this.#pauseTimer = undefined;
    if (this.#closed || !this.#decoder.hasPartial) return;
    if (this.#decoder.partialMayBeKeyed) this.#decoder.abandon(this.#emit);
    else this.#decoder.flush(this.#emit, "pause");
    this.#sendReplies();
  }

  /**
   * Hands what was answered so far to the writer (or drops it if no reply can be sent any more);
   * resolves once every reply handed over was written, or can no longer be.
   */
  #sendReplies(): Promise<void> {
    if (this.#replies !== "") {
      if (this.#replyFailure === null && !this.#closed) {
        const data = encodeReplies(this.#replies);
        const receipt = this.#receipt;
        const [arrivedAt, messages] = [this.#batchAt, this.#batchMessages];
        this.#pendingBytes += data.length;
        this.#writing = this.#writing.then(() => this.#write(data, receipt, arrivedAt, messages));
      }
      this.#replies = "";
      this.#receipt = NO_RECEIPT;
      this.#batchMessages = 0;
    }
    return this.#writing;
  }

  /**
   * Writes one batch once the store settled its receipt; then tells the ack timer about the
   * `messages` it answers, which arrived at `arrivedAt`. Never rejects.
   */
  async #write(
    data: Uint8Array,
    receipt: number,
    arrivedAt: number,
    messages: number,
  ): Promise<void> {
    try {
      if (this.#replyFailure !== null || this.#closed) return;
      const settling = receipt === NO_RECEIPT ? undefined : this.#store?.settled(receipt);
      if (settling) {
        // Most batches need no wait: no extra turn for them.
        try {
          await settling;
        } catch {
          // These likes will never be durable (the journal failed): no reply may say otherwise.
          // Closing tells the client as much as a crash would; the server is stopping.
          this.#replyFailure ??= JOURNAL_FAILED;
          this.close();
          return;
        }
      }
      this.#writeInProgress = true;
      for (let at = 0; at < data.length;) {
        const n = await this.#conn.write(data.subarray(at));
        at += n;
        this.#written += n;
      }
      if (messages > 0) this.#ackTimer?.replied(arrivedAt, messages);
    } catch (error) {
      if (!this.#closed && !isDisconnect(error)) {
        log.error(`${this.#peer}: writing replies failed: ${error}`);
      }
      this.#replyFailure ??= this.#closed
        ? "the connection was closed"
        : `the client stopped taking replies (${describeError(error, "name")})`;
    } finally {
      this.#writeInProgress = false;
      this.#pendingBytes -= data.length;
    }
  }
}

/** True for the errors a socket raises when the peer or the server closed it. */
export function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.Interrupted;
}
