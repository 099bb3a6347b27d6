/**
 * An indefinite error, made real: the PrimaryLikesServer reaches a real redis-server through a
 * proxy that, once armed, passes the next script call on to Redis and then closes both sides
 * without passing Redis's answer back (a reply lost after the script ran). The server must not
 * say `ERR store unavailable` (which promises nothing was counted): it answers `ERR store
 * unknown`, a keyed retry is then counted once (a duplicate), and the classic like was counted
 * once, by the script that ran. Skipped, with the reason printed, where redis-server is missing.
 */

import assert from "node:assert/strict";
import { PROJECT, startServer } from "../src/launch/processes.ts";
import { parseEdgeReport } from "../src/protocol/edge_report.ts";
import { edgeLogFile } from "../src/edge/run_likes_server.ts";
import { LineClient } from "../src/protocol/line_client.ts";
import { redisMissing, startRedis } from "../src/launch/redis_process.ts";
import { nameIfSkipped, runDeno, stats, tempDir } from "./_helpers.ts";
import { replyLosingProxy } from "./_reply_losing_proxy.ts";

const missing = redisMissing();
if (missing) Deno.stderr.writeSync(new TextEncoder().encode(`redis tests skipped: ${missing}\n`));

/** Redis, the proxy to it, and a primary (one Worker) that reaches Redis through the proxy. */
async function primaryThroughProxy() {
  const dir = await tempDir();
  const redis = await startRedis({});
  const proxy = replyLosingProxy(redis.port);
  const server = await startServer({
    logDir: dir.path,
    workers: 1,
    grants: ["--allow-env=REDIS_DEBUG_MAINTENANCE"],
    args: [`--store=redis://127.0.0.1:${proxy.port}`],
  }).catch(async (error) => {
    await proxy[Symbol.asyncDispose]();
    await redis[Symbol.asyncDispose]();
    await dir[Symbol.asyncDispose]();
    throw error;
  });
  return {
    dir,
    proxy,
    server,
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
      await proxy[Symbol.asyncDispose]();
      await redis[Symbol.asyncDispose]();
      await dir[Symbol.asyncDispose]();
    },
  };
}

Deno.test({
  name: nameIfSkipped(
    "--store redis: a reply lost after the script ran is `ERR store unknown`, and a keyed retry counts once",
    missing,
  ),
  ignore: missing !== null,
  async fn() {
    await using setup = await primaryThroughProxy();
    const { dir, proxy, server } = setup;
    using client = await LineClient.connect({ port: server.port, replyTimeoutMs: 5000 });
    /** Sends `line` until the server, reconnected to Redis, acknowledges it. */
    const untilAck = async (line: string) => {
      let reply = "";
      for (let i = 0; i < 50 && !reply.startsWith("ACK"); i++) {
        await new Promise((r) => setTimeout(r, 100));
        reply = await client.request(line);
      }
      return reply;
    };
    assert.match(await client.request("LIKE k 1 5"), /^ACK seq=1 client=5 /);

    proxy.arm();
    const lost = await client.request("LIKE k 2 5");
    assert.equal(proxy.cuts(), 1);
    assert.match(lost, /^ERR store unknown: /, "not 'unavailable': the script may have run");
    // Sent again, as a LikesServer does with a keyed message: the script had run, so it is a
    // duplicate, counted once.
    assert.equal(await untilAck("LIKE k 2 5"), "ACK seq=2 client=10 total=10 dup");

    // A classic like once through (Redis learns that script), then one whose answer is lost.
    assert.equal(await client.request("LikesServer7 3"), "ACK");
    proxy.arm();
    assert.match(await client.request("LikesServer7 3"), /^ERR store unknown: /);
    assert.equal(proxy.cuts(), 2);
    // (`total=` is this primary's view: it never saw the lost answer's bucket total.)
    assert.match(await untilAck("LIKE k 3 1"), /^ACK seq=3 client=11 total=\d+$/);
    const counted = await stats(server.port);
    assert.equal(counted.clients.LikesServer7, 6, "the classic like whose answer was lost counted");
    assert.equal(counted.total, 17);
    assert.equal(counted.messages?.unknown, 2);

    const log = await Deno.readTextFile(`${dir.path}/PrimaryLikesLog`);
    assert.match(log, /store outcome unknown for "LIKE k 2 5" from 127\.0\.0\.1:\d+: /);
    assert.match(log, /store outcome unknown for "LikesServer7 3" from 127\.0\.0\.1:\d+: /);
  },
});

Deno.test({
  name: nameIfSkipped(
    "LikesServers meet ERR store unknown: keyed ones resend (counted once), classic ones do not (--retry safe)",
    missing,
  ),
  ignore: missing !== null,
  async fn() {
    await using setup = await primaryThroughProxy();
    const { dir, proxy, server } = setup;
    {
      // Redis learns both scripts first (a lost NOSCRIPT answer would mean nothing ran).
      using client = await LineClient.connect({ port: server.port, replyTimeoutMs: 5000 });
      assert.equal(await client.request("LikesServer90 1"), "ACK");
      assert.match(await client.request("LIKE warm 1 1"), /^ACK /);
    }
    /** One LikesServer for a second; the proxy loses one answer 300 ms in. */
    const run = async (id: number, protocol: "keyed" | "classic") => {
      const logDir = `${dir.path}/edge-${id}`;
      await Deno.mkdir(logDir);
      const armed = setTimeout(() => proxy.arm(), 300);
      const result = await runDeno([
        "run",
        "--no-prompt",
        `--allow-net=127.0.0.1:${server.port}`,
        `--allow-write=${logDir}`,
        PROJECT.likesServer,
        `--id=${id}`,
        `--port=${server.port}`,
        `--log-dir=${logDir}`,
        `--protocol=${protocol}`,
        "--duration=1",
        "--min-interval=0.02",
        "--max-interval=0.05",
        "--report-json",
        "--quiet",
      ], 30_000);
      clearTimeout(armed);
      const report = parseEdgeReport(result.stdout.trim().split("\n").at(-1)!)!;
      const log = await Deno.readTextFile(edgeLogFile(logDir, id));
      return { report, log };
    };

    const cutsBefore = proxy.cuts();
    const keyed = await run(1, "keyed");
    assert.equal(proxy.cuts(), cutsBefore + 1, "one answer was lost");
    assert.equal(keyed.report.unanswered, 0);
    assert.equal(keyed.report.acknowledged, keyed.report.generated, "resent until acknowledged");
    const keyedCount = (await stats(server.port)).clients[keyed.report.clientId];
    assert.equal(keyedCount, keyed.report.generated, "counted once, the lost one included");

    const classic = await run(2, "classic");
    assert.equal(proxy.cuts(), cutsBefore + 2);
    assert.ok(classic.report.unanswered > 0, "the lost one is sent without an answer");
    assert.equal(classic.report.acknowledged + classic.report.unanswered, classic.report.generated);
    const classicCount = (await stats(server.port)).clients.LikesServer2; // a classic message names LikesServer<N>
    assert.equal(
      classicCount,
      classic.report.generated,
      "its script ran: counted once, not resent",
    );
    assert.match(
      classic.log,
      /ERR store unknown.*counted as sent without an answer, not sent again/,
    );
  },
});
