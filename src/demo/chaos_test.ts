import assert from "node:assert/strict";
import { UsageError } from "../cli/flags.ts";
import { chaosUsage, parseSecondsRange, runChaos } from "./chaos.ts";

Deno.test("parseSecondsRange() reads a pair of second flags in ms, and refuses a low above the high", () => {
  assert.deepEqual(parseSecondsRange({ "min-up": "0.5", "max-up": "2" }, "min-up", "max-up"), [
    500,
    2000,
  ]);
  assert.deepEqual(parseSecondsRange({ a: "1", b: "1" }, "a", "b"), [1000, 1000]);
  assert.throws(
    () => parseSecondsRange({ "min-down": "3", "max-down": "1" }, "min-down", "max-down"),
    new UsageError("--min-down must not exceed --max-down: current values are 3 and 1"),
  );
  assert.throws(() => parseSecondsRange({ a: "-1", b: "1" }, "a", "b"), UsageError);
  assert.throws(() => parseSecondsRange({ a: "soon", b: "1" }, "a", "b"), UsageError);
});

Deno.test("runChaos() refuses bad ranges before it starts anything or makes a directory", async () => {
  const before = await chaosDirs();
  await assert.rejects(runChaos(["--min-up=5", "--max-up=1"]), /--min-up must not exceed --max-up/);
  await assert.rejects(runChaos(["--max-down=x"]), UsageError);
  await assert.rejects(runChaos(["--children=0"]), /children/);
  assert.deepEqual(await chaosDirs(), before, "no /tmp/likes-chaos-* made");
});

Deno.test("chaosUsage() names the kill-and-restart flags", () => {
  for (const flag of ["--min-up", "--max-up", "--min-down", "--max-down", "--children"]) {
    assert.match(chaosUsage(), new RegExp(flag));
  }
});

async function chaosDirs(): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir("/tmp")) {
    if (entry.name.startsWith("likes-chaos-")) found.push(entry.name);
  }
  return found.sort();
}
