import assert from "node:assert/strict";
import { caseResult } from "./fixtures.ts";
import { formatFloorShare } from "./floor_share.ts";

Deno.test("formatFloorShare() gives ours over the floor per load and client, and judges --fsync never at 10 and 100 clients", () => {
  const text = formatFloorShare([
    caseResult("persistent-100/likes-never/deno", 95_000),
    caseResult("persistent-100/likes-always/deno", 50_000),
    caseResult("persistent-100/floor/deno", 100_000),
    caseResult("persistent-10/likes-never/deno", 30_000),
    caseResult("persistent-10/floor/deno", 60_000),
    caseResult("pipeline16-10/likes-never/deno", 300_000),
    caseResult("pipeline16-10/floor/deno", 400_000),
    caseResult("persistent-1000/likes-never/deno", 40_000), // no floor ran for it
  ]);
  assert.match(
    text,
    /persistent, 100 clients, likes fsync never \(deno\): 0\.95× \(95,000 vs 100,000 msg\/s\): goal ≥ 0\.90× met/,
  );
  assert.match(text, /persistent, 100 clients, likes fsync always \(deno\): 0\.50× \([^)]*\)\n/);
  assert.match(
    text,
    /persistent, 10 clients, likes fsync never \(deno\): 0\.50× .*: goal ≥ 0\.90× NOT met/,
  );
  assert.match(text, /pipelined 16, 10 clients, likes fsync never \(deno\): 0\.75× \([^)]*\)\n/);
  assert.doesNotMatch(text, /1000 clients/);
});
