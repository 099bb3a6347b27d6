/**
 * Delta gossip between real nodes: at rest the links carry only digests, one like sends a few
 * hundred bytes along each link (not the replica), and keys the owner forgets (`--client-ttl`)
 * leave every replica, their likes kept in the owner's retired row.
 */

import assert from "node:assert/strict";
import type { ClusterConfig } from "../src/overlay/domain/cluster_config.ts";
import { askNode } from "../src/overlay/client/query_client.ts";
import { RETIRED_KEY } from "../src/overlay/domain/replica.ts";
import { startNodes, TEST_SECRET, testCluster } from "./_overlay.ts";
import { tempDir, until } from "./_helpers.ts";

/** Sends `LikesServer<from…from+count-1> 1` to node `id`'s likes port in one write; waits for the ACKs. */
async function classicLikes(config: ClusterConfig, id: string, from: number, count: number) {
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: config.nodes.get(id)!.likesPort!,
  });
  try {
    const lines = Array.from({ length: count }, (_, i) => `LikesServer${from + i} 1\n`).join("");
    await conn.write(new TextEncoder().encode(lines));
    let acks = 0;
    const buffer = new Uint8Array(65536);
    while (acks < count) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error(`closed after ${acks} ACKs`);
      acks += new TextDecoder().decode(buffer.subarray(0, n)).split("ACK").length - 1;
    }
  } finally {
    conn.close();
  }
}

Deno.test("at rest the links carry digests only, and one like sends a few hundred bytes per link, not the replica", async () => {
  await using dir = await tempDir();
  const config = testCluster();
  await using cluster = await startNodes(config, dir.path, { gossipIntervalMs: 1000 });
  await classicLikes(config, "B", 0, 2000);
  await classicLikes(config, "E", 5000, 500);
  const nodes = [...cluster.nodes.values()];
  await until(
    "every replica holds 2500 keys",
    () => Promise.resolve(nodes.every((n) => n.stats().replica.entries === 2500)),
    15_000,
  );
  const bytesSent = () => nodes.reduce((sum, n) => sum + n.stats().gossip.bytesSent, 0);
  const LINKS = 2 * config.overlay.length; // each edge, both directions

  // Copies that crossed on the diamond's two paths are acknowledged by the next digests.
  await new Promise((r) => setTimeout(r, 1500));
  const restStart = bytesSent();
  await new Promise((r) => setTimeout(r, 2000));
  const atRest = (bytesSent() - restStart) / 2 / LINKS;
  const line = `  at rest: ${atRest.toFixed(0)} bytes/s per link (digests)`;
  Deno.stdout.writeSync(new TextEncoder().encode(`${line}\n`));
  assert.ok(atRest < 1024, `${atRest} bytes/s per link at rest`);

  const before = bytesSent();
  await classicLikes(config, "B", 7, 1); // one more like on one key
  await until(
    "every replica has it",
    () => Promise.resolve(nodes.every((n) => n.stats().replica.total === 2501)),
    5000,
  );
  const perLink = (bytesSent() - before) / LINKS;
  Deno.stdout.writeSync(
    new TextEncoder().encode(
      `  one like: ${perLink.toFixed(0)} bytes per link (digests included)\n`,
    ),
  );
  // The replica is 2,500 entries (~90 KB as JSON): a full-state push would send that per link.
  assert.ok(perLink < 1024, `${perLink} bytes per link for one like`);
});

Deno.test("keys the owner forgets leave every replica; their likes stay as the owner's retired row", async () => {
  await using dir = await tempDir();
  const config = testCluster();
  await using cluster = await startNodes(config, dir.path, { clientTtlMs: 400 });
  await classicLikes(config, "C", 0, 3); // LikesServer0..2 at C, then idle
  const nodes = [...cluster.nodes.values()];
  await until(
    "every replica has C's 3 keys",
    () => Promise.resolve(nodes.every((n) => n.stats().replica.entries === 3)),
  );
  // After the TTL, C forgets them: each replica keeps one row, C's retired likes.
  await until(
    "the keys leave every replica",
    async () => {
      const local = await askNode({
        secret: TEST_SECRET,
        hostname: "127.0.0.1",
        port: config.nodes.get("A")!.port,
        verb: "get_all",
        consistency: "local",
      });
      return nodes.every((n) => n.stats().replica.entries === 1) &&
        local.results.length === 1 && local.results[0]!.key === RETIRED_KEY;
    },
    5000,
  );
  for (const node of nodes) {
    assert.equal(node.stats().replica.total, 3, `${node.id}'s total keeps the likes`);
  }
  const ask = (consistency: "gather" | "local") =>
    askNode({
      secret: TEST_SECRET,
      hostname: "127.0.0.1",
      port: config.nodes.get("A")!.port,
      verb: "get_all",
      consistency,
    });
  const [gathered, local] = [await ask("gather"), await ask("local")];
  assert.deepEqual(gathered.results, [{ key: RETIRED_KEY, node: "C", likes: 3 }]);
  assert.deepEqual(local.results, gathered.results, "gather and local list the same keys");
  assert.equal(gathered.total, 3);
});
