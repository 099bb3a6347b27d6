/**
 * Framed TCP connections for the overlay (see `frame.ts` for the bytes): a {@linkcode FrameConn}
 * reads values and writes them one frame at a time in order; a {@linkcode PeerLink} is one node's
 * (or client's) link to another node, connecting when first needed and again after a failure,
 * matching each reply to its request by `rid`, with a deadline on every request.
 *
 * @module
 */

import { encodeFrame, FrameReader } from "./frame.ts";

/** Bytes a connection may hold waiting to be written before it is given up (32 MiB). */
export const MAX_QUEUED_BYTES = 32 * 1024 * 1024;

/** A request got no reply in time, or the link failed before it came. */
export class PeerError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "PeerError";
  }
}

/** One framed connection: values in, values out, writes kept in order. */
export class FrameConn implements Disposable {
  readonly #conn: Deno.TcpConn;
  readonly #reader: FrameReader;
  #writing: Promise<void> = Promise.resolve();
  #queued = 0;
  #closed = false;
  /** When a frame last arrived or a write last finished (`performance.now()`). */
  lastActivity = performance.now();

  /** Wraps an open connection (Nagle off: frames are small and answered at once). */
  constructor(conn: Deno.TcpConn, maxFrameBytes?: number) {
    this.#conn = conn;
    this.#reader = new FrameReader(maxFrameBytes);
    try {
      conn.setNoDelay(true);
    } catch {
      // A connection already reset: reading will say so.
    }
  }

  /** The peer's address, as `host:port`. */
  get remote(): string {
    const { hostname, port } = this.#conn.remoteAddr as Deno.NetAddr;
    return `${hostname}:${port}`;
  }

  /** True once closed (by either side or a failure). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Every value the peer sends, until it closes.
   *
   * @throws {import("./frame.ts").FrameError} On a frame too long or not JSON.
   */
  async *values(): AsyncGenerator<unknown> {
    const buffer = new Uint8Array(64 * 1024);
    while (!this.#closed) {
      let n: number | null;
      try {
        n = await this.#conn.read(buffer);
      } catch (error) {
        if (this.#closed) return;
        throw error;
      }
      if (n === null) return;
      this.lastActivity = performance.now();
      for (const value of this.#reader.push(buffer.subarray(0, n))) yield value;
    }
  }

  /**
   * Sends one value; resolves when it was written. Rejects once the connection failed, and
   * closes it when more than {@linkcode MAX_QUEUED_BYTES} wait to be written (a peer that stopped
   * reading cannot make this side hold more).
   */
  send(value: unknown): Promise<void> {
    const frame = encodeFrame(value);
    if (this.#queued + frame.length > MAX_QUEUED_BYTES) {
      this.close();
      return Promise.reject(
        new PeerError(`${this.remote} does not read: ${this.#queued} bytes wait to be written`),
      );
    }
    this.#queued += frame.length;
    const write = this.#writing.then(async () => {
      try {
        if (this.#closed) throw new PeerError("connection closed");
        let at = 0;
        while (at < frame.length) at += await this.#conn.write(frame.subarray(at));
        this.lastActivity = performance.now();
      } finally {
        this.#queued -= frame.length;
      }
    });
    this.#writing = write.catch(() => {});
    return write;
  }

  /** Closes the connection (again is harmless). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by a failure.
    }
  }

  /** Same as {@linkcode close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

interface Waiting {
  resolve(value: Record<string, unknown>): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
  conn: FrameConn;
}

/** A value with a request id, as replies carry. */
function ridOf(value: unknown): number | null {
  if (typeof value !== "object" || value === null) return null;
  const rid = (value as Record<string, unknown>).rid;
  return typeof rid === "number" ? rid : null;
}

/** Where a {@linkcode PeerLink} connects, and how patiently. */
export interface PeerLinkOptions {
  readonly hostname: string;
  readonly port: number;
  /** Give up connecting after this many ms. @default {1000} */
  readonly connectTimeoutMs?: number;
}

/**
 * A link to one node. Requests on it run concurrently; each carries a fresh `rid` and waits for
 * the reply with the same `rid`. A failed or closed connection fails the requests waiting on it
 * and is opened again by the next request.
 *
 * @example
 * ```ts ignore
 * using link = new PeerLink({ hostname: "127.0.0.1", port: 4352 });
 * const reply = await link.request({ type: "stats" }, 1000);
 * ```
 */
export class PeerLink implements Disposable {
  readonly #options: PeerLinkOptions;
  #conn: Promise<FrameConn> | null = null;
  #current: FrameConn | null = null;
  readonly #waiting = new Map<number, Waiting>();
  #nextRid = 1;
  #disposed = false;

  /** Creates the link; nothing connects until the first request. */
  constructor(options: PeerLinkOptions) {
    this.#options = options;
  }

  /** `host:port` of the peer. */
  get address(): string {
    return `${this.#options.hostname}:${this.#options.port}`;
  }

  /**
   * Sends `message` (with a `rid` added) and resolves with the reply.
   *
   * @throws {PeerError} If no reply came within `timeoutMs` or the connection failed.
   */
  async request(
    message: Record<string, unknown>,
    timeoutMs: number,
  ): Promise<Record<string, unknown>> {
    const rid = this.#nextRid++;
    const started = performance.now();
    const conn = await this.#connected(timeoutMs);
    const left = Math.max(0, timeoutMs - (performance.now() - started));
    const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(rid);
        reject(new PeerError(`no reply from ${this.address} within ${timeoutMs} ms`));
      }, left);
      this.#waiting.set(rid, { resolve, reject, timer, conn });
    });
    conn.send({ ...message, rid }).catch((error) => this.#fail(conn, error));
    return await reply;
  }

  /** Sends `message` with no reply expected; false if the peer cannot be reached now. */
  async notify(message: Record<string, unknown>, timeoutMs: number): Promise<boolean> {
    try {
      const conn = await this.#connected(timeoutMs);
      await conn.send(message);
      return true;
    } catch {
      return false;
    }
  }

  #connected(timeoutMs: number): Promise<FrameConn> {
    if (this.#disposed) return Promise.reject(new PeerError("link closed"));
    if (this.#conn === null) {
      const opening = this.#open(Math.min(timeoutMs, this.#options.connectTimeoutMs ?? 1000));
      this.#conn = opening;
      opening.catch(() => {
        if (this.#conn === opening) this.#conn = null;
      });
    }
    return this.#conn;
  }

  async #open(timeoutMs: number): Promise<FrameConn> {
    const { hostname, port } = this.#options;
    const signal = AbortSignal.timeout(Math.max(1, timeoutMs));
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({ hostname, port, signal });
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw error;
      const reason = signal.aborted
        ? `no connection within ${timeoutMs} ms`
        : error instanceof Error
        ? error.message
        : String(error);
      throw new PeerError(`cannot reach ${this.address}: ${reason}`);
    }
    const framed = new FrameConn(conn);
    if (this.#disposed) {
      framed.close();
      throw new PeerError("link closed");
    }
    this.#current = framed;
    this.#read(framed);
    return framed;
  }

  async #read(conn: FrameConn): Promise<void> {
    try {
      for await (const value of conn.values()) {
        const rid = ridOf(value);
        const waiting = rid === null ? undefined : this.#waiting.get(rid);
        if (!waiting) continue;
        this.#waiting.delete(rid!);
        clearTimeout(waiting.timer);
        waiting.resolve(value as Record<string, unknown>);
      }
      this.#fail(conn, new PeerError(`${this.address} closed the connection`));
    } catch (error) {
      this.#fail(conn, error);
    }
  }

  #fail(conn: FrameConn, error: unknown): void {
    conn.close();
    if (this.#current === conn) {
      this.#current = null;
      this.#conn = null;
    }
    const reason = error instanceof PeerError
      ? error
      : new PeerError(`${this.address}: ${error instanceof Error ? error.message : String(error)}`);
    for (const [rid, waiting] of this.#waiting) {
      if (waiting.conn !== conn) continue;
      clearTimeout(waiting.timer);
      this.#waiting.delete(rid);
      waiting.reject(reason);
    }
  }

  /** Closes the link; waiting requests fail. */
  close(): void {
    this.#disposed = true;
    const conn = this.#conn;
    conn?.then((c) => this.#fail(c, new PeerError("link closed")), () => {});
  }

  /** Same as {@linkcode close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
