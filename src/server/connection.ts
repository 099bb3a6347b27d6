/**
 * One connection's loop: bytes → frames → replies, written back in the framing each request
 * came in. Handles every classic framing (see `framing.ts`): an unterminated message is answered
 * when the client pauses for `pauseMs` or half-closes. Knows only a small byte-stream interface,
 * not `Deno.Conn`, so tests can drive it in memory.
 *
 * @module
 */

import { FrameDecoder } from "../protocol/framing.ts";
import type { Frame } from "../protocol/framing.ts";
import type { Responder } from "./respond.ts";

/** Tells when a journal record is durable (see `DurableWaiter`). */
export interface Durability {
  /** `undefined` if record `index` is durable already, else a promise that resolves when it is. */
  until(index: number): Promise<void> | undefined;
}

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
  /** Size of the read buffer, in bytes. @default {4096} */
  readonly readBufferBytes?: number;
  /** Clock for idle tracking. @default {Date.now} */
  readonly clock?: () => number;
  /** Holds replies until the journal records they depend on are durable. @default {none} */
  readonly durability?: Durability;
}

const encoder = new TextEncoder();

/** The bytes of the most common reply batches, encoded once. */
const COMMON_REPLIES = new Map(
  ["ACK\n", "ACK\r\n", "ACK", "ACK\0"].map((r) => [r, encoder.encode(r)]),
);

function encodeReplies(text: string): Uint8Array {
  return COMMON_REPLIES.get(text) ?? encoder.encode(text);
}

async function writeAll(conn: ByteConn, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await conn.write(data.subarray(written));
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
 * await new Connection(conn, "mem", () => ({ text: "ACK", durableAt: -1 })).serve();
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
  readonly #clock: () => number;
  readonly #durability: Durability | undefined;
  #replies = "";
  #durableAt = -1;
  #writing: Promise<void> = Promise.resolve();
  #pauseTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #lastActivity: number;
  readonly #emit = (frame: Frame): void => {
    const reply = this.#respond(frame, this.#peer);
    this.#replies += reply.text + frame.terminator;
    if (reply.durableAt > this.#durableAt) this.#durableAt = reply.durableAt;
  };

  /** Wraps `conn`; `peer` names the client in log lines. */
  constructor(conn: ByteConn, peer: string, respond: Responder, options: ConnectionOptions = {}) {
    const {
      maxLineBytes = 512,
      pauseMs = 50,
      readBufferBytes = 4096,
      clock = Date.now,
      durability,
    } = options;
    this.#durability = durability;
    this.#conn = conn;
    this.#peer = peer;
    this.#respond = respond;
    this.#decoder = new FrameDecoder({ maxLineBytes });
    this.#pauseMs = pauseMs;
    this.#readBufferBytes = readBufferBytes;
    this.#clock = clock;
    this.#lastActivity = clock();
  }

  /** The client's address, as used in log lines. */
  get peer(): string {
    return this.#peer;
  }

  /** When bytes last arrived (or the connection opened), by the clock. */
  get lastActivity(): number {
    return this.#lastActivity;
  }

  /** Reads and answers until end of stream, an error, or {@linkcode Connection.close}. */
  async serve(): Promise<void> {
    const buffer = new Uint8Array(this.#readBufferBytes);
    try {
      while (!this.#closed) {
        const n = await this.#conn.read(buffer);
        if (this.#closed) break;
        if (n === null) {
          this.#decoder.flush(this.#emit);
          await this.#sendReplies();
          break;
        }
        this.#lastActivity = this.#clock();
        clearTimeout(this.#pauseTimer);
        this.#decoder.push(buffer.subarray(0, n), this.#emit);
        if (this.#decoder.hasPartial) {
          this.#pauseTimer = setTimeout(() => this.#answerPartial(), this.#pauseMs);
        }
        await this.#sendReplies();
      }
    } catch (error) {
      if (!this.#closed && !isDisconnect(error)) throw error;
    } finally {
      this.close();
    }
  }

  /**
   * Answers what was already read (including an unterminated message), optionally adds a final
   * line such as `ERR idle timeout`, then closes. Safe to call more than once.
   */
  async finish(lastLine?: string): Promise<void> {
    if (this.#closed) return;
    this.#answerPartial();
    if (lastLine !== undefined) this.#replies += `${lastLine}\n`;
    try {
      await this.#sendReplies();
    } catch {
      // The client is gone; nothing left to answer.
    }
    this.close();
  }

  /** Closes the connection at once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#pauseTimer);
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer or the runtime.
    }
  }

  #answerPartial(): void {
    clearTimeout(this.#pauseTimer);
    this.#pauseTimer = undefined;
    if (this.#closed || !this.#decoder.hasPartial) return;
    this.#decoder.flush(this.#emit);
    this.#sendReplies().catch(() => this.close());
  }

  /** Queues what was answered so far; it goes out (in order) once its journal records are durable. */
  #sendReplies(): Promise<void> {
    if (this.#replies !== "") {
      const data = encodeReplies(this.#replies);
      const durableAt = this.#durableAt;
      this.#replies = "";
      this.#durableAt = -1;
      this.#writing = this.#writing.then(async () => {
        if (durableAt >= 0) await this.#durability?.until(durableAt);
        await writeAll(this.#conn, data);
      });
    }
    return this.#writing;
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
