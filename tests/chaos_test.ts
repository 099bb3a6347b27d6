/**
 * `deno task chaos`, shortened: the server is killed with SIGKILL at least three times while ten
 * LikesServers send likes; every one of them still converges.
 */

import assert from "node:assert/strict";
import { runnerArgs } from "../src/launch/processes.ts";
import type { RunReport } from "../src/parent/run_report.ts";
import { runDeno, tempDir } from "./_helpers.ts";

Deno.test("chaos: kill -9 the server at least 3 times during a run; every LikesServer converges", async () => {
  await using dir = await tempDir();
  const run = await runDeno(
    runnerArgs("chaos", dir.path, [
      "--children=10",
      "--duration=6",
      "--min-up=0.4",
      "--max-up=0.8",
      "--min-down=0.1",
      "--max-down=0.3",
      "--seed=3",
      "--json",
    ]),
    120_000,
  );
  assert.equal(run.code, 0, run.stderr);
  const kills = Number(/the server was killed (\d+) time\(s\)/.exec(run.stderr)?.[1]);
  assert.ok(kills >= 3, `the server was killed ${kills} times`);
  assert.equal(
    (run.stderr.match(/server back as pid \d+: recovered \d+ client\(s\)/g) ?? []).length,
    kills,
  );
  const report: RunReport = JSON.parse(run.stdout);
  assert.equal(report.converged, true, report.verdict);
  assert.equal(report.children.length, 10);
  for (const child of report.children) {
    assert.equal(child.exitCode, 0);
    assert.ok(child.generated > 0);
    assert.equal(child.acknowledged, child.generated, child.name);
    assert.equal(child.counted, child.generated, child.name);
  }
  assert.equal(report.server.total, report.totals.generated, "the global total equals the sum");
});
