/**
 * The PrimaryLikesServer over Redis (`--store redis://HOST:PORT`), as real processes: a real
 * redis-server on a free port, the server with the grants that store needs, a ParentProcess with
 * LikesServers that converge (counted read back through the server's STATS, from Redis); with
 * Redis gone the server answers `ERR store unavailable` and never an ACK, and once Redis is back
 * (its append-only file kept every acknowledged like) the same messages are acknowledged.
 * Skipped, with the reason printed, where redis-server is missing.
 */

import assert from "node:assert/strict";
import { parentArgs, startServer } from "../src/launch/processes.ts";
import type { RunReport } from "../src/parent/run_report.ts";
import { LineClient } from "../src/protocol/line_client.ts";
import { redisMissing, startRedis, startRedisCluster } from "../src/launch/redis_process.ts";
import { nameIfSkipped, runDeno, stats, tempDir } from "./_helpers.ts";
import { twoPrimaries, type TwoPrimariesRun } from "./_two_primaries.ts";

/** Half the LikesServers lose their primary mid-run: `a` is killed; they move to `b`. */
const killingA = (store: string, logDir: string): TwoPrimariesRun => ({
  store,
  logDir,
  children: 6,
  seconds: 2,
  faultAtMs: 900,
  fault: async (a) => void await a.stop("SIGKILL"),
});

const missing = redisMissing();
if (missing) Deno.stderr.writeSync(new TextEncoder().encode(`redis tests skipped: ${missing}\n`));

Deno.test({
  name: nameIfSkipped(
    "server.ts --store redis: LikesServers converge, counted in Redis; Redis down → ERR, back → ACK",
    missing,
  ),
  ignore: missing !== null,
  async fn() {
    await using dir = await tempDir();
    const redisDir = `${dir.path}/redis`;
    await Deno.mkdir(redisDir);
    let redis = await startRedis({ appendfsync: "always", dir: redisDir });
    try {
      await using server = await startServer({
        logDir: dir.path,
        workers: 2,
        grants: ["--allow-env=REDIS_DEBUG_MAINTENANCE"],
        args: [`--store=redis://127.0.0.1:${redis.port}`],
      });
      const run = await runDeno(
        parentArgs({
          port: server.port,
          logDir: dir.path,
          args: [
            "--children=4",
            "--stagger=0.05",
            "--duration=1.5",
            "--min-interval=0.05",
            "--max-interval=0.2",
            "--json",
          ],
        }),
        60_000,
      );
      assert.equal(run.code, 0, run.stderr);
      const report: RunReport = JSON.parse(run.stdout);
      assert.equal(report.converged, true, report.verdict);
      assert.equal(report.totals.counted, report.totals.generated);
      assert.equal((await stats(server.port)).total, report.totals.generated);

      // Redis goes away: no ACK for a like that was not stored.
      using client = await LineClient.connect({ port: server.port, replyTimeoutMs: 5000 });
      assert.match(await client.request("LIKE after 1 5"), /^ACK seq=1 /);
      await redis.stop("SIGKILL");
      // The first call may be written before the primary has seen the connection close: then
      // its answer is lost, and the primary cannot know whether it ran (`unknown`).
      assert.match(await client.request("LIKE after 2 5"), /^ERR store (unavailable$|unknown: )/);
      assert.equal(await client.request("LIKE after 2 5"), "ERR store unavailable");
      assert.equal(await client.request("LikesServer1 3"), "ERR store unavailable");
      // Pipelined, each refusal names its own message (the answers come after later frames).
      assert.deepEqual(await client.pipeline(["LIKE p 1 1", "LIKE q 1 2", "LIKE r 1 3"]), [
        "ERR store unavailable",
        "ERR store unavailable",
        "ERR store unavailable",
      ]);
      // Back on the same port and files: every acknowledged like is there, and the retry counts.
      redis = await startRedis({ appendfsync: "always", dir: redisDir, port: redis.port });
      let reply = "";
      for (let i = 0; i < 50 && !reply.startsWith("ACK"); i++) {
        await new Promise((r) => setTimeout(r, 100)); // the server reconnects on its own
        reply = await client.request("LIKE after 2 5");
      }
      assert.match(reply, /^ACK seq=2 client=10 total=\d+$/);
      assert.equal((await stats(server.port)).total, report.totals.generated + 10);
      const log = await Deno.readTextFile(`${dir.path}/PrimaryLikesLog`);
      assert.match(log, /store unavailable for "LIKE after 2 5" from 127\.0\.0\.1:\d+: /);
      await server.stop();
      const stopped = await Deno.readTextFile(`${dir.path}/PrimaryLikesLog`);
      assert.match(stopped, /stopped: counts in Redis at 127\.0\.0\.1:\d+, \d+ accepted/);
      for (const line of ["LIKE p 1 1", "LIKE q 1 2", "LIKE r 1 3"]) {
        assert.ok(log.includes(`store unavailable for "${line}" from`), line);
      }
    } finally {
      await redis.stop();
    }
  },
});

Deno.test({
  name: nameIfSkipped(
    "two primaries over one Redis: one is killed mid-run, its LikesServers move to the other, all converge",
    missing,
  ),
  ignore: missing !== null,
  async fn() {
    await using dir = await tempDir();
    await using redis = await startRedis({ appendfsync: "always" });
    await twoPrimaries(killingA(`redis://127.0.0.1:${redis.port}`, dir.path));
  },
});

Deno.test({
  name: nameIfSkipped(
    "two primaries over a 3-master Redis Cluster: one is killed mid-run, all converge",
    missing,
  ),
  ignore: missing !== null,
  async fn() {
    await using dir = await tempDir();
    await using cluster = await startRedisCluster();
    await twoPrimaries(killingA(`redis-cluster://127.0.0.1:${cluster.port}`, dir.path));
  },
});
