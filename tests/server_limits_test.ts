/**
 * No client holds a server resource forever: a client that stops reading is disconnected after
 * `--write-timeout` (and dropped as idle only once), `--max-connections` refuses the surplus with
 * `ERR too many connections`, and `STATS` stays bounded with thousands of clients in the table.
 */

import assert from "node:assert/strict";
import { startServer } from "../src/launch/processes.ts";
import { parseStats, STATS_MAX_CLIENTS } from "../src/protocol/stats.ts";
import {
  bytes,
  closeQuietly,
  exchange,
  LineConn,
  readLines,
  readUntil,
  stats,
  tempDir,
  until,
  writeAll,
} from "./_helpers.ts";

/** Registers `count` keyed clients `c0..` (one like each) over one connection. */
async function fillClients(port: number, count: number): Promise<void> {
  const lines = Array.from({ length: count }, (_, i) => `LIKE c${i} 1 1\n`).join("");
  const reply = await exchange(port, lines, { halfClose: true, timeoutMs: 10_000 });
  assert.equal(reply.split("\n").filter((l) => l.startsWith("ACK")).length, count);
}

Deno.test("server.ts disconnects a client that takes no replies, once, and keeps serving others", async () => {
  await using dir = await tempDir();
  await using server = await startServer({
    logDir: dir.path,
    workers: 1,
    args: ["--idle-timeout=0.3", "--write-timeout=1", "--reply-buffer-bytes=4096"],
  });
  await fillClients(server.port, 1500); // each STATS reply is now about 20 KB
  const silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const silentPeer = `127.0.0.1:${(silent.localAddr as Deno.NetAddr).port}`;
  const greedy = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const peer = `127.0.0.1:${(greedy.localAddr as Deno.NetAddr).port}`;
  try {
    // 5,000 pipelined STATS (about 100 MB of replies) and never a read.
    await writeAll(greedy, bytes("STATS\n".repeat(5000)));
    const other = await exchange(server.port, "LikesServer1 1\n", { expectBytes: 4 });
    assert.equal(other, "ACK\n", `other clients are served meanwhile: ${JSON.stringify(other)}`);
    await until("the greedy client is disconnected", async () => {
      const { connections } = await stats(server.port);
      return connections?.open === 1; // only the STATS connection asking
    });
    const { memory } = await stats(server.port);
    assert.ok(memory!.rss < 300 * 2 ** 20, `server RSS ${memory!.rss} bytes stays bounded`);
    assert.equal(await readUntil(silent, Infinity, 3000), "ERR idle timeout\n", "then EOF");
  } finally {
    closeQuietly(greedy);
    closeQuietly(silent);
  }
  await server.stop();
  const lines = await readLines(server.logFile);
  const closed = lines.filter((l) =>
    l.includes(`Connection from ${peer} closed: it took no replies`)
  );
  const idle = lines.filter((l) => l.includes(`Idle connection from ${peer} dropped`));
  assert.equal(
    closed.length,
    1,
    `the write deadline closed it, and said so once: ${
      lines.filter((l) => l.includes(peer)).slice(0, 5).join("\n")
    }`,
  );
  assert.equal(
    idle.length,
    0,
    "a client stuck on its replies is not idle: the deadline handles it",
  );
  assert.equal(
    lines.filter((l) => l.includes(`Idle connection from ${silentPeer} dropped`)).length,
    1,
    "a silent client is dropped once",
  );
});

Deno.test("server.ts refuses connections past --max-connections with ERR too many connections", async () => {
  await using dir = await tempDir();
  await using server = await startServer({
    logDir: dir.path,
    workers: 2,
    args: ["--max-connections=3"],
  });
  using a = await LineConn.open(server.port);
  using b = await LineConn.open(server.port);
  using c = await LineConn.open(server.port);
  for (const conn of [a, b, c]) assert.equal(await conn.request("LikesServer5 1"), "ACK");
  assert.equal(
    await exchange(server.port, "LikesServer5 1\n", { timeoutMs: 3000 }),
    "ERR too many connections\n",
    "the fourth gets the error, then EOF",
  );
  for (const conn of [a, b]) assert.equal(await conn.request("LikesServer5 1"), "ACK");
  const refused = parseStats(await c.request("STATS"));
  assert.equal(refused.connections?.refused, 1);
  assert.equal(refused.clients.LikesServer5, 5, "the refused message was not counted");
  a.close();
  await until("a slot is free again", async () => {
    return (await exchange(server.port, "LikesServer5 1\n", { expectBytes: 4 })) === "ACK\n";
  });
  await server.stop();
  assert.ok(
    (await readLines(server.logFile)).some((l) =>
      /Refused connection from 127\.0\.0\.1:\d+: too many connections \(3 open, max 3\)/.test(l)
    ),
  );
});

Deno.test("server.ts answers STATS boundedly with thousands of clients, pipelined or asked by name", async () => {
  await using dir = await tempDir();
  await using server = await startServer({ logDir: dir.path, workers: 1 });
  await fillClients(server.port, 3000);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await writeAll(conn, bytes("STATS\n".repeat(200) + "STATS c7 c2999 nobody\n"));
    await conn.closeWrite();
    const replies = (await readUntil(conn, Infinity, 20_000)).split("\n").filter((l) => l);
    assert.equal(replies.length, 201, "every pipelined STATS is answered, in order");
    for (const reply of replies.slice(0, 200)) {
      const s = parseStats(reply);
      assert.equal(s.clientCount, 3000);
      assert.equal(Object.keys(s.clients).length, STATS_MAX_CLIENTS);
      assert.ok(reply.length < 80_000, `one STATS reply is ${reply.length} bytes`);
    }
    assert.deepEqual(parseStats(replies[200]!).clients, { c7: 1, c2999: 1 });
  } finally {
    closeQuietly(conn);
  }
});
