import assert from "node:assert/strict";
import { SharedCache } from "./shared_cache.ts";

Deno.test("SharedCache: a hit within the TTL, a miss after it, reclaimed as expired", () => {
  const cache = SharedCache.create({ ttlMs: 1000 });
  assert.equal(cache.get("q", 0), null);
  assert.ok(cache.set("q", "answer", 0));
  assert.deepEqual(cache.get("q", 999), { value: "answer", ageMs: 999 });
  assert.deepEqual(cache.get("q", 1000), { value: "answer", ageMs: 1000 });
  assert.equal(cache.get("q", 1001), null);
  assert.equal(cache.get("q", 1002), null, "an expired entry is gone, not merely skipped");
  const stats = cache.stats();
  assert.deepEqual(
    [stats.hits, stats.misses, stats.expired, stats.entries],
    [2, 3, 1, 0],
  );
});

Deno.test("SharedCache: within the TTL an entry serves, unless the asker wants it fresher", () => {
  const cache = SharedCache.create({ ttlMs: 10_000 });
  cache.set("q", "old", 0);
  assert.equal(cache.get("q", 500, 400), null, "500 ms old, asked for at most 400");
  assert.equal(cache.get("q", 500, 0), null, "0: nothing from the cache");
  assert.deepEqual(cache.get("q", 500, 500), { value: "old", ageMs: 500 }, "kept for others");
  assert.equal(cache.get("q", 500)?.value, "old");
  assert.equal(cache.stats().tooOld, 2);
  // Stored already 300 ms old (built from parts that old): that old from the start.
  cache.set("r", "aged", 1000, 300);
  assert.deepEqual(cache.get("r", 1000), { value: "aged", ageMs: 300 });
  assert.equal(cache.get("r", 10_701), null, "it expires 300 ms sooner too");
  assert.equal(cache.stats().expired, 1);
});

Deno.test("SharedCache: bounded in bytes, oldest evicted first; too large is not cached", () => {
  const cache = SharedCache.create({ ttlMs: 10_000, capacityBytes: 100 });
  const value = "v".repeat(28); // key "kN" + 28 bytes = 30 bytes: three fit, a fourth evicts
  for (let i = 0; i < 3; i++) assert.ok(cache.set(`k${i}`, value, i));
  assert.equal(cache.stats().bytes, 90);
  assert.ok(cache.set("k3", value, 3));
  const stats = cache.stats();
  assert.ok(stats.bytes <= 100);
  assert.equal(stats.evictions, 1);
  assert.equal(cache.get("k0", 4), null, "the oldest went");
  for (const key of ["k1", "k2", "k3"]) assert.equal(cache.get(key, 4)?.value, value, key);
  assert.equal(cache.set("huge", "x".repeat(200), 5), false);
  assert.equal(cache.stats().tooLarge, 1);
  // Replacing a key keeps one entry for it (written after the newest, evicting the oldest: k1).
  cache.set("k3", "short", 6);
  assert.equal(cache.get("k3", 7)?.value, "short");
  assert.equal(cache.get("k1", 7), null);
  assert.equal(cache.get("k2", 7)?.value, value);
  assert.equal(cache.stats().entries, 2);
});

Deno.test("SharedCache: the entry count is bounded too (maxEntries)", () => {
  const cache = SharedCache.create({ ttlMs: 10_000, maxEntries: 2 });
  cache.set("a", "1", 0);
  cache.set("b", "2", 0);
  cache.set("c", "3", 0);
  assert.equal(cache.stats().entries, 2);
  assert.equal(cache.get("a", 1), null);
  assert.equal(cache.get("c", 1)?.value, "3");
});

Deno.test("SharedCache: Workers sharing one cache never read a torn or foreign entry", async () => {
  const cache = SharedCache.create({ ttlMs: 60_000, capacityBytes: 8192, maxEntries: 64 });
  const rounds = 20_000;
  const results = await Promise.all([0, 1, 2].map((worker) => {
    const thread = new Worker(new URL("../../../tests/fixtures/cache_worker.ts", import.meta.url), {
      type: "module",
    });
    return new Promise<{ gets: number; hits: number; corrupt: number }>((resolve, reject) => {
      thread.onmessage = (event) => {
        thread.terminate();
        resolve(event.data);
      };
      thread.onerror = (event) => {
        thread.terminate();
        reject(event.error ?? new Error(event.message));
      };
      thread.postMessage({ cache: cache.buffer, worker, rounds });
    });
  }));
  const stats = cache.stats();
  assert.equal(results.reduce((s, r) => s + r.corrupt, 0), 0);
  assert.equal(stats.hits + stats.misses, rounds * 3, "every lookup was counted once");
  assert.equal(stats.hits, results.reduce((s, r) => s + r.hits, 0));
  assert.ok(stats.hits > 0 && stats.evictions > 0, JSON.stringify(stats));
  assert.ok(stats.bytes <= 8192);
});
