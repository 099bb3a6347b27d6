import assert from "node:assert/strict";
import { formatGoals } from "./goals.ts";
import { caseResult } from "./fixtures.ts";

function result(id: string, mps: number, p99 = 0.8, totalOk = true) {
  return caseResult(id, mps, { p99, totalOk });
}

Deno.test("formatGoals() judges each goal by its ratio to Redis (and p99), and the totals", () => {
  const text = formatGoals([
    result("persistent-10/likes-always/deno", 30_000, 0.9),
    result("persistent-10/redis-always/deno", 28_000),
    result("persistent-100/likes-always/deno", 50_000, 1.5, false),
    result("persistent-100/redis-always/deno", 100_000),
  ]);
  assert.match(
    text,
    /durable, persistent 10 clients \(Deno driver\): 1\.07× \(target ≥ 1\.00×\), p99 0\.90 ms \(target ≤ 1 ms\): met/,
  );
  assert.match(
    text,
    /durable, persistent 100 clients \(Deno driver\): 0\.50× \(target ≥ 0\.90×\): NOT met/,
  );
  assert.match(text, /durable, pipelined 16 × 10: not measured in this run/);
  assert.match(
    text,
    /server total = likes acknowledged: NO \(persistent-100\/likes-always\/deno\)/,
  );
  const slow = formatGoals([
    result("persistent-10/likes-always/deno", 30_000, 1.2),
    result("persistent-10/redis-always/deno", 28_000),
  ]);
  assert.match(slow, /p99 1\.20 ms \(target ≤ 1 ms\): NOT met/);
});

Deno.test("formatGoals() judges a goal with likesload when it and its Redis twin ran, and says so", () => {
  const both = [
    result("persistent-100/likes-always/deno", 50_000),
    result("persistent-100/redis-always/deno", 100_000),
    result("persistent-100/likes-always/likesload", 95_000),
    result("persistent-100/redis-always/likesload", 100_000),
  ];
  assert.match(
    formatGoals(both),
    /durable, persistent 100 clients \(likesload\): 0\.95× \(target ≥ 0\.90×\): met/,
  );
  // likesload without its Redis twin cannot judge: the Deno driver's pair does.
  assert.match(
    formatGoals(both.slice(0, 3)),
    /durable, persistent 100 clients \(Deno driver\): 0\.50×/,
  );
  assert.match(formatGoals(both), /reported, not enforced/);
});
