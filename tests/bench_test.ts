/**
 * The benchmark's load generator against a real server: what it reports acknowledged is what the
 * server counted, in every mode. (Speed is not asserted here; `deno task bench` prints it.)
 */

import assert from "node:assert/strict";
import { generateLoad } from "../src/bench/load_generator.ts";
import { benchOverlay } from "../src/bench/overlay_bench.ts";
import { startLikesTarget } from "../src/bench/targets.ts";
import { tempDir } from "./_helpers.ts";

Deno.test("generateLoad() agrees with the server's total in every mode and protocol", async (t) => {
  await using dir = await tempDir();
  const target = await startLikesTarget({ dir: dir.path, workers: 2, fsync: "always" });
  try {
    let expected = 0;
    const cases = [
      { mode: "per-message", clients: 5, protocol: "classic" },
      { mode: "persistent", clients: 20, protocol: "classic" },
      { mode: "pipeline", clients: 4, depth: 16, protocol: "classic" },
      { mode: "persistent", clients: 10, protocol: "keyed" },
    ] as const;
    for (const [i, c] of cases.entries()) {
      await t.step(`${c.mode} ${c.protocol}`, async () => {
        const result = await generateLoad({
          port: target.port,
          durationMs: 300,
          warmupMs: 50,
          clientBase: i * 100,
          ...c,
        });
        assert.equal(result.failures, 0, result.firstFailure ?? "");
        assert.equal(result.errors, 0);
        assert.ok(result.acknowledged > 0 && result.acknowledged <= result.sent);
        assert.ok(result.latency.count > 0 && result.latency.p50 <= result.latency.p99);
        assert.ok(result.messagesPerSecond > 0);
        expected += result.acknowledgedLikes;
        assert.equal(await target.total(), expected);
      });
    }
    assert.ok((await target.rss() ?? 0) > 10_000_000, "STATS reports the server's memory");
  } finally {
    await target.stop();
  }
});

Deno.test("benchOverlay() on five real nodes: every figure measured, get_all complete and streamed", async () => {
  await using dir = await tempDir("likes-bench-overlay-test-");
  const result = await benchOverlay(dir.path, { keys: 6001, seconds: 1, getAllRuns: 1 });
  assert.equal(result.note, null);
  assert.equal(result.keys, 6001);
  assert.ok(result.frames >= 2, `${result.frames} rows frames: past 5,000 rows it streams`);
  assert.equal(result.getAllMs.length, 1);
  assert.equal(result.reachMs.length, 1);
  assert.ok(result.restBytesPerLinkSecond > 0, "digests flow at rest");
  assert.ok(result.likeBytesPerLinkSecond > 0);
  assert.deepEqual(Object.keys(result.peakRss).sort(), ["A", "B", "C", "D", "E"]);
  assert.ok(Object.values(result.peakRss).every((rss) => rss > 10_000_000));
});
