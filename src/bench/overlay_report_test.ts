import assert from "node:assert/strict";
import { formatOverlayResults, overlayGoals, type OverlayResult } from "./overlay_report.ts";

function result(keys: number, overrides: Partial<OverlayResult> = {}): OverlayResult {
  return {
    keys,
    feedMs: 1000,
    convergeMs: 500,
    getAllMs: [400, 100, 200],
    frames: keys / 5000,
    restBytesPerLinkSecond: 700,
    likeBytesPerLinkSecond: 900,
    reachMs: [40, 60, 50],
    peakRss: { B: 2 * 2 ** 20, A: 1 * 2 ** 20 },
    note: null,
    ...overrides,
  };
}

Deno.test("the table: one row per size, get_all the median of its runs, rows/s from it, RSS by node", () => {
  const text = formatOverlayResults([result(10_000), result(100_000)]);
  const lines = text.split("\n");
  const row = lines.find((l) => l.startsWith("10000 "))!;
  assert.ok(row, text);
  assert.match(row, / 0\.20 +50000 /, "median 200 ms → 50,000 rows/s");
  assert.match(row, /50, 60 +1 2$/, "reach median and max; RSS of A then B in MiB");
  assert.ok(lines.some((l) => l.startsWith("100000 ")));
  assert.match(text, /1M rows through A in under 5 s: not run/);
});

Deno.test("goals: each met or missed on its own figure; an incomplete answer misses and is named", () => {
  assert.deepEqual(overlayGoals([result(1_000_000, { getAllMs: [3000] })]), [
    "goal: 1M rows through A in under 5 s: met (3.00 s)",
    "goal: gossip at rest under 1 KB/s per link: met (at most 700 B/s)",
    "goal: one like in every replica in under 100 ms: met (slowest 60 ms, from the ACK)",
  ]);
  const missed = [
    result(10_000, { restBytesPerLinkSecond: 1200, reachMs: [130] }),
    result(1_000_000, { getAllMs: [6000] }),
  ];
  assert.deepEqual(overlayGoals(missed).map((l) => l.split(": ")[2]!.split(" ")[0]), [
    "MISSED",
    "MISSED",
    "MISSED",
  ]);
  const partial = result(1_000_000, { getAllMs: [1000], note: "get_all: PARTIAL (3 of 4 rows)" });
  assert.match(overlayGoals([partial])[0]!, /MISSED/);
  assert.match(formatOverlayResults([partial]), /1000000 keys: get_all: PARTIAL/);
});
