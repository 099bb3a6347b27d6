/**
 * Two Workers, 100 concurrent connections × 100 messages: the total is exact.
 */

import assert from "node:assert/strict";
import { startServer } from "../src/launch/processes.ts";
import { randomInt, seededRandom } from "../src/base/random.ts";
import { LineConn, readLines, stats, tempDir } from "./_helpers.ts";

const CONNECTIONS = 100;
const MESSAGES = 100;

Deno.test("server.ts with 2 Workers counts 100 connections × 100 messages exactly", async () => {
  await using dir = await tempDir();
  await using server = await startServer({ logDir: dir.path, workers: 2 });
  const random = seededRandom(2026);
  const plans = Array.from({ length: CONNECTIONS }, (_, c) => ({
    name: c % 2 === 0 ? `LikesServer${1000 + c}` : `load-${c}`,
    keyed: c % 2 === 1,
    pipelined: c % 4 >= 2,
    likes: Array.from({ length: MESSAGES }, () => randomInt(random, 0, 42)),
  }));
  const lines = (plan: (typeof plans)[number]) =>
    plan.likes.map((
      n,
      i,
    ) => (plan.keyed
      ? `LIKE ${plan.name} ${i + 1} ${n}`
      : `LikesServer${plan.name.slice(11)} ${n}`)
    );

  await Promise.all(plans.map(async (plan) => {
    using conn = await LineConn.open(server.port);
    if (plan.pipelined) {
      await conn.send(lines(plan).map((l) => `${l}\n`).join(""));
      for (let i = 0; i < MESSAGES; i++) assert.match(await conn.line(), /^ACK/);
    } else {
      for (const line of lines(plan)) assert.match(await conn.request(line), /^ACK/);
    }
  }));

  const s = await stats(server.port);
  const expected = Object.fromEntries(
    plans.map((p) => [p.name, p.likes.reduce((a, b) => a + b, 0)]),
  );
  assert.deepEqual(s.clients, expected);
  assert.equal(s.total, Object.values(expected).reduce((a, b) => a + b, 0));
  assert.equal(s.messages?.accepted, CONNECTIONS * MESSAGES);
  assert.equal(s.messages?.duplicates, 0);
  assert.equal(s.connections?.accepted, CONNECTIONS + 1);

  assert.equal((await server.stop()).code, 0);
  const logged = (await readLines(server.logFile)).filter((l) =>
    / likes\.server\.message /.test(l)
  );
  assert.equal(logged.length, CONNECTIONS * MESSAGES, "one log line per message");
  const finalTotal = Math.max(...logged.map((l) => Number(/total=(\d+)$/.exec(l)?.[1])));
  assert.equal(finalTotal, s.total, "the running total in the log reaches the exact total");
});
