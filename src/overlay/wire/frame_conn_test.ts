import assert from "node:assert/strict";
import { decodeJson, encodeFrame, FrameReader } from "./frame.ts";
import { FrameConn, MAX_QUEUED_BYTES, PeerError, PeerLink } from "./frame_conn.ts";
import { AuthError, ClusterSecret } from "./link_auth.ts";

const secret = ClusterSecret.fromText("frame-conn-test-secret-0123456789abcdef");
const wrongSecret = ClusterSecret.fromText("not-the-cluster-secret-0123456789abcdef");

/**
 * A framed echo server (authenticated with `secret`) that answers each request with its `rid`
 * after `delayMs` (by `n`); `refusals` collects why connections were refused.
 */
function echoServer(delayMs: (n: number) => number, handshakeTimeoutMs = 2000) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<FrameConn>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const refusals: string[] = [];
  const handlers: Promise<void>[] = [];
  const serving = (async () => {
    for await (const tcp of listener) {
      const conn = new FrameConn(tcp);
      conns.add(conn);
      handlers.push((async () => {
        try {
          await conn.accept(secret, "T", handshakeTimeoutMs);
        } catch (error) {
          refusals.push((error as Error).message);
          return;
        }
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
      })());
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    refusals,
    dropClients() {
      for (const conn of conns) conn.close();
      conns.clear();
    },
    async close() {
      listener.close();
      await serving.catch(() => {});
      this.dropClients();
      await Promise.all(handlers);
      for (const timer of timers) clearTimeout(timer);
    },
  };
}

Deno.test("PeerLink: concurrent requests get their own replies, out of order", async () => {
  const server = echoServer((n) => (3 - n) * 20);
  try {
    using link = new PeerLink({ hostname: "127.0.0.1", port: server.port, secret });
    const replies = await Promise.all([1, 2, 3].map((n) => link.request({ n }, 1000)));
    assert.deepEqual(replies.map((r) => r.n), [1, 2, 3]);
  } finally {
    await server.close();
  }
});

Deno.test("PeerLink: a late reply fails its request on time; a dropped connection is reopened", async () => {
  const server = echoServer((n) => (n === 0 ? 300 : 0));
  try {
    using link = new PeerLink({ hostname: "127.0.0.1", port: server.port, secret });
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
  using link = new PeerLink({ hostname: "127.0.0.1", port, secret });
  await assert.rejects(link.request({}, 500), /cannot reach 127\.0\.0\.1:\d+: .*refused/i);
  assert.equal(await link.notify({}, 500), false);
});

Deno.test("FrameConn: a peer that stops reading cannot make the sender queue without bound", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept().then(async (tcp) => {
    const peer = new FrameConn(tcp);
    await peer.accept(secret, "T"); // then never read
    return peer;
  });
  const conn = new FrameConn(
    await Deno.connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port }),
  );
  await conn.authenticate(secret);
  const peer = await accepted;
  try {
    const big = "x".repeat(1 << 20);
    const sends: Promise<unknown>[] = [];
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

Deno.test("PeerLink: a wrong secret is refused by the node, and told why", async () => {
  const server = echoServer(() => 0);
  try {
    using link = new PeerLink({ hostname: "127.0.0.1", port: server.port, secret: wrongSecret });
    await assert.rejects(
      link.request({ n: 1 }, 1000),
      /refused this connection: authentication failed: its proof of the cluster secret is wrong/,
    );
    assert.equal(await link.notify({ n: 2 }, 1000), false);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.refusals.length, 2);
    assert.match(server.refusals[0]!, /proof of the cluster secret is wrong/);
    using right = new PeerLink({ hostname: "127.0.0.1", port: server.port, secret });
    assert.equal((await right.request({ n: 3 }, 1000)).n, 3, "the node serves the others");
  } finally {
    await server.close();
  }
});

/** Connects raw, reads the hello, and returns the socket with a reader for what follows. */
async function rawClient(port: number) {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  const reader = new FrameReader();
  const buffer = new Uint8Array(65536);
  const pending: unknown[] = [];
  const next = async (): Promise<unknown> => {
    while (pending.length === 0) {
      const n = await tcp.read(buffer);
      if (n === null) return null;
      pending.push(...reader.push(buffer.subarray(0, n)).map(decodeJson));
    }
    return pending.shift();
  };
  return { tcp, next, hello: await next() as Record<string, unknown> };
}

Deno.test("FrameConn.accept: a peer without the secret gets one error and the connection closed", async () => {
  const server = echoServer(() => 0);
  try {
    // Forged gossip sent as the first frame, as an attacker would.
    const forger = await rawClient(server.port);
    assert.equal(forger.hello.type, "hello");
    await forger.tcp.write(encodeFrame({
      type: "gossip",
      from: "C",
      entries: [{ key: "x", node: "B", likes: 9007199254740991 }],
      as_of: { B: 1e15 },
    }));
    const refusal = await forger.next() as Record<string, unknown>;
    assert.equal(refusal.type, "error");
    assert.match(
      String(refusal.message),
      /authentication failed: the first frame was not an auth frame/,
    );
    assert.equal(await forger.next(), null, "then the node closes the connection");
    forger.tcp.close();

    // An auth frame with a made-up proof.
    const guesser = await rawClient(server.port);
    await guesser.tcp.write(encodeFrame({ type: "auth", nonce: "A".repeat(22), proof: "x" }));
    assert.match(String((await guesser.next() as Record<string, unknown>).message), /proof/);
    assert.equal(await guesser.next(), null);
    guesser.tcp.close();

    // An oversized first frame is refused from its header.
    const flooder = await rawClient(server.port);
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, 1 << 20);
    await flooder.tcp.write(header);
    assert.match(
      String((await flooder.next() as Record<string, unknown>).message),
      /limit is 1024/,
    );
    flooder.tcp.close();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.refusals.length, 3, server.refusals.join("\n"));
  } finally {
    await server.close();
  }
});

Deno.test("FrameConn.accept: a peer that never completes the handshake is closed at its deadline", async () => {
  const server = echoServer(() => 0, 150);
  try {
    const silent = await rawClient(server.port);
    const started = performance.now();
    const refusal = await silent.next() as Record<string, unknown> | null;
    assert.equal(refusal, null, "closed without a word: the deadline passed");
    const took = performance.now() - started;
    assert.ok(took >= 100 && took < 2000, `closed after ${took} ms`);
    silent.tcp.close();
    await new Promise((r) => setTimeout(r, 20));
    assert.match(server.refusals[0]!, /no handshake within 150 ms/);
  } finally {
    await server.close();
  }
});

Deno.test("FrameConn.authenticate: a server that does not prove the secret is not trusted", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const impostor = listener.accept().then(async (tcp) => {
    const conn = new FrameConn(tcp);
    await conn.accept(wrongSecret, "T").catch(() => {});
    conn.close();
  });
  const conn = new FrameConn(
    await Deno.connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port }),
  );
  try {
    await assert.rejects(conn.authenticate(secret), AuthError);
    assert.equal(conn.closed, true);
    await assert.rejects(conn.send({}), AuthError, "nothing is sent unauthenticated");
  } finally {
    conn.close();
    await impostor;
    listener.close();
  }
});

Deno.test("PeerLink: a request too large for a frame fails alone; the others on the link go on", async () => {
  const server = echoServer((n) => (n === 1 ? 100 : 0));
  try {
    using link = new PeerLink({ hostname: "127.0.0.1", port: server.port, secret });
    const slow = link.request({ n: 1 }, 2000);
    await assert.rejects(
      link.request({ n: 2, big: "x".repeat(17 * 1024 * 1024) }, 2000),
      /Cannot send a frame of \d+ bytes: the limit is 16777216/,
    );
    assert.equal((await slow).n, 1, "the request in flight got its reply");
    assert.equal((await link.request({ n: 3 }, 1000)).n, 3);
  } finally {
    await server.close();
  }
});
