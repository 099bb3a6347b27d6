import assert from "node:assert/strict";
import { FrameConn, MAX_QUEUED_BYTES, PeerError, PeerLink } from "./frame_conn.ts";

/** A framed echo server that answers each request with its `rid` after `delayMs` (by `n`). */
function echoServer(delayMs: (n: number) => number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<FrameConn>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const serving = (async () => {
    for await (const tcp of listener) {
      const conn = new FrameConn(tcp);
      conns.add(conn);
      (async () => {
        try {
          for await (const value of conn.values()) {
            const { rid, n } = value as { rid: number; n: number };
            const timer = setTimeout(() => {
              timers.delete(timer);
              conn.send({ rid, n }).catch(() => {});
            }, delayMs(n));
            timers.add(timer);
          }
        } catch {
          // The client went away.
        }
      })();
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    dropClients() {
      for (const conn of conns) conn.close();
      conns.clear();
    },
    async close() {
      listener.close();
      await serving.catch(() => {});
      this.dropClients();
      for (const timer of timers) clearTimeout(timer);
    },
  };
}

Deno.test("PeerLink: concurrent requests get their own replies, out of order", async () => {
  const server = echoServer((n) => (3 - n) * 20);
  try {
    using link = new PeerLink({ hostname: "127.0.0.1", port: server.port });
    const replies = await Promise.all([1, 2, 3].map((n) => link.request({ n }, 1000)));
    assert.deepEqual(replies.map((r) => r.n), [1, 2, 3]);
  } finally {
    await server.close();
  }
});

Deno.test("PeerLink: a late reply fails its request on time; a dropped connection is reopened", async () => {
  const server = echoServer((n) => (n === 0 ? 300 : 0));
  try {
    using link = new PeerLink({ hostname: "127.0.0.1", port: server.port });
    const started = performance.now();
    await assert.rejects(
      link.request({ n: 0 }, 100),
      (e) =>
        e instanceof PeerError && /no reply from 127\.0\.0\.1:\d+ within 100 ms/.test(e.message),
    );
    assert.ok(performance.now() - started < 250);
    assert.equal((await link.request({ n: 1 }, 1000)).n, 1);
    server.dropClients();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await link.request({ n: 2 }, 1000)).n, 2, "reconnected");
  } finally {
    await server.close();
  }
});

Deno.test("PeerLink: nothing listening is a PeerError naming the address", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  using link = new PeerLink({ hostname: "127.0.0.1", port });
  await assert.rejects(link.request({}, 500), /cannot reach 127\.0\.0\.1:\d+: .*refused/i);
  assert.equal(await link.notify({}, 500), false);
});

Deno.test("FrameConn: a peer that stops reading cannot make the sender queue without bound", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept(); // accepted, never read
  const conn = new FrameConn(
    await Deno.connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port }),
  );
  const peer = await accepted;
  try {
    const big = "x".repeat(1 << 20);
    const sends: Promise<void>[] = [];
    let refused: unknown = null;
    for (let i = 0; i < MAX_QUEUED_BYTES / (1 << 20) + 8 && refused === null; i++) {
      const sent = conn.send({ big });
      sends.push(sent);
      await Promise.race([sent.catch((e) => (refused = e)), Promise.resolve()]);
    }
    assert.ok(refused instanceof PeerError, String(refused));
    assert.match((refused as Error).message, /does not read: \d+ bytes wait to be written/);
    assert.equal(conn.closed, true);
    await Promise.allSettled(sends);
  } finally {
    conn.close();
    peer.close();
    listener.close();
  }
});
