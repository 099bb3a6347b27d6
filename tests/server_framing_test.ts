/**
 * Every classic framing against a real server process: each message counted exactly once and
 * answered in the framing it came in.
 */

import assert from "node:assert/strict";
import { startServer } from "../src/launch/processes.ts";
import { exchange, LineConn, readLines, stats, tempDir } from "./_helpers.ts";

Deno.test("server.ts counts every classic framing exactly once and answers in its framing", async (t) => {
  await using dir = await tempDir();
  await using server = await startServer({ logDir: dir.path, workers: 2 });
  const { port } = server;
  const expected: Record<string, number> = {};

  await t.step("LF-terminated → ACK\\n", async () => {
    assert.equal(await exchange(port, "LikesServer101 5\n", { expectBytes: 4 }), "ACK\n");
    expected.LikesServer101 = 5;
  });

  await t.step("CRLF-terminated → ACK\\r\\n", async () => {
    assert.equal(await exchange(port, "LikesServer102 6\r\n", { expectBytes: 5 }), "ACK\r\n");
    expected.LikesServer102 = 6;
  });

  await t.step("no terminator, client waits → bare ACK and nothing else", async () => {
    assert.equal(
      await exchange(port, "LikesServer103 7", { expectBytes: 4, timeoutMs: 600 }),
      "ACK",
    );
    expected.LikesServer103 = 7;
  });

  await t.step("no terminator, client half-closes → bare ACK then EOF", async () => {
    assert.equal(await exchange(port, "LikesServer104 8", { halfClose: true }), "ACK");
    expected.LikesServer104 = 8;
  });

  await t.step("NUL-terminated and padded to a 64-byte buffer → ACK\\0", async () => {
    const buffer = new Uint8Array(64);
    buffer.set(new TextEncoder().encode("LikesServer105 9"));
    assert.equal(await exchange(port, buffer, { halfClose: true }), "ACK\0");
    expected.LikesServer105 = 9;
  });

  await t.step("several spaces and a tab between the fields", async () => {
    assert.equal(await exchange(port, "LikesServer106     10\n", { expectBytes: 4 }), "ACK\n");
    assert.equal(await exchange(port, "LikesServer106 \t 1\n", { expectBytes: 4 }), "ACK\n");
    expected.LikesServer106 = 11;
  });

  await t.step("many messages on one connection", async () => {
    const reply = await exchange(port, "LikesServer107 1\nLikesServer107 2\r\nLikesServer107 3\n", {
      expectBytes: 13,
    });
    assert.equal(reply, "ACK\nACK\r\nACK\n");
    expected.LikesServer107 = 6;
  });

  await t.step("back to back with no delimiter in one segment → one bare ACK each", async () => {
    const reply = await exchange(port, "LikesServer108 4LikesServer108 5LikesServer108 6", {
      halfClose: true,
    });
    assert.equal(reply, "ACKACKACK");
    expected.LikesServer108 = 15;
  });

  await t.step("one message split over several writes", async () => {
    using conn = await LineConn.open(port);
    for (const piece of ["Likes", "Server109", " 1", "2\n"]) {
      await conn.send(piece);
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(await conn.line(), "ACK");
    expected.LikesServer109 = 12;
  });

  await t.step(
    "classic C clients: one unterminated message per connection, ten times",
    async () => {
      const replies = await Promise.all(
        Array.from(
          { length: 10 },
          () => exchange(port, "LikesServer110 2", { expectBytes: 3, timeoutMs: 2000 }),
        ),
      );
      assert.deepEqual(replies, Array(10).fill("ACK"));
      expected.LikesServer110 = 20;
    },
  );

  await t.step(
    "the keyed form is counted once per (client, seq) and its ACK carries totals",
    async () => {
      using conn = await LineConn.open(port);
      assert.match(await conn.request("LIKE keyed-a 1 5"), /^ACK seq=1 client=5 total=\d+$/);
      assert.match(await conn.request("LIKE keyed-a 1 5"), /^ACK seq=1 client=5 total=\d+ dup$/);
      assert.match(await conn.request("LIKE keyed-a 2 3"), /^ACK seq=2 client=8 total=\d+$/);
      expected["keyed-a"] = 8;
    },
  );

  await t.step("STATS returns the exact per-client counts and total", async () => {
    const s = await stats(port);
    assert.deepEqual(s.clients, expected);
    assert.equal(s.total, Object.values(expected).reduce((a, b) => a + b, 0));
    assert.equal(s.messages?.rejected, 0);
    assert.equal(s.workers, 2);
  });

  const status = await server.stop();
  assert.equal(status.code, 0);
  const lines = await readLines(server.logFile);
  const messages = lines.filter((l) => / INFO likes\.server\.message /.test(l));
  assert.equal(messages.length, 27, "one log line per message: 24 classic, 3 keyed");
  assert.ok(lines.some((l) => /likes\.server\.message LikesServer108 6 total=\d+$/.test(l)));
  assert.ok(
    lines.some((l) =>
      /likes\.server\.message LIKE keyed-a 1 5 duplicate, not counted again/.test(l)
    ),
  );
});
