/**
 * A reply lost after the script ran, made real: a TCP proxy in front of a real redis-server that,
 * once armed, passes the next script call on and drops Redis's answer. Shared by the tests of
 * the store's indefinite errors.
 *
 * @module
 */

import { writeAll } from "./_helpers.ts";

/** A proxy that can lose one script call's answer. */
export interface ReplyLosingProxy extends AsyncDisposable {
  /** The port it listens on (127.0.0.1). */
  readonly port: number;
  /** Loses the answer to the next script call. */
  arm(): void;
  /** How many answers it has lost. */
  cuts(): number;
}

/**
 * A TCP proxy on 127.0.0.1 to `targetPort`. Once `arm()`ed, the next script call (`EVALSHA` or
 * `EVAL`) goes on to Redis, Redis's answer is dropped, and both sides are closed 200 ms later
 * (time for Redis to run it).
 */
export function replyLosingProxy(targetPort: number): ReplyLosingProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let armed = false;
  let cuts = 0;
  const pipe = async (from: Deno.Conn, to: Deno.Conn, onChunk: (chunk: Uint8Array) => boolean) => {
    const buffer = new Uint8Array(1 << 16);
    try {
      while (true) {
        const n = await from.read(buffer);
        if (n === null) break;
        const chunk = buffer.slice(0, n);
        if (onChunk(chunk)) await writeAll(to, chunk);
      }
    } catch {
      // closed by the other direction
    }
  };
  const serve = async (client: Deno.TcpConn) => {
    const redis = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
    open.add(client).add(redis);
    let cut = false;
    const closeBoth = () => {
      for (const conn of [client, redis]) {
        open.delete(conn);
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
    };
    await Promise.all([
      pipe(client, redis, (chunk) => {
        if (armed && /EVAL/i.test(new TextDecoder().decode(chunk))) {
          armed = false;
          cut = true;
          cuts++;
          setTimeout(closeBoth, 200);
        }
        return true;
      }),
      pipe(redis, client, () => !cut),
    ]);
    closeBoth();
  };
  const accepting = (async () => {
    for await (const conn of listener) serve(conn).catch(() => {});
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    arm: () => {
      armed = true;
    },
    cuts: () => cuts,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of open) conn.close();
      await accepting.catch(() => {});
    },
  };
}
