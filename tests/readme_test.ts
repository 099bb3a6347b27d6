/**
 * The README's `deno task …` examples work as written: each one's arguments are accepted by its
 * entry point under the task's own grants (run with `--help` added, so that the long-running ones
 * stop after parsing), and the hand-run LikesServer example runs for real.
 */

import assert from "node:assert/strict";
import { PROJECT } from "../src/launch/processes.ts";
import { runDeno } from "./_helpers.ts";

const README = new URL("../README.md", import.meta.url);
const TASKS = ["server", "parent", "likes", "demo", "chaos", "bench"];

/** Every `deno task NAME [args]` written in the README (in code spans or code blocks). */
async function readmeTaskExamples(): Promise<string[][]> {
  const text = await Deno.readTextFile(README);
  const examples = new Set<string>();
  for (
    const match of text.matchAll(/deno task ([a-z]+)((?: +-[^\s`#|]*(?: +[^\s`#|-][^\s`#|]*)?)*)/g)
  ) {
    if (TASKS.includes(match[1]!)) examples.add(`${match[1]}${match[2]!.trimEnd()}`);
  }
  return [...examples].map((example) => example.split(/ +/));
}

Deno.test("the README's deno task examples are accepted as written", async (t) => {
  const examples = await readmeTaskExamples();
  assert.ok(
    examples.some(([task, first]) => task === "likes" && first === "--"),
    "the README shows `deno task likes -- --id 3`",
  );
  for (const [task, ...args] of examples) {
    await t.step(["deno task", task, ...args].join(" "), async () => {
      const run = await runDeno(
        ["task", `--config=${PROJECT.config}`, task!, ...args, "--help"],
        30_000,
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^Usage: /);
    });
  }
});

Deno.test("deno task likes -- --id 3 (the README's example) runs with the task's grants", async () => {
  // A lifetime of 0 s: it starts, writes its log /tmp/LikesServer3 (granted by the task), and
  // exits 0 with nothing to send, so no server is needed.
  const run = await runDeno(
    ["task", `--config=${PROJECT.config}`, "likes", "--", "--id", "3", "--duration", "0"],
    30_000,
  );
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /LikesServer3 started/);
  assert.match(await Deno.readTextFile("/tmp/LikesServer3"), /LikesServer3 finished: generated 0/);
});
