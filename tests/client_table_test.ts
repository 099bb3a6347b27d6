/**
 * The client table with real server processes: a full table is a clear, temporary condition
 * (clients idle longer than `--client-ttl` are forgotten, and their room reused), when a client
 * was last seen survives a restart, and a data directory with more active clients than
 * `--max-clients` is refused in one line naming both numbers.
 */

import assert from "node:assert/strict";
import { serverArgs, startServer } from "../src/launch/processes.ts";
import { freePort, LineConn, readLines, runDeno, stats, tempDir } from "./_helpers.ts";

const FULL = /^ERR client table full \(3 clients\); retry later, idle clients are forgotten$/;

Deno.test("server.ts forgets clients idle longer than --client-ttl, so a full table is temporary", async () => {
  await using dir = await tempDir();
  await using server = await startServer({
    logDir: dir.path,
    workers: 2,
    args: ["--max-clients=3", "--client-ttl=1"],
  });
  using conn = await LineConn.open(server.port);
  for (const client of ["a", "b", "c"]) {
    assert.match(await conn.request(`LIKE ${client} 1 5`), /^ACK seq=1 /);
  }
  assert.match(await conn.request("LIKE d 1 5"), FULL);
  assert.match(await conn.request("LikesServer4 5"), FULL, "classic names need room too");
  // Keep "c" active while the others go idle.
  const deadline = Date.now() + 10_000;
  let reply = "";
  for (let seq = 2; Date.now() < deadline; seq++) {
    assert.match(await conn.request(`LIKE c ${seq} 1`), /^ACK /);
    reply = await conn.request("LIKE d 1 5");
    if (reply.startsWith("ACK")) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(reply, /^ACK seq=1 client=5 /, "room again once idle clients were forgotten");
  // "a" and "b" went idle a few ms apart, so one sweep may forget only the first: wait for both.
  let s = await stats(server.port);
  while (Object.keys(s.clients).length > 2 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    s = await stats(server.port);
  }
  assert.deepEqual(Object.keys(s.clients).sort(), ["c", "d"]);
  assert.equal(s.total, 20 + (s.clients.c! - 5), "forgotten clients' likes stay in the total");
  assert.match(await conn.request("LIKE a 2 1"), /^ERR out of order: seq 2, expected 1$/);
  conn.close();
  await server.stop();
  const forgotten = (await readLines(server.logFile)).flatMap((l) =>
    /forgot \d+ client\(s\) idle longer than --client-ttl \(1 s\): (.*)$/.exec(l)?.[1]?.split(
      ", ",
    ) ?? []
  );
  assert.deepEqual(forgotten.sort(), ["a", "b"]);
});

Deno.test("server.ts keeps when clients were last seen across a restart, and forgets them on time", async () => {
  await using dir = await tempDir();
  const dataDir = `${dir.path}/data`;
  {
    await using server = await startServer({ logDir: dir.path, dataDir, workers: 1 });
    using conn = await LineConn.open(server.port);
    assert.match(await conn.request("LIKE sleeper 1 7"), /^ACK /);
    assert.equal(await conn.request("LikesServer3 2"), "ACK");
    conn.close();
    await server.stop();
  }
  await new Promise((r) => setTimeout(r, 2100));
  await using server = await startServer({
    logDir: dir.path,
    dataDir,
    workers: 1,
    args: ["--client-ttl=2"],
  });
  const s = await stats(server.port);
  assert.deepEqual(s.clients, {}, "both were idle 2 s, counting the time the server was down");
  assert.equal(s.total, 9);
  await server.stop();
  assert.ok(
    (await readLines(server.logFile)).some((l) =>
      /recovered 0 client\(s\), total 9 likes .*; forgot 2 client\(s\) idle longer than --client-ttl$/
        .test(l)
    ),
  );
});

Deno.test("server.ts refuses to start with fewer --max-clients than its data directory holds, naming both", async () => {
  await using dir = await tempDir();
  const dataDir = `${dir.path}/data`;
  {
    await using server = await startServer({ logDir: dir.path, dataDir, workers: 1 });
    using conn = await LineConn.open(server.port);
    for (let i = 0; i < 5; i++) assert.match(await conn.request(`LIKE c${i} 1 1`), /^ACK /);
    conn.close();
    await server.stop();
  }
  const run = await runDeno(
    serverArgs({ logDir: dir.path, dataDir, port: freePort(), args: ["--max-clients=3"] }),
    20_000,
  );
  assert.equal(run.code, 1);
  assert.equal(
    run.stderr.trim().split("\n").filter((l) => l.startsWith("error:")).join("\n"),
    `error: Cannot start: ${dataDir} holds 5 clients active within --client-ttl, but --max-clients is 3; start with --max-clients 5 or more`,
  );
  assert.equal(run.stdout, "");
});
