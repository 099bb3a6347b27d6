/**
 * How a LikesServer puts one message on the wire: keyed messages over one persistent connection
 * (reconnecting after a failure), classic messages one connection each, as classic clients do.
 *
 * @module
 */

import { LineClient, type LineClientOptions, requestOnce } from "../protocol/line_client.ts";
import type { Protocol } from "../protocol/grammar.ts";

/** Sends one request line and returns the reply line. */
export class Sender implements Disposable {
  readonly #options: LineClientOptions;
  readonly #protocol: Protocol;
  #client: LineClient | undefined;

  /** Creates a sender; nothing connects until the first {@linkcode Sender.exchange}. */
  constructor(options: LineClientOptions, protocol: Protocol) {
    this.#options = options;
    this.#protocol = protocol;
  }

  /**
   * Sends `line` and resolves to the reply line.
   *
   * @throws On connection failure or timeout; the next call reconnects.
   */
  async exchange(line: string): Promise<string> {
    if (this.#protocol === "classic") return await requestOnce(this.#options, line);
    if (!this.#client || this.#client.closed) {
      this.#client = await LineClient.connect(this.#options);
    }
    return await this.#client.request(line);
  }

  /** Closes the persistent connection, if any. */
  close(): void {
    this.#client?.close();
  }

  /** Same as {@linkcode Sender.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
