/**
 * The benchmark's load generator: many concurrent clients from one Deno process (no process per
 * client), for a likes server (classic or keyed messages) or Redis (`INCRBY likes <n>`).
 *
 * Modes: `per-message` (connect, send, read the reply, close: the classic client), `persistent`
 * (one connection per client, one message in flight) and `pipeline` (up to `depth` in flight; each
 * reply lets one more go). Latency is measured from sending a message to reading its reply (for
 * per-message, from starting to connect). Every acknowledged like is summed, so the caller can
 * check it against the server's own total.
 *
 * @module
 */

import { LatencyRecorder, type LatencySummary } from "./latency.ts";
import { randomInt, seededRandom } from "../base/random.ts";
import { describeError } from "../base/describe_error.ts";

/** How clients use their connections. */
export type LoadMode = "per-message" | "persistent" | "pipeline";
/** The message form. */
export type LoadProtocol = "classic" | "keyed" | "redis";

/** Options for {@linkcode generateLoad}. */
export interface LoadOptions {
  readonly port: number;
  /** Several servers: client i connects to `ports[i % n]` (overrides `port`). @default {[port]} */
  readonly ports?: readonly number[];
  /** @default {"127.0.0.1"} */
  readonly hostname?: string;
  readonly mode: LoadMode;
  /** Concurrent clients. */
  readonly clients: number;
  /** Messages in flight per client (pipeline mode). @default {16} */
  readonly depth?: number;
  /** Measured time, in ms. */
  readonly durationMs: number;
  /** Unmeasured time before it, in ms (messages still count for the total). @default {0} */
  readonly warmupMs?: number;
  /** @default {"classic"} */
  readonly protocol?: LoadProtocol;
  /** Seed for the likes (0..42 per message). @default {1} */
  readonly seed?: number;
  /** Give up on a reply after this long (the client stops). @default {5000} */
  readonly replyTimeoutMs?: number;
  /** Client numbers start here (keeps names apart between runs on one server). @default {0} */
  readonly clientBase?: number;
}

/** What a load run measured. */
export interface LoadResult {
  /** Messages sent and replies received during the whole run (warm-up included). */
  readonly sent: number;
  readonly acknowledged: number;
  /** Replies that were not acknowledgements. */
  readonly errors: number;
  /** Clients that gave up waiting for a reply or lost their connection. */
  readonly failures: number;
  /** The first failure's message, if any. */
  readonly firstFailure: string | null;
  /** Likes in acknowledged messages (warm-up included): what the server must have counted. */
  readonly acknowledgedLikes: number;
  /** Acknowledgements per second in the measured window. */
  readonly messagesPerSecond: number;
  /** Acknowledged likes per second in the measured window. */
  readonly likesPerSecond: number;
  /** Send-to-reply latency in the measured window. */
  readonly latency: LatencySummary;
}

const encoder = new TextEncoder();
const LF = 0x0a;

/** Encodes messages for one client. */
function messageMaker(protocol: LoadProtocol, client: number): (likes: number) => Uint8Array {
  if (protocol === "keyed") {
    let seq = 0;
    return (likes) => encoder.encode(`LIKE bench-${client} ${++seq} ${likes}\n`);
  }
  const cached = Array.from(
    { length: 43 },
    (_, likes) =>
      encoder.encode(
        protocol === "redis" ? `INCRBY likes ${likes}\r\n` : `LikesServer${client} ${likes}\n`,
      ),
  );
  return (likes) => cached[likes]!;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const size = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let written = 0; written < data.length;) written += await conn.write(data.subarray(written));
}

/**
 * Runs the load and resolves with what it measured.
 *
 * @throws {RangeError} On nonsensical options.
 */
export async function generateLoad(options: LoadOptions): Promise<LoadResult> {
  const {
    port,
    hostname = "127.0.0.1",
    mode,
    clients,
    depth = mode === "pipeline" ? 16 : 1,
    durationMs,
    warmupMs = 0,
    protocol = "classic",
    seed = 1,
    replyTimeoutMs = 5000,
    clientBase = 0,
  } = options;
  if (!Number.isInteger(clients) || clients < 1) {
    throw new RangeError(
      `Cannot generate load as 'clients' must be a positive integer: current value is ${clients}`,
    );
  }
  const ackByte = protocol === "redis" ? 0x3a /* : */ : 0x41; /* A */
  const random = seededRandom(seed);
  const latency = new LatencyRecorder();
  let sent = 0, acknowledged = 0, errors = 0, failures = 0, acknowledgedLikes = 0;
  let measuredAcks = 0, measuredLikes = 0;
  let firstFailure: string | null = null;
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const stopAt = measureFrom + durationMs;
  const conns = new Set<Deno.Conn>();
  const lastProgress = new Float64Array(clients);

  const fail = (error: unknown) => {
    failures++;
    firstFailure ??= describeError(error);
  };
  const onReply = (ok: boolean, likes: number, sentAt: number, now: number) => {
    if (!ok) {
      errors++;
      return;
    }
    acknowledged++;
    acknowledgedLikes += likes;
    if (now >= measureFrom && now <= stopAt) {
      measuredAcks++;
      measuredLikes += likes;
      latency.add(now - sentAt);
    }
  };
  const ports = options.ports?.length ? options.ports : [port];
  let nextPort = 0;
  const connect = async () => {
    const conn = await Deno.connect({ hostname, port: ports[nextPort++ % ports.length]! });
    conn.setNoDelay(true);
    return conn;
  };

  /** One connection with up to `window` messages in flight, until the end of the run. */
  const streamClient = async (index: number, window: number) => {
    const make = messageMaker(protocol, clientBase + index);
    const conn = await connect();
    conns.add(conn);
    const sentAt = new Float64Array(window);
    const likesOf = new Int32Array(window);
    let head = 0, inFlight = 0;
    const buffer = new Uint8Array(16384);
    let atLineStart = true, lineOk = false;
    const send = async (count: number) => {
      const parts: Uint8Array[] = [];
      const now = performance.now();
      for (let i = 0; i < count; i++) {
        const likes = randomInt(random, 0, 42);
        const slot = (head + inFlight) % window;
        sentAt[slot] = now;
        likesOf[slot] = likes;
        inFlight++;
        sent++;
        parts.push(make(likes));
      }
      await writeAll(conn, concat(parts));
    };
    try {
      await send(window);
      while (inFlight > 0) {
        const n = await conn.read(buffer);
        if (n === null) throw new Deno.errors.UnexpectedEof("server closed the connection");
        const now = performance.now();
        lastProgress[index] = now;
        let replies = 0;
        for (let i = 0; i < n; i++) {
          const b = buffer[i]!;
          if (atLineStart) {
            lineOk = b === ackByte;
            atLineStart = false;
          }
          if (b === LF) {
            onReply(lineOk, likesOf[head]!, sentAt[head]!, now);
            head = (head + 1) % window;
            inFlight--;
            replies++;
            atLineStart = true;
          }
        }
        if (replies > 0 && now < stopAt) await send(replies);
      }
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // Closed by the watchdog.
      }
    }
  };

  /** The classic client: a connection per message. */
  const perMessageClient = async (index: number) => {
    const make = messageMaker(protocol, clientBase + index);
    const buffer = new Uint8Array(256);
    while (performance.now() < stopAt) {
      const likes = randomInt(random, 0, 42);
      const began = performance.now();
      const conn = await connect();
      conns.add(conn);
      try {
        sent++;
        await writeAll(conn, make(likes));
        let first = -1;
        let done = false;
        while (!done) {
          const n = await conn.read(buffer);
          if (n === null) throw new Deno.errors.UnexpectedEof("server closed before replying");
          if (first < 0) first = buffer[0]!;
          done = buffer.subarray(0, n).includes(LF);
        }
        const now = performance.now();
        lastProgress[index] = now;
        onReply(first === ackByte, likes, began, now);
      } finally {
        conns.delete(conn);
        try {
          conn.close();
        } catch {
          // Closed by the watchdog.
        }
      }
    }
  };

  lastProgress.fill(start);
  const watchdog = setInterval(() => {
    const now = performance.now();
    if (now < stopAt) return;
    for (let i = 0; i < clients; i++) {
      if (now - Math.max(lastProgress[i]!, stopAt) > replyTimeoutMs) {
        for (const conn of conns) {
          try {
            conn.close();
          } catch {
            // Already closed.
          }
        }
        return;
      }
    }
  }, 250);
  try {
    await Promise.all(Array.from({ length: clients }, async (_, i) => {
      try {
        if (mode === "per-message") await perMessageClient(i);
        else await streamClient(i, mode === "pipeline" ? depth : 1);
      } catch (error) {
        fail(error);
      }
    }));
  } finally {
    clearInterval(watchdog);
  }
  const seconds = durationMs / 1000;
  return {
    sent,
    acknowledged,
    errors,
    failures,
    firstFailure,
    acknowledgedLikes,
    messagesPerSecond: measuredAcks / seconds,
    likesPerSecond: measuredLikes / seconds,
    latency: latency.summary(),
  };
}

/** Opens `count` connections and keeps them open until `release` is called. */
export async function holdIdleConnections(
  port: number,
  count: number,
  hostname = "127.0.0.1",
): Promise<{ opened: number; release: () => void }> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < count; i += 200) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(200, count - i) }, () => Deno.connect({ hostname, port })),
    );
    conns.push(...batch);
  }
  return {
    opened: conns.length,
    release: () => {
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Closed by the server.
        }
      }
    },
  };
}
