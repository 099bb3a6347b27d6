/**
 * Framed TCP connections for the overlay (see `frame.ts` for the bytes): a {@linkcode FrameConn}
 * authenticates the connection with the cluster's secret (`link_auth.ts`), then reads values and
 * writes them one frame at a time in order, every frame tagged; a {@linkcode PeerLink} is one
 * node's (or client's) link to another node, connecting (and authenticating) when first needed
 * and again after a failure, matching each reply to its request by `rid`, with a deadline on
 * every request.
 *
 * @module
 */

import {
  decodeJson,
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  encodeJson,
  frameBody,
  FrameError,
  FrameReader,
} from "./frame.ts";
import {
  AUTH_VERSION,
  AuthError,
  checkProof,
  type ClusterSecret,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  FrameTagger,
  handshakeProof,
  isNonce,
  MAX_HANDSHAKE_FRAME_BYTES,
  newNonce,
  TAG_BYTES,
} from "./link_auth.ts";
import { describeError } from "../../base/describe_error.ts";

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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * One framed connection: authenticated first ({@linkcode FrameConn.accept} on the node's side,
 * {@linkcode FrameConn.authenticate} on the caller's), then values in, values out, writes kept in
 * order.
 */
export class FrameConn implements Disposable {
  readonly #conn: Deno.TcpConn;
  readonly #reader: FrameReader;
  readonly #maxFrameBytes: number;
  readonly #buffer = new Uint8Array(64 * 1024);
  readonly #bodies: Uint8Array[] = [];
  #ended = false;
  #incoming: FrameTagger | null = null;
  #outgoing: FrameTagger | null = null;
  #writing: Promise<void> = Promise.resolve();
  #queued = 0;
  #closed = false;
  /** When the frame now incomplete began to arrive (`performance.now()`), or 0. */
  #partialSince = 0;
  /** When a frame last arrived or a write last finished (`performance.now()`). */
  lastActivity = performance.now();
  /** The size of the frame whose value {@linkcode FrameConn.values} yielded last, in bytes. */
  lastFrameBytes = 0;

  /** Wraps an open connection (Nagle off: frames are small and answered at once). */
  constructor(conn: Deno.TcpConn, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    this.#conn = conn;
    this.#maxFrameBytes = maxFrameBytes;
    this.#reader = new FrameReader(MAX_HANDSHAKE_FRAME_BYTES);
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

  /** True once the handshake succeeded. */
  get authenticated(): boolean {
    return this.#incoming !== null;
  }

  /** How long the frame now arriving has been incomplete at `now` (`performance.now()`), or 0. */
  partialFor(now: number): number {
    return this.#partialSince === 0 ? 0 : now - this.#partialSince;
  }

  /**
   * The node's side of the handshake: sends the hello, checks the caller's proof, answers with
   * its own. On failure the caller is told why (one unauthenticated error frame) and the
   * connection is closed.
   *
   * @throws {AuthError} If the caller does not prove it holds `secret` within `timeoutMs`.
   */
  async accept(
    secret: ClusterSecret,
    node: string,
    timeoutMs = DEFAULT_HANDSHAKE_TIMEOUT_MS,
  ): Promise<void> {
    const serverNonce = newNonce();
    await this.#handshake(timeoutMs, "no handshake", async () => {
      await this.#sendJson({ type: "hello", v: AUTH_VERSION, node, nonce: serverNonce });
      const auth = await this.#nextValue();
      if (!isRecord(auth) || auth.type !== "auth") {
        throw new AuthError(
          "the first frame was not an auth frame (is it a node of this cluster?)",
        );
      }
      if (!isNonce(auth.nonce)) throw new AuthError("the auth frame's nonce is malformed");
      if (!checkProof(secret, "client", serverNonce, auth.nonce, auth.proof)) {
        throw new AuthError("its proof of the cluster secret is wrong (a different cluster.key?)");
      }
      await this.#sendJson({
        type: "welcome",
        proof: handshakeProof(secret, "server", serverNonce, auth.nonce),
      });
      this.#incoming = new FrameTagger(secret, "c2s", serverNonce, auth.nonce);
      this.#outgoing = new FrameTagger(secret, "s2c", serverNonce, auth.nonce);
    });
  }

  /**
   * The caller's side of the handshake: proves it holds `secret` and checks that the node does.
   *
   * @throws {AuthError} If the node refused the proof, or did not prove it holds the secret.
   */
  async authenticate(
    secret: ClusterSecret,
    timeoutMs = DEFAULT_HANDSHAKE_TIMEOUT_MS,
  ): Promise<void> {
    await this.#handshake(timeoutMs, "no answer to the handshake", async () => {
      const hello = await this.#nextValue();
      if (!isRecord(hello) || hello.type !== "hello" || !isNonce(hello.nonce)) {
        throw new AuthError("it did not greet as a node does (is it a node of the overlay?)");
      }
      if (hello.v !== AUTH_VERSION) {
        throw new AuthError(`it speaks version ${JSON.stringify(hello.v)}, not ${AUTH_VERSION}`);
      }
      const clientNonce = newNonce();
      await this.#sendJson({
        type: "auth",
        nonce: clientNonce,
        proof: handshakeProof(secret, "client", hello.nonce, clientNonce),
      });
      const welcome = await this.#nextValue();
      if (isRecord(welcome) && welcome.type === "error") {
        throw new AuthError(`it refused this connection: ${String(welcome.message)}`);
      }
      if (
        !isRecord(welcome) || welcome.type !== "welcome" ||
        !checkProof(secret, "server", hello.nonce, clientNonce, welcome.proof)
      ) {
        throw new AuthError("its proof of the cluster secret is wrong (a different cluster.key?)");
      }
      this.#incoming = new FrameTagger(secret, "s2c", hello.nonce, clientNonce);
      this.#outgoing = new FrameTagger(secret, "c2s", hello.nonce, clientNonce);
    });
  }

  async #handshake(
    timeoutMs: number,
    late: string,
    steps: () => Promise<void>,
  ): Promise<void> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.close();
    }, timeoutMs);
    try {
      await steps();
      this.#reader.maxFrameBytes = this.#maxFrameBytes;
    } catch (error) {
      const reason = timedOut
        ? new AuthError(`${late} within ${timeoutMs} ms`)
        : error instanceof AuthError
        ? error
        : new AuthError(
          `the handshake failed: ${describeError(error, "message")}`,
        );
      if (!this.#closed && !/refused this connection/.test(reason.message)) {
        await this.#sendJson({ type: "error", message: `authentication failed: ${reason.message}` })
          .catch(() => {});
      }
      this.close();
      throw reason;
    } finally {
      clearTimeout(timer);
    }
  }

  async #nextBody(): Promise<Uint8Array | null> {
    while (this.#bodies.length === 0) {
      if (this.#ended || this.#closed) return null;
      let n: number | null;
      try {
        n = await this.#conn.read(this.#buffer);
      } catch (error) {
        if (this.#closed) return null;
        throw error;
      }
      if (n === null) {
        this.#ended = true;
        return null;
      }
      const now = performance.now();
      this.lastActivity = now;
      const wasPartial = this.#reader.hasPartial;
      this.#bodies.push(...this.#reader.push(this.#buffer.subarray(0, n)));
      if (!this.#reader.hasPartial) this.#partialSince = 0;
      else if (!wasPartial || this.#bodies.length > 0) this.#partialSince = now;
    }
    return this.#bodies.shift()!;
  }

  /** The next value, during the handshake (nothing is tagged yet). */
  async #nextValue(): Promise<unknown> {
    const body = await this.#nextBody();
    if (body === null) throw new AuthError("it closed the connection");
    return decodeJson(body);
  }

  /**
   * Every value the peer sends, until it closes; a frame that does not hold JSON is yielded as
   * its {@linkcode FrameError} (the stream goes on).
   *
   * @throws {FrameError} On a frame over the size limit (the stream cannot go on).
   * @throws {AuthError} On a frame whose tag is wrong, or before the handshake.
   */
  async *values(): AsyncGenerator<unknown> {
    if (this.#incoming === null) throw new AuthError("the connection is not authenticated");
    while (true) {
      const body = await this.#nextBody();
      if (body === null) return;
      this.lastFrameBytes = 4 + body.length;
      const json = this.#incoming.open(body);
      let value: unknown;
      try {
        value = decodeJson(json);
      } catch (error) {
        value = error;
      }
      yield value;
    }
  }

  /**
   * Sends one value; resolves to the frame's size once it was written. Rejects with a {@linkcode FrameError} (the
   * connection goes on) if the value does not fit in a frame; rejects once the connection
   * failed, and closes it when more than {@linkcode MAX_QUEUED_BYTES} wait to be written (a peer
   * that stopped reading cannot make this side hold more).
   */
  send(value: unknown): Promise<number> {
    if (this.#outgoing === null) {
      return Promise.reject(new AuthError("the connection is not authenticated"));
    }
    let frame: Uint8Array;
    try {
      const json = encodeJson(value);
      // Checked before tagging: a tag spends a sequence number, so only a frame sent may get one.
      if (TAG_BYTES + json.length > this.#maxFrameBytes) {
        throw new FrameError(
          `Cannot send a frame of ${
            TAG_BYTES + json.length
          } bytes: the limit is ${this.#maxFrameBytes}`,
        );
      }
      frame = frameBody(this.#outgoing.seal(json), this.#maxFrameBytes);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#write(frame);
  }

  #sendJson(value: unknown): Promise<number> {
    return this.#write(encodeFrame(value, MAX_HANDSHAKE_FRAME_BYTES));
  }

  #write(frame: Uint8Array): Promise<number> {
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
        return frame.length;
      } finally {
        this.#queued -= frame.length;
      }
    });
    this.#writing = write.then(() => {}, () => {});
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
  /** Takes the `rows` frames that come before the reply. */
  onRows: RowsHandler | undefined;
  /** When the request gives up (`performance.now()`): reading waits for `onRows` until then. */
  deadline: number;
}

/**
 * Takes one `rows` frame of a streamed answer. When it returns a promise, the link reads nothing
 * more until it settles (or the request's time is up): a slow consumer slows the sender instead
 * of piling frames up in memory.
 */
export type RowsHandler = (frame: Record<string, unknown>) => void | Promise<void>;

/** Waits for `pending`, but no later than `deadline` (`performance.now()`); never rejects. */
async function waitUntil(pending: Promise<void>, deadline: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
  });
  try {
    await Promise.race([pending.catch(() => {}), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A value with a request id, as replies carry. */
function ridOf(value: unknown): number | null {
  if (typeof value !== "object" || value === null) return null;
  const rid = (value as Record<string, unknown>).rid;
  return typeof rid === "number" ? rid : null;
}

/** Where a {@linkcode PeerLink} connects, with what secret, and how patiently. */
export interface PeerLinkOptions {
  readonly hostname: string;
  readonly port: number;
  /** The cluster's secret, to authenticate the connection. */
  readonly secret: ClusterSecret;
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
 * using link = new PeerLink({ hostname: "127.0.0.1", port: 4352, secret });
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
  #bytesSent = 0;
  #generation = 0;

  /** Creates the link; nothing connects until the first request. */
  constructor(options: PeerLinkOptions) {
    this.#options = options;
  }

  /** `host:port` of the peer. */
  get address(): string {
    return `${this.#options.hostname}:${this.#options.port}`;
  }

  /**
   * How many connections the link has opened: when it changes between two sends, what was
   * written on the old connection may not have arrived.
   */
  get generation(): number {
    return this.#generation;
  }

  /** Bytes of frames written by {@linkcode PeerLink.notify} so far, handshakes not included. */
  get bytesSent(): number {
    return this.#bytesSent;
  }

  /**
   * Sends `message` (with a `rid` added) and resolves with the reply; `rows` frames with its
   * `rid` that come before the reply (a long answer, streamed) go to `onRows`, in order (see
   * {@linkcode RowsHandler} for how it can slow the sender down). Aborting `signal` gives up
   * the wait at once (a late reply is then dropped), rejecting with the signal's reason.
   *
   * @throws {PeerError} If no reply came within `timeoutMs` or the connection failed.
   */
  async request(
    message: Record<string, unknown>,
    timeoutMs: number,
    onRows?: RowsHandler,
    signal?: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const rid = this.#nextRid++;
    const started = performance.now();
    const conn = await this.#connected(timeoutMs);
    signal?.throwIfAborted();
    const left = Math.max(0, timeoutMs - (performance.now() - started));
    const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(rid);
        reject(new PeerError(`no reply from ${this.address} within ${timeoutMs} ms`));
      }, left);
      const deadline = performance.now() + left;
      this.#waiting.set(rid, { resolve, reject, timer, conn, onRows, deadline });
    });
    const giveUp = () => {
      const waiting = this.#waiting.get(rid);
      this.#waiting.delete(rid);
      clearTimeout(waiting?.timer);
      waiting?.reject(signal!.reason);
    };
    signal?.addEventListener("abort", giveUp, { once: true });
    reply.catch(() => {}).finally(() => signal?.removeEventListener("abort", giveUp));
    conn.send({ ...message, rid }).catch((error) => {
      if (!(error instanceof FrameError)) return this.#fail(conn, error);
      const waiting = this.#waiting.get(rid); // too large to send: this request fails alone
      this.#waiting.delete(rid);
      clearTimeout(waiting?.timer);
      waiting?.reject(new PeerError(error.message));
    });
    return await reply;
  }

  /** Sends `message` with no reply expected; false if the peer cannot be reached now. */
  async notify(message: Record<string, unknown>, timeoutMs: number): Promise<boolean> {
    try {
      const conn = await this.#connected(timeoutMs);
      this.#bytesSent += await conn.send(message);
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
    try {
      await framed.authenticate(this.#options.secret, timeoutMs);
    } catch (error) {
      throw new PeerError(
        `cannot reach ${this.address}: ${describeError(error, "message")}`,
      );
    }
    if (this.#disposed) {
      framed.close();
      throw new PeerError("link closed");
    }
    this.#current = framed;
    this.#generation++;
    this.#read(framed);
    return framed;
  }

  async #read(conn: FrameConn): Promise<void> {
    try {
      for await (const value of conn.values()) {
        const rid = ridOf(value);
        const waiting = rid === null ? undefined : this.#waiting.get(rid);
        if (!waiting) continue;
        if ((value as Record<string, unknown>).type === "rows") {
          let pending: void | Promise<void>;
          try {
            pending = waiting.onRows?.(value as Record<string, unknown>);
          } catch (error) { // the handler's failure fails its request, not the link
            this.#waiting.delete(rid!);
            clearTimeout(waiting.timer);
            waiting.reject(new PeerError(describeError(error, "message")));
            continue;
          }
          if (pending) await waitUntil(pending, waiting.deadline);
          continue;
        }
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
      : new PeerError(`${this.address}: ${describeError(error, "message")}`);
    for (const [rid, waiting] of this.#waiting) {
      if (waiting.conn !== conn) continue;
      clearTimeout(waiting.timer);
      this.#waiting.delete(rid);
      waiting.reject(reason);
    }
  }

  /**
   * Drops the current connection (say, one found half-open): requests waiting on it fail with
   * `reason`, and the next request opens a new one. The link stays usable.
   */
  drop(reason: string): void {
    const conn = this.#current;
    if (conn) this.#fail(conn, new PeerError(`${this.address}: ${reason}`));
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
