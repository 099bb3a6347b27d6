import assert from "node:assert/strict";
import { benchCases, floorTwin, redisTwin } from "./cases.ts";
import { caseResult } from "./fixtures.ts";
import { formatResults, ratioToRedis } from "./report.ts";

Deno.test("benchCases() covers the required loads, with unique ids", () => {
  const full = benchCases({ quick: false, redis: true, reference: true });
  assert.equal(new Set(full.map((c) => c.id)).size, full.length);
  const has = (load: string, server: string) =>
    full.some((c) => c.load === load && JSON.stringify(c.server).includes(server));
  for (const load of ["per-message, 10 clients", "per-message, 100 clients"]) {
    assert.ok(has(load, "always"), load);
  }
  for (const clients of [10, 100, 1000]) {
    for (const s of ['"always"', '"never"', '"off"']) {
      assert.ok(has(`persistent, ${clients} clients`, s));
    }
  }
  assert.ok(
    has("pipelined 16, 10 clients", '"always"') && has("pipelined 16, 10 clients", '"never"'),
  );
  assert.ok(full.some((c) => c.server.kind === "likes" && c.server.workers === 1));
  assert.ok(full.some((c) => c.mode === "idle" && c.clients === 10_000));
  assert.ok(
    full.some((c) => c.driver === "likesload") && full.some((c) => c.server.kind === "ideal"),
  );
  const quick = benchCases({ quick: true, redis: false, reference: false });
  assert.ok(
    quick.length < full.length &&
      quick.every((c) => c.server.kind === "likes" || c.server.kind === "floor"),
  );
});

Deno.test("floorTwin() pairs ours with the Deno floor on the same load and client, not a 1-Worker or keyed case", () => {
  const cases = benchCases({ quick: false, redis: true, reference: true });
  const twin = (id: string) => floorTwin(cases.find((c) => c.id === id)!, cases)?.id;
  assert.equal(twin("persistent-10/likes-never/deno"), "persistent-10/floor/deno");
  assert.equal(twin("persistent-100/likes-always/likesload"), "persistent-100/floor/likesload");
  assert.equal(twin("pipeline16-10/likes-never/deno"), "pipeline16-10/floor/deno");
  assert.equal(twin("persistent-100/likes-always-w1/deno"), undefined);
  assert.equal(twin("persistent-100-keyed/likes-always/deno"), undefined);
  assert.equal(twin("persistent-100/redis-off/deno"), undefined);
});

Deno.test("redisTwin() pairs fsync always with appendfsync always and never with no persistence", () => {
  const cases = benchCases({ quick: false, redis: true, reference: false });
  const always = cases.find((c) => c.id === "persistent-100/likes-always/deno")!;
  const never = cases.find((c) => c.id === "persistent-100/likes-never/deno")!;
  assert.equal(redisTwin(always, cases)?.id, "persistent-100/redis-always/deno");
  assert.equal(redisTwin(never, cases)?.id, "persistent-100/redis-off/deno");
  assert.equal(redisTwin(cases.find((c) => c.mode === "per-message")!, cases), undefined);
});

Deno.test("formatResults() prints a row per case with the ratio to Redis", () => {
  const result = (id: string, mps: number) =>
    caseResult(id, mps, { p99: 2, peakRss: 50 * 1048576 });
  const ours = result("persistent-100/likes-always/deno", 30_000);
  const redis = result("persistent-100/redis-always/deno", 60_000);
  assert.equal(ratioToRedis(ours, [ours, redis]), 0.5);
  const text = formatResults([ours, redis]);
  const [header, first, second] = text.split("\n");
  assert.match(
    header!,
    /^load\s+server\s+driver\s+msg\/s\s+likes\/s\s+p50 ms\s+p99 ms\s+p99\.9 ms\s+max ms\s+peak RSS MB\s+total = acked\s+vs Redis$/,
  );
  assert.match(
    first!,
    /^persistent, 100 clients\s+likes fsync always\s+deno\s+30,000\s+630,000\s+0\.50\s+2\.00\s+3\.00\s+4\.00\s+50\.0\s+yes\s+0\.50×$/,
  );
  assert.match(second!, /Redis appendfsync always\s+deno\s+60,000/);
});
