/**
 * Asks a server for `STATS` over TCP — all of it, or the counts of named clients (as many
 * `STATS <client>…` lines as the names need, pipelined on one connection).
 *
 * @module
 */

import { DEFAULT_MAX_LINE_BYTES } from "./framing.ts";
import { ProtocolError } from "./grammar.ts";
import { LineClient, type LineClientOptions } from "./line_client.ts";
import { parseStats, type Stats } from "./stats.ts";

/** What a `STATS` query returns: totals always, the rest when the server sends it. */
export type StatsReply = Pick<Stats, "total" | "clients"> & Partial<Stats>;

/**
 * The request lines that ask for `names` (each line under the server's 512-byte limit), or a
 * plain `STATS` when there are none.
 *
 * @example
 * ```ts
 * import { statsRequests } from "./stats_client.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(statsRequests([]), ["STATS"]);
 * assert.deepEqual(statsRequests(["a", "b"]), ["STATS a b"]);
 * assert.equal(statsRequests(Array.from({ length: 100 }, (_, i) => `LikesServer${i}-run`)).length, 4);
 * ```
 */
export function statsRequests(names: readonly string[]): string[] {
  if (names.length === 0) return ["STATS"];
  const lines: string[] = [];
  let line = "STATS";
  for (const name of names) {
    if (line !== "STATS" && line.length + 1 + name.length >= DEFAULT_MAX_LINE_BYTES) {
      lines.push(line);
      line = "STATS";
    }
    line += ` ${name}`;
  }
  lines.push(line);
  return lines;
}

/**
 * Sends the `STATS` requests for `names` on `client` and merges the replies: the totals of the
 * last one, the named clients of all of them.
 *
 * @throws {ProtocolError} If a reply is not valid `STATS` JSON (for example an `ERR`).
 */
export async function requestStats(
  client: LineClient,
  names: readonly string[] = [],
): Promise<StatsReply> {
  const requests = statsRequests(names);
  const replies = await client.pipeline(requests);
  const parsed = replies.map(parseStats);
  const last = parsed[parsed.length - 1]!;
  if (names.length === 0) return last;
  return { ...last, clients: Object.assign({}, ...parsed.map((p) => p.clients)) };
}

/**
 * Connects, asks for `STATS` (of the named clients, if any), and returns the parsed reply.
 *
 * @throws {ProtocolError} If the reply is not valid `STATS` JSON (for example an `ERR`).
 * @throws {Deno.errors.ConnectionRefused} If no server listens there.
 */
export async function fetchStats(
  options: LineClientOptions,
  names: readonly string[] = [],
): Promise<StatsReply> {
  using client = await LineClient.connect(options);
  return await requestStats(client, names);
}

/** What one poll learned: whether the server answered, and its counts if it did. */
export interface StatsSample {
  readonly up: boolean;
  readonly total: number | null;
  readonly clients: Readonly<Record<string, number>>;
}

/**
 * Asks a server for `STATS` again and again over one connection (reconnecting after a failure),
 * never throwing: a failed poll reports the server down.
 */
export class StatsPoller implements Disposable {
  readonly #options: LineClientOptions;
  readonly #names: readonly string[];
  #client: LineClient | undefined;

  /**
   * Creates the poller for the named clients (none: the server's top clients); short timeouts by
   * default, so a dead server is noticed quickly.
   */
  constructor(options: LineClientOptions, names: readonly string[] = []) {
    this.#options = { connectTimeoutMs: 300, replyTimeoutMs: 500, ...options };
    this.#names = names;
  }

  /**
   * One round of `STATS` requests. A server that answers with something else, or closes without
   * answering (a classic server), is up, with no counts.
   */
  async poll(): Promise<StatsSample> {
    try {
      if (!this.#client || this.#client.closed) {
        this.#client = await LineClient.connect(this.#options);
      }
      const stats = await requestStats(this.#client, this.#names);
      return { up: true, total: stats.total, clients: stats.clients };
    } catch (error) {
      this.#client?.close();
      const answered = error instanceof ProtocolError || error instanceof Deno.errors.UnexpectedEof;
      return { up: answered, total: null, clients: {} };
    }
  }

  /** Closes the connection. */
  close(): void {
    this.#client?.close();
  }

  /** Same as {@linkcode StatsPoller.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
