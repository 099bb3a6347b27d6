import assert from "node:assert/strict";
import { ClassicSender } from "./classic_sender.ts";
import type { SenderOptions } from "./exchange.ts";

/**
 * A classic server on 127.0.0.1 that handles each connection with `serve` (as the exercise's C
 * servers do: answer and close, answer padded and stay, never answer) and keeps what it read.
 */
function classicServer(serve: (conn: Deno.Conn, received: string) => Promise<"close" | "keep">) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received: string[] = [];
  const open: Deno.Conn[] = [];
  let connections = 0;
  const served = (async () => {
    for await (const conn of listener) {
      connections++;
      open.push(conn);
      (async () => {
        const buffer = new Uint8Array(1024);
        while (true) {
          const n = await conn.read(buffer).catch(() => null);
          if (n === null) break;
          const text = new TextDecoder().decode(buffer.subarray(0, n));
          received.push(text);
          if (await serve(conn, text) === "close") break;
        }
        try {
          conn.close();
        } catch {
          // The client closed it first.
        }
      })();
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    received,
    connections: () => connections,
    async [Symbol.asyncDispose]() {
      listener.close();
      await served.catch(() => {});
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // Closed already.
        }
      }
    },
  };
}

const write = (conn: Deno.Conn, text: string) => conn.write(new TextEncoder().encode(text));

function options(port: number, overrides: Partial<SenderOptions> = {}): SenderOptions {
  return {
    servers: [{ host: "127.0.0.1", port }],
    connectTimeoutMs: 1000,
    replyTimeoutMs: 300,
    protocol: "classic",
    connection: "persistent",
    ack: "prefix",
    ...overrides,
  };
}

Deno.test("ClassicSender: a server that answers ACK and closes gets each message over a new connection", async () => {
  await using server = classicServer(async (conn) => {
    await write(conn, "ACK");
    return "close";
  });
  using sender = new ClassicSender(options(server.port, { connection: "per-message" }));
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await sender.exchange("LikesServer3 14"), {
      kind: "acknowledged",
      reply: "ACK",
    });
  }
  assert.deepEqual(server.received, [
    "LikesServer3 14\n",
    "LikesServer3 14\n",
    "LikesServer3 14\n",
  ]);
  assert.equal(server.connections(), 3);
});

Deno.test("ClassicSender: a reply padded with NULs is read up to the padding, and the rest is not the next reply", async () => {
  await using server = classicServer(async (conn, text) => {
    // The C server's fixed-size buffer: the reply, then NULs, in two writes.
    await write(conn, text.startsWith("LikesServer1 1") ? "ACK\0\0\0" : "ERR nope\0\0");
    await write(conn, "\0\0\0\0");
    return "keep";
  });
  using sender = new ClassicSender(options(server.port));
  assert.deepEqual(await sender.exchange("LikesServer1 1"), {
    kind: "acknowledged",
    reply: "ACK",
  });
  assert.deepEqual(await sender.exchange("LikesServer1 2"), {
    kind: "rejected",
    reply: "ERR nope",
  });
  assert.equal(server.connections(), 1, "the connection stayed open");
});

Deno.test("ClassicSender: silence, a close without a reply and a refused connection are told apart", async () => {
  await using silent = classicServer(() => Promise.resolve("keep"));
  using waiting = new ClassicSender(options(silent.port));
  const unanswered = await waiting.exchange("LikesServer1 1");
  assert.equal(unanswered.kind, "unanswered", "sent: the server may have counted it");
  assert.match((unanswered as { why: string }).why, /no reply within 0.3 s/);

  await using closing = classicServer(() => Promise.resolve("close"));
  using closed = new ClassicSender(options(closing.port));
  assert.deepEqual(await closed.exchange("LikesServer1 1"), {
    kind: "unanswered",
    why: "the server closed the connection without a reply",
  });
  using noAck = new ClassicSender(options(closing.port, { ack: "none" }));
  assert.equal((await noAck.exchange("LikesServer1 1")).kind, "acknowledged", "--ack none");

  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (free.addr as Deno.NetAddr).port;
  free.close();
  using refused = new ClassicSender(options(port));
  const unsent = await refused.exchange("LikesServer1 1");
  assert.equal(unsent.kind, "unsent", "nothing reached a server: safe to send again");
});

Deno.test("ClassicSender: a reply that is neither ACK nor ERR is not an acknowledgement under --ack prefix", async () => {
  await using server = classicServer(async (conn) => {
    await write(conn, "OK thanks\n");
    return "keep";
  });
  using strict = new ClassicSender(options(server.port));
  const outcome = await strict.exchange("LikesServer1 1");
  assert.equal(outcome.kind, "unanswered");
  assert.match(
    (outcome as { why: string }).why,
    /"OK thanks" is not an acknowledgement \(--ack prefix\)/,
  );
  using any = new ClassicSender(options(server.port, { ack: "any" }));
  assert.deepEqual(await any.exchange("LikesServer1 1"), {
    kind: "acknowledged",
    reply: "OK thanks",
  });
});
