/**
 * The portal's cache while likes flow, as five real node processes: classic likes go to B–E all
 * along, and A is asked `get_all` ten times a second. Repeats within the TTL are hits although
 * every replica keeps changing (bounded staleness, PROTOCOL.md "The cache"), a hit does not leave
 * the portal, and every fifth query asks for a fresh answer (`max_age_ms` 0) to time a miss.
 * The hit rate and the latency of a hit against a miss are printed (BENCHMARKS.md records them).
 */

import assert from "node:assert/strict";
import { askNode, nodeStats, type QueryReply } from "../src/overlay/client/query_client.ts";
import { DATA_NODES, feedNewKeys, startOverlayCluster } from "../src/bench/overlay_cluster.ts";
import { benchKey } from "../src/bench/overlay_bench.ts";
import { tempDir } from "./_helpers.ts";

const QUERIES = 40;
const PER_SECOND = 10;
const FRESH_EVERY = 5;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

Deno.test("while likes flow, repeated get_all at A are served from its cache, without leaving A", async () => {
  await using dir = await tempDir("likes-cache-load-");
  await using cluster = await startOverlayCluster(dir.path);
  const ask = (maxAgeMs?: number): Promise<QueryReply> =>
    askNode({
      secret: cluster.secret,
      hostname: "127.0.0.1",
      port: cluster.port("A"),
      verb: "get_all",
      ...(maxAgeMs === undefined ? {} : { maxAgeMs }),
    });
  const statsOfA = () => nodeStats("127.0.0.1", cluster.port("A"), cluster.secret);

  let flowing = true;
  const flows = Promise.all(DATA_NODES.map(async (id, n) => {
    for (let i = 0; flowing; i++) {
      await feedNewKeys(cluster.likesPort(id), 1, () => benchKey(n, i % 20));
      await new Promise((r) => setTimeout(r, 20));
    }
  }));
  flows.catch(() => {}); // awaited below, after the queries
  try {
    await new Promise((r) => setTimeout(r, 1500)); // the likes reach A's replica
    const before = await statsOfA();
    // Latency as the client sees it (a new connection and handshake each time) and at A.
    const hits: number[] = [], misses: number[] = [];
    const hitsAtA: number[] = [], missesAtA: number[] = [];
    let repeats = 0;
    for (let n = 0; n < QUERIES; n++) {
      const sentAt = performance.now();
      const fresh = n % FRESH_EVERY === FRESH_EVERY - 1;
      const reply = await ask(fresh ? 0 : undefined);
      assert.equal(reply.partial, false, reply.message);
      const calls = reply.timing!.stages.filter((stage) => stage.name.startsWith("call "));
      if (reply.cached) {
        assert.deepEqual(calls, [], "a hit is answered by A alone");
        hits.push(reply.client_ms);
        hitsAtA.push(reply.timing!.totalMs);
      } else {
        assert.notDeepEqual(calls, [], "a miss asks B");
        misses.push(reply.client_ms);
        missesAtA.push(reply.timing!.totalMs);
      }
      if (fresh) assert.equal(reply.cached, false, "max_age_ms 0 takes nothing from a cache");
      else repeats++;
      await new Promise((r) =>
        setTimeout(r, Math.max(0, 1000 / PER_SECOND - (performance.now() - sentAt)))
      );
    }
    const after = await statsOfA();
    assert.ok(after.replica.version > before.replica.version, "A's replica changed meanwhile");
    assert.ok(after.replica.total > before.replica.total, "likes were counted meanwhile");
    const rate = hits.length / repeats;
    Deno.stdout.writeSync(new TextEncoder().encode(
      `  while likes flow: ${hits.length} of ${repeats} repeated get_all at A were cache hits (${
        (rate * 100).toFixed(0)
      } %); median for a hit ${median(hits).toFixed(2)} ms (${
        median(hitsAtA).toFixed(2)
      } ms at A), for a miss ${median(misses).toFixed(2)} ms (${
        median(missesAtA).toFixed(2)
      } ms at A; ${misses.length} misses); A's replica moved ${
        after.replica.version - before.replica.version
      } versions\n`,
    ));
    assert.ok(rate >= 0.9, `hit rate ${rate}`);
  } finally {
    flowing = false;
    await flows;
  }
});
