import assert from "node:assert/strict";
import { PROJECT } from "../launch/processes.ts";
import { runDeno } from "../../tests/_helpers.ts";

Deno.test("a Worker that dies is reported once, and stopping does not wait for it", async () => {
  // In a process of its own: Deno prints a Worker's uncaught error itself, into that stderr.
  const fixtures = new URL("../../tests/fixtures/", import.meta.url).pathname;
  const run = await runDeno([
    "run",
    "--no-prompt",
    `--config=${PROJECT.config}`,
    "--allow-net=127.0.0.1",
    `--allow-read=${PROJECT.src},${fixtures}`,
    `${fixtures}crashing_pool.ts`,
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(
    run.stderr,
    /Uncaught \(in worker "connections-0"\) \(in promise\) Error: worker 0 failed on purpose/,
  );
  const { deaths, stopMs } = JSON.parse(run.stdout);
  assert.deepEqual(deaths, [
    "connection worker 0 died: Uncaught (in promise) Error: worker 0 failed on purpose",
  ]);
  assert.ok(stopMs < 1000, `stop did not wait 10 s for a dead Worker (${stopMs} ms)`);
});
