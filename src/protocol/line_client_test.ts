import assert from "node:assert/strict";
import { LineClient, ReplyTimeoutError, requestOnce } from "./line_client.ts";

/** A server on 127.0.0.1 that hands each connection to `serve`. */
function server(serve: (conn: Deno.Conn) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const served: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      served.push(serve(conn).catch(() => {}));
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting.catch(() => {});
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Closed already.
        }
      }
      await Promise.all(served);
    },
  };
}

const write = (conn: Deno.Conn, text: string) => conn.write(new TextEncoder().encode(text));

Deno.test("LineClient reads replies split across packets and several in one, with \\n or \\r\\n", async () => {
  await using s = server(async (conn) => {
    const buffer = new Uint8Array(256);
    await conn.read(buffer);
    await write(conn, "AC");
    await new Promise((r) => setTimeout(r, 20)); // a reply split by the network
    await write(conn, "K\r\nACK seq=2\nACK seq=3\n");
  });
  using client = await LineClient.connect({ port: s.port });
  assert.equal(await client.request("LikesServer1 1"), "ACK");
  assert.deepEqual([await client.readLine(), await client.readLine()], ["ACK seq=2", "ACK seq=3"]);
});

Deno.test("LineClient.pipeline() sends every line at once and returns the replies in order", async () => {
  await using s = server(async (conn) => {
    const buffer = new Uint8Array(1024);
    let seen = "";
    while (seen.split("\n").length <= 3) {
      const n = await conn.read(buffer);
      if (n === null) return;
      seen += new TextDecoder().decode(buffer.subarray(0, n));
    }
    await write(conn, seen.trim().split("\n").map((line) => `got ${line}\n`).join(""));
  });
  using client = await LineClient.connect({ port: s.port });
  assert.deepEqual(await client.pipeline(["a", "b", "c"]), ["got a", "got b", "got c"]);
});

Deno.test("LineClient: a silent server is a ReplyTimeoutError, a close before the reply UnexpectedEof", async () => {
  await using silent = server(async (conn) => {
    await conn.read(new Uint8Array(64));
  });
  using waiting = await LineClient.connect({ port: silent.port, replyTimeoutMs: 100 });
  await assert.rejects(waiting.request("STATS"), ReplyTimeoutError);

  await using closing = server(async (conn) => {
    await conn.read(new Uint8Array(64));
    conn.close();
  });
  await assert.rejects(requestOnce({ port: closing.port }, "STATS"), Deno.errors.UnexpectedEof);
});

Deno.test("LineClient refuses a reply longer than maxReplyBytes instead of buffering it", async () => {
  await using s = server(async (conn) => {
    await conn.read(new Uint8Array(64));
    await write(conn, "x".repeat(5000));
  });
  using client = await LineClient.connect({ port: s.port, maxReplyBytes: 1000 });
  await assert.rejects(client.request("STATS"), RangeError);
});
