import assert from "node:assert/strict";
import { UsageError } from "../cli/flags.ts";
import { benchUsage, overlaySizes, runBench } from "./run_bench.ts";

Deno.test("overlaySizes(): the default sets, a list from --keys, and one line for a bad size", () => {
  assert.deepEqual(overlaySizes(undefined, true), [10_000, 100_000]);
  assert.deepEqual(overlaySizes(undefined, false), [10_000, 100_000, 1_000_000]);
  assert.deepEqual(overlaySizes("10,20000", false), [10, 20_000]);
  for (const bad of ["3", "1e9", "x", "10,", "4000001"]) {
    assert.throws(() => overlaySizes(bad, false), UsageError, bad);
  }
});

Deno.test("runBench() refuses an unknown flag or a bad value before it starts anything", async () => {
  await assert.rejects(runBench(["--bogus"]), UsageError);
  await assert.rejects(runBench(["--overlay", "--keys=2"]), /--keys: "2" is not a whole number/);
});

Deno.test("benchUsage() names the flags a reader reaches for", () => {
  for (const flag of ["--quick", "--only", "--no-redis", "--duration", "--json", "--overlay"]) {
    assert.match(benchUsage(), new RegExp(flag));
  }
});
