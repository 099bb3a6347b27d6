/**
 * Counts in Redis through a Redis failover, as real processes: Debian's redis-server as a master,
 * a replica and three Sentinels on free loopback ports (`startRedisSentinelGroup`); two
 * PrimaryLikesServers with `--store redis-sentinel://…/likes?wait=1`; a ParentProcess whose keyed
 * LikesServers use both. The master is killed with SIGKILL mid-run: the Sentinels promote the
 * replica, the primaries follow by themselves, and every like acknowledged (each confirmed on
 * the replica by `WAIT 1`) is counted, keyed clients going on without "out of order". Skipped,
 * with the reason printed, where redis-server is missing.
 */

import assert from "node:assert/strict";
import { startServer } from "../src/launch/processes.ts";
import { redisCli, redisMissing, startRedisSentinelGroup } from "../src/launch/redis_process.ts";
import { LineClient } from "../src/protocol/line_client.ts";
import { COUNT_OF_CLIENT } from "./_redis_count.ts";
import { nameIfSkipped, stats, tempDir, until } from "./_helpers.ts";
import { twoPrimaries } from "./_two_primaries.ts";
import { type ReplyLosingProxy, replyLosingProxy } from "./_reply_losing_proxy.ts";

const missing = redisMissing();
if (missing) Deno.stderr.writeSync(new TextEncoder().encode(`redis tests skipped: ${missing}\n`));

/** `master` or `slave`, as Redis names its role. */
async function role(port: number): Promise<string> {
  return (await redisCli(port, "role")).split("\n")[0]!.trim();
}

Deno.test({
  name: nameIfSkipped(
    "Sentinel: the master killed under load from two primaries; with WAIT 1 every acknowledged like is counted",
    missing,
  ),
  ignore: missing !== null,
  async fn() {
    await using dir = await tempDir();
    await using group = await startRedisSentinelGroup({ downAfterMs: 1000 });
    const store =
      `redis-sentinel://${group.sentinelAddresses}/${group.master}?wait=1&wait-timeout=0.5`;
    await twoPrimaries({
      store,
      logDir: dir.path,
      children: 4,
      seconds: 5,
      faultAtMs: 1500,
      fault: () => group.primary.stop("SIGKILL"),
    });
    const roles = await Promise.all(group.replicas.map((r) => role(r.port)));
    assert.deepEqual(roles.sort(), ["master", "slave"], "the Sentinels promoted a replica");
    const log = await Deno.readTextFile(`${dir.path}/LikesServer1`);
    assert.doesNotMatch(log, /out of order/);
  },
});

/**
 * Keyed likes acknowledged while both replicas are stopped (so the master alone has them), then
 * a failover: the master killed, the replicas let go on, one promoted. Returns which of seqs 2–4
 * the client saw acknowledged, the replies to its resends (from the first seq not acknowledged
 * through seq 5), and what the new master counted for it.
 */
async function likesAcrossALaggingFailover(query: string) {
  await using dir = await tempDir();
  await using group = await startRedisSentinelGroup({ downAfterMs: 1000 });
  await using server = await startServer({
    logDir: dir.path,
    workers: 1,
    grants: ["--allow-env=REDIS_DEBUG_MAINTENANCE"],
    args: [`--store=redis-sentinel://${group.sentinelAddresses}/${group.master}${query}`],
  });
  using client = await LineClient.connect({ port: server.port, replyTimeoutMs: 5000 });
  assert.match(await client.request("LIKE lag 1 1"), /^ACK seq=1 /);
  // Stopped, and cut off by the master (what was in flight to them is already sent), the
  // replicas get none of what follows.
  for (const replica of group.replicas) replica.signal("SIGSTOP");
  const acknowledged: number[] = [];
  try {
    await redisCli(group.primary.port, "client", "kill", "type", "replica");
    for (const seq of [2, 3, 4]) {
      if ((await client.request(`LIKE lag ${seq} 1`)).startsWith("ACK")) acknowledged.push(seq);
    }
    await group.primary.stop("SIGKILL");
  } finally {
    for (const replica of group.replicas) replica.signal("SIGCONT");
  }
  await until(
    "a replica is promoted",
    async () => (await Promise.all(group.replicas.map((r) => role(r.port)))).includes("master"),
    20_000,
  );
  // As a keyed LikesServer does: resend from the first seq not acknowledged, through seq 5.
  const first = (acknowledged.at(-1) ?? 1) + 1;
  let reply = "";
  await until("the primary reaches the new master", async () => {
    reply = await client.request(`LIKE lag ${first} 1`);
    return !reply.startsWith("ERR store");
  }, 20_000);
  const replies = [reply];
  for (let seq = first + 1; seq <= 5; seq++) {
    replies.push(await client.request(`LIKE lag ${seq} 1`));
  }
  const counted = (await stats(server.port)).clients.lag ?? 0;
  return { acknowledged, counted, replies };
}

Deno.test({
  name: nameIfSkipped(
    "Sentinel without WAIT: likes acknowledged by a master whose replicas lag are lost in a failover",
    missing,
  ),
  ignore: missing !== null,
  async fn() {
    const { acknowledged, counted, replies } = await likesAcrossALaggingFailover("");
    assert.deepEqual(acknowledged, [2, 3, 4], "acknowledged by the master alone");
    assert.equal(counted, 1, "the new master never had them: three acknowledged likes lost");
    assert.deepEqual(replies, ["ERR out of order: seq 5, expected 2"], "the client is stuck");
  },
});

Deno.test({
  name: nameIfSkipped(
    "Sentinel with WAIT 1: nothing is acknowledged that a failover can lose, and the client goes on",
    missing,
  ),
  ignore: missing !== null,
  async fn() {
    const { acknowledged, counted, replies } = await likesAcrossALaggingFailover(
      "?wait=1&wait-timeout=0.2",
    );
    assert.deepEqual(acknowledged, [], "no replica confirmed them: ERR store unknown, no ACK");
    // The client resends what was not acknowledged (keyed: each counted once) and goes on.
    // (A resend whose first try was counted but not yet confirmed is acknowledged as `dup`.)
    assert.deepEqual(replies.map((reply) => reply.replace(/ total=\d+( dup)?$/, "")), [
      "ACK seq=2 client=2",
      "ACK seq=3 client=3",
      "ACK seq=4 client=4",
      "ACK seq=5 client=5",
    ]);
    assert.equal(counted, 5);
  },
});

Deno.test({
  name: nameIfSkipped(
    "Sentinel: a classic like whose answer is lost is ERR store unknown and counted once (the client library does not run it again)",
    missing,
  ),
  ignore: missing !== null,
  async fn() {
    await using dir = await tempDir();
    // The Sentinels (and so the primary) reach the master through a proxy that can lose a reply.
    let proxy: ReplyLosingProxy | undefined;
    await using group = await startRedisSentinelGroup({
      masterSeenAt: (port) => (proxy = replyLosingProxy(port)).port,
    });
    await using _proxy = proxy!;
    await using server = await startServer({
      logDir: dir.path,
      workers: 1,
      grants: ["--allow-env=REDIS_DEBUG_MAINTENANCE"],
      args: [`--store=redis-sentinel://${group.sentinelAddresses}/${group.master}`],
    });
    using client = await LineClient.connect({ port: server.port, replyTimeoutMs: 5000 });
    assert.match(await client.request("LikesServer1 5"), /^ACK/);
    proxy!.arm();
    const reply = await client.request("LikesServer2 7");
    assert.equal(proxy!.cuts(), 1);
    const counted = await redisCli(
      group.primary.port,
      "eval",
      COUNT_OF_CLIENT,
      "0",
      "LikesServer2",
    );
    assert.equal(counted.trim(), "7", `counted once (the reply was ${JSON.stringify(reply)})`);
    assert.match(reply, /^ERR store unknown/);
  },
});
