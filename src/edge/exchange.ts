/**
 * What the keyed and the classic sender share: what a sender is, the outcome of one exchange,
 * and connecting to the first of the primaries that accepts.
 *
 * @module
 */

import type { AckMode } from "../protocol/classic_reply.ts";
import type { ConnectionPattern, Protocol } from "../protocol/grammar.ts";
import type { ServerAddress } from "./likes_flags.ts";

/** What came of sending one message. */
export type Outcome =
  /** The server acknowledged it. */
  | { readonly kind: "acknowledged"; readonly reply: string }
  /** The server refused it (`ERR…`) and counted nothing: sending it again is safe. */
  | { readonly kind: "rejected"; readonly reply: string }
  /** Nothing reached the server (it could not be reached, or the write failed): safe to resend. */
  | { readonly kind: "unsent"; readonly why: string }
  /** It was sent but not acknowledged: the server may have counted it, or not. */
  | { readonly kind: "unanswered"; readonly why: string };

/** Sends messages one at a time. */
export interface Sender extends Disposable {
  /** Sends `line` (the message `seq`) and says what came of it; never throws. */
  exchange(line: string, seq: number): Promise<Outcome>;
}

/** Where and how a sender talks. */
export interface SenderOptions {
  /** The servers, the preferred first; a connection error moves on to the next. */
  readonly servers: readonly ServerAddress[];
  readonly connectTimeoutMs: number;
  readonly replyTimeoutMs: number;
  readonly protocol: Protocol;
  readonly connection: ConnectionPattern;
  /** What acknowledges a classic message. */
  readonly ack: AckMode;
}

/**
 * Connects to the first server of `servers` that accepts, starting at `from` and going round
 * once; returns the connection and the index of the server that took it.
 *
 * @throws The last server's connection error if none accepts.
 */
export async function connectFirst(
  servers: readonly ServerAddress[],
  from: number,
  timeoutMs: number,
): Promise<{ conn: Deno.TcpConn; index: number }> {
  let lastError: unknown = new Error("no server to connect to");
  for (let i = 0; i < servers.length; i++) {
    const index = (from + i) % servers.length;
    const { host, port } = servers[index]!;
    try {
      const conn = await Deno.connect({
        hostname: host,
        port,
        signal: AbortSignal.timeout(timeoutMs),
      });
      return { conn, index };
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw error;
      lastError = error;
    }
  }
  throw lastError;
}
