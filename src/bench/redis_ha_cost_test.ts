import assert from "node:assert/strict";
import { benchCases } from "./cases.ts";
import { caseResult } from "./fixtures.ts";
import { formatRedisHaCost } from "./redis_ha_cost.ts";

Deno.test("benchCases() runs the highly available Redis cases beside the plain store (quick: the whole of it)", () => {
  const ids = (quick: boolean) =>
    benchCases({ quick, redis: true, reference: false }).map((c) => c.id).filter((id) =>
      id.startsWith("persistent-100/likes-redis-p1")
    );
  assert.deepEqual(ids(false), [
    "persistent-100/likes-redis-p1/deno",
    "persistent-100/likes-redis-p1-wait-1/deno",
    "persistent-100/likes-redis-p1-sentinel/deno",
    "persistent-100/likes-redis-p1-sentinel-wait-1/deno",
  ]);
  assert.deepEqual(ids(true), [
    "persistent-100/likes-redis-p1/deno",
    "persistent-100/likes-redis-p1-sentinel-wait-1/deno",
  ]);
  assert.equal(
    benchCases({ quick: false, redis: false, reference: false }).some((c) =>
      c.server.kind === "likes-redis"
    ),
    false,
  );
});

Deno.test("formatRedisHaCost() sets each case beside the plain store and Redis alone", () => {
  const text = formatRedisHaCost([
    caseResult("persistent-100/redis-always/deno", 40_000),
    caseResult("persistent-100/likes-redis-p1/deno", 20_000),
    caseResult("persistent-100/likes-redis-p1-wait-1/deno", 10_000, { p99: 4 }),
    caseResult("persistent-100/likes-redis-p1-sentinel-wait-1/deno", 9_000, { p99: 5 }),
  ]);
  assert.equal(
    text,
    "Redis high availability (a master, two replicas, three Sentinels, all appendfsync always, on this machine) vs the plain store (one Redis), this run:\n" +
      "  likes over Redis, WAIT 1 (persistent, 100 clients): 10,000 msg/s, 0.50× the plain store, 0.25× Redis alone, p99 4.00 ms\n" +
      "  likes over Sentinel, WAIT 1 (persistent, 100 clients): 9,000 msg/s, 0.45× the plain store, 0.23× Redis alone, p99 5.00 ms\n",
  );
  assert.match(
    formatRedisHaCost([caseResult("persistent-100/likes-redis-p1-sentinel/deno", 5_000)]),
    /likes over Sentinel \(persistent, 100 clients\): 5,000 msg\/s, no plain store to compare, p99/,
  );
});
