/**
 * A small TCP client for the line protocol: one request line out, one reply line back, with
 * connect and reply timeouts. Used by the LikesServers, the parent's `STATS` query and the tests.
 *
 * @module
 */

/** Where and how patiently to talk to a server. */
export interface LineClientOptions {
  /** Server address. @default {"127.0.0.1"} */
  readonly hostname?: string;
  /** Server port. */
  readonly port: number;
  /** Give up connecting after this many ms. @default {2000} */
  readonly connectTimeoutMs?: number;
  /** Give up waiting for a reply after this many ms (the connection is then closed). @default {2000} */
  readonly replyTimeoutMs?: number;
  /** Longest reply line accepted, in bytes. @default {1048576} */
  readonly maxReplyBytes?: number;
}

/** No reply arrived in time; the request may or may not have been applied. */
export class ReplyTimeoutError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ReplyTimeoutError";
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * One persistent connection that sends `\n`-terminated requests and reads `\n`-terminated replies.
 *
 * @example
 * ```ts ignore
 * using client = await LineClient.connect({ port: 4242 });
 * const reply = await client.request("STATS");
 * ```
 */
export class LineClient implements Disposable {
  readonly #conn: Deno.TcpConn;
  readonly #replyTimeoutMs: number;
  readonly #maxReplyBytes: number;
  readonly #buffer = new Uint8Array(4096);
  #pending: Uint8Array = new Uint8Array(0);
  #closed = false;

  private constructor(conn: Deno.TcpConn, replyTimeoutMs: number, maxReplyBytes: number) {
    this.#conn = conn;
    this.#replyTimeoutMs = replyTimeoutMs;
    this.#maxReplyBytes = maxReplyBytes;
  }

  /**
   * Opens a connection (with Nagle off, so small requests leave at once).
   *
   * @throws {Deno.errors.ConnectionRefused} If nothing listens there.
   * @throws {DOMException} `TimeoutError` if connecting takes longer than `connectTimeoutMs`.
   */
  static async connect(options: LineClientOptions): Promise<LineClient> {
    const {
      hostname = "127.0.0.1",
      port,
      connectTimeoutMs = 2000,
      replyTimeoutMs = 2000,
      maxReplyBytes = 1 << 20,
    } = options;
    const conn = await Deno.connect({
      hostname,
      port,
      signal: AbortSignal.timeout(connectTimeoutMs),
    });
    conn.setNoDelay(true);
    return new LineClient(conn, replyTimeoutMs, maxReplyBytes);
  }

  /** Uses a connection opened elsewhere (Nagle off, as `connect` does). */
  static wrap(
    conn: Deno.TcpConn,
    options: { readonly replyTimeoutMs?: number; readonly maxReplyBytes?: number } = {},
  ): LineClient {
    conn.setNoDelay(true);
    return new LineClient(conn, options.replyTimeoutMs ?? 2000, options.maxReplyBytes ?? 1 << 20);
  }

  /** True once the connection was closed (by a failure, a timeout or {@linkcode LineClient.close}). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends `line` plus `\n` and resolves to the reply line (without its terminator).
   *
   * @throws {ReplyTimeoutError} If no full reply line arrives in time; the connection is closed.
   * @throws {Deno.errors.UnexpectedEof} If the server closes before replying.
   */
  async request(line: string): Promise<string> {
    try {
      await this.#writeAll(encoder.encode(`${line}\n`));
      return await this.readLine();
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /**
   * Sends every line (each plus `\n`) at once and resolves to their reply lines, in order.
   *
   * @throws {ReplyTimeoutError} If a reply line does not arrive in time; the connection is closed.
   */
  async pipeline(lines: readonly string[]): Promise<string[]> {
    try {
      await this.#writeAll(encoder.encode(lines.map((line) => `${line}\n`).join("")));
      const replies: string[] = [];
      for (let i = 0; i < lines.length; i++) replies.push(await this.readLine());
      return replies;
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /**
   * Reads the next reply line (without its terminator).
   *
   * @throws {ReplyTimeoutError} If no full line arrives in time; the connection is closed.
   */
  async readLine(): Promise<string> {
    const timer = setTimeout(() => this.close(), this.#replyTimeoutMs);
    try {
      while (true) {
        const end = this.#pending.indexOf(0x0a);
        if (end >= 0) {
          const line = this.#pending.subarray(0, end);
          this.#pending = this.#pending.slice(end + 1);
          return decoder.decode(line).replace(/\r$/, "");
        }
        if (this.#pending.length > this.#maxReplyBytes) {
          throw new RangeError(`Cannot read reply as it exceeds ${this.#maxReplyBytes} bytes`);
        }
        let n: number | null;
        try {
          n = await this.#conn.read(this.#buffer);
        } catch (error) {
          if (this.#closed) {
            throw new ReplyTimeoutError(`no reply within ${this.#replyTimeoutMs} ms`);
          }
          throw error;
        }
        if (n === null) {
          if (this.#closed) {
            throw new ReplyTimeoutError(`no reply within ${this.#replyTimeoutMs} ms`);
          }
          throw new Deno.errors.UnexpectedEof("server closed the connection before replying");
        }
        const joined = new Uint8Array(this.#pending.length + n);
        joined.set(this.#pending);
        joined.set(this.#buffer.subarray(0, n), this.#pending.length);
        this.#pending = joined;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  async #writeAll(data: Uint8Array): Promise<void> {
    let written = 0;
    while (written < data.length) written += await this.#conn.write(data.subarray(written));
  }

  /** Closes the connection. Safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  /** Same as {@linkcode LineClient.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Connects, sends one request, reads its reply and closes (the classic one-message client). */
export async function requestOnce(options: LineClientOptions, line: string): Promise<string> {
  using client = await LineClient.connect(options);
  return await client.request(line);
}
