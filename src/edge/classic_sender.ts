/**
 * Classic messages (`LikesServer<N> <likes>`) to any server written for the exercise, which may
 * answer `ACK` and close, answer a padded buffer or something else and stay open, or never answer.
 * A reply is what the first read brings (cut at `\n` or NUL), as classic clients read it; a close
 * or a silence of `replyTimeoutMs` before any byte means no reply. `--ack` says which replies
 * acknowledge (see `classic_reply.ts`).
 *
 * With a persistent connection, one read is always outstanding: when the server closes after its
 * reply, that read ends, and the next message goes over a new connection. Bytes that arrive
 * between messages (the rest of a padded reply) are not taken for the next message's reply.
 *
 * @module
 */

import { classicReplyText, judgeClassicReply } from "../protocol/classic_reply.ts";
import { isOutcomeUnknown } from "../protocol/grammar.ts";
import { describeError } from "../base/describe_error.ts";
import { connectFirst, type Outcome, type Sender, type SenderOptions } from "./exchange.ts";

type ReadResult =
  | { readonly kind: "data"; readonly bytes: Uint8Array }
  | { readonly kind: "eof" }
  | { readonly kind: "error"; readonly error: unknown };

/** A connection with its one outstanding read. */
class ReadingConn {
  readonly conn: Deno.TcpConn;
  #read!: Promise<ReadResult>;
  /** The outstanding read's result, once it has one. */
  done: ReadResult | undefined;
  #closed = false;

  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.readAgain();
  }

  /** Starts the next read. */
  readAgain(): void {
    this.done = undefined;
    const buffer = new Uint8Array(4096);
    this.#read = this.conn.read(buffer).then(
      (
        n,
      ): ReadResult => (n === null ? { kind: "eof" } : { kind: "data", bytes: buffer.slice(0, n) }),
      (error): ReadResult => ({ kind: "error", error }),
    );
    this.#read.then((result) => (this.done = result));
  }

  /** The outstanding read's result, or `null` if none came within `ms`. */
  async result(ms: number): Promise<ReadResult | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
    try {
      return await Promise.race([this.#read, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Closed already.
    }
  }
}

const encoder = new TextEncoder();

/** Sends classic messages and judges the replies by `--ack`. */
export class ClassicSender implements Sender {
  readonly #options: SenderOptions;
  #current: ReadingConn | undefined;

  /** The server the last connection went to (the next one starts there). */
  #server = 0;

  /** Creates the sender; nothing connects until the first exchange. */
  constructor(options: SenderOptions) {
    this.#options = options;
  }

  /** Sends `line` plus `\n` and says what came of it. */
  async exchange(line: string): Promise<Outcome> {
    const current = this.#current;
    if (current?.done?.kind === "data") current.readAgain(); // leftovers of the last reply
    else if (current?.done) this.#drop(); // the server closed (or reset) it since
    if (!this.#current) {
      try {
        const { servers, connectTimeoutMs } = this.#options;
        const { conn, index } = await connectFirst(servers, this.#server, connectTimeoutMs);
        this.#server = index;
        conn.setNoDelay(true);
        this.#current = new ReadingConn(conn);
      } catch (error) {
        return { kind: "unsent", why: `no connection (${describeError(error)})` };
      }
    }
    try {
      return await this.#send(this.#current, encoder.encode(`${line}\n`));
    } finally {
      if (this.#options.connection === "per-message") this.#drop();
    }
  }

  async #send(reading: ReadingConn, data: Uint8Array): Promise<Outcome> {
    let written = 0;
    try {
      while (written < data.length) written += await reading.conn.write(data.subarray(written));
    } catch (error) {
      this.#drop();
      return written === 0
        ? { kind: "unsent", why: `the write failed (${describeError(error)})` }
        : { kind: "unanswered", why: `the write failed midway (${describeError(error)})` };
    }
    const { ack, replyTimeoutMs } = this.#options;
    const result = await reading.result(replyTimeoutMs);
    if (result === null) {
      if (ack === "none") return { kind: "acknowledged", reply: "" };
      // A reply that comes after the timeout must not be taken for the next message's.
      this.#drop();
      return { kind: "unanswered", why: `no reply within ${replyTimeoutMs / 1000} s` };
    }
    if (result.kind === "error") {
      this.#drop();
      return {
        kind: "unanswered",
        why: `the connection broke after sending (${describeError(result.error)})`,
      };
    }
    if (result.kind === "eof") {
      this.#drop(); // the next message goes over a new connection
      return ack === "none"
        ? { kind: "acknowledged", reply: "" }
        : { kind: "unanswered", why: "the server closed the connection without a reply" };
    }
    const reply = classicReplyText(result.bytes);
    reading.readAgain();
    switch (judgeClassicReply(reply, ack)) {
      case "acknowledged":
        return { kind: "acknowledged", reply };
      case "rejected":
        return { kind: "rejected", reply };
      case "unknown":
        return {
          kind: "unanswered",
          why: isOutcomeUnknown(reply)
            ? `"${reply}": the server cannot tell whether it counted it`
            : `"${reply}" is not an acknowledgement (--ack ${ack})`,
        };
    }
  }

  #drop(): void {
    this.#current?.close();
    this.#current = undefined;
  }

  /** Closes the connection, if any. */
  [Symbol.dispose](): void {
    this.#drop();
  }
}
