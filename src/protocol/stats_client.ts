/**
 * Asks a server for `STATS` over TCP.
 *
 * @module
 */

import { LineClient, type LineClientOptions, requestOnce } from "./line_client.ts";
import { parseStats, type Stats } from "./stats.ts";

/**
 * Connects, sends `STATS`, and returns the parsed reply.
 *
 * @throws {ProtocolError} If the reply is not valid `STATS` JSON (for example an `ERR`).
 * @throws {Deno.errors.ConnectionRefused} If no server listens there.
 */
export async function fetchStats(
  options: LineClientOptions,
): Promise<Pick<Stats, "total" | "clients"> & Partial<Stats>> {
  return parseStats(await requestOnce(options, "STATS"));
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
  #client: LineClient | undefined;

  /** Creates the poller; short timeouts by default, so a dead server is noticed quickly. */
  constructor(options: LineClientOptions) {
    this.#options = { connectTimeoutMs: 300, replyTimeoutMs: 500, ...options };
  }

  /** One `STATS` request. */
  async poll(): Promise<StatsSample> {
    try {
      if (!this.#client || this.#client.closed) {
        this.#client = await LineClient.connect(this.#options);
      }
      const stats = parseStats(await this.#client.request("STATS"));
      return { up: true, total: stats.total, clients: stats.clients };
    } catch {
      this.#client?.close();
      return { up: false, total: null, clients: {} };
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
