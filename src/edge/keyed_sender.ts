/**
 * Keyed messages (`LIKE <client> <seq> <likes>`) to our own servers, whose replies are lines:
 * over one persistent connection (reconnecting after a failure) or one connection each.
 *
 * @module
 */

import { isOutcomeUnknown, parseReply, ProtocolError } from "../protocol/grammar.ts";
import { LineClient } from "../protocol/line_client.ts";
import { describeError } from "../base/describe_error.ts";
import { connectFirst, type Outcome, type Sender, type SenderOptions } from "./exchange.ts";

/** Sends keyed messages; an ACK counts only if it names the seq sent. */
export class KeyedSender implements Sender {
  readonly #options: SenderOptions;
  #client: LineClient | undefined;
  /** The server the last connection went to (a reconnection starts there). */
  #server = 0;

  /** Creates the sender; nothing connects until the first exchange. */
  constructor(options: SenderOptions) {
    this.#options = options;
  }

  /** Sends `line` and says what came of it. */
  async exchange(line: string, seq: number): Promise<Outcome> {
    if (!this.#client || this.#client.closed) {
      try {
        const { servers, connectTimeoutMs, replyTimeoutMs } = this.#options;
        const { conn, index } = await connectFirst(servers, this.#server, connectTimeoutMs);
        this.#server = index;
        this.#client = LineClient.wrap(conn, { replyTimeoutMs });
      } catch (error) {
        return { kind: "unsent", why: `no connection (${describeError(error)})` };
      }
    }
    const client = this.#client;
    try {
      const reply = await client.request(line);
      if (this.#options.connection === "per-message") client.close();
      try {
        const parsed = parseReply(reply);
        if (!parsed.ok) {
          // `ERR store unknown`: maybe counted; sent again, it is counted once (by its seq).
          return isOutcomeUnknown(reply) ? { kind: "unanswered", why: `"${reply}"` } : {
            kind: "rejected",
            reply,
          };
        }
        if (parsed.ack === null || parsed.ack.seq === seq) return { kind: "acknowledged", reply };
        return { kind: "unanswered", why: `"${reply}" acknowledges another seq` };
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        return { kind: "unanswered", why: `"${reply}" is not an acknowledgement` };
      }
    } catch (error) {
      return { kind: "unanswered", why: `no reply (${describeError(error)})` };
    }
  }

  /** Closes the connection, if any. */
  [Symbol.dispose](): void {
    this.#client?.close();
  }
}
