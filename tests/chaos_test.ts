/**
 * `deno task chaos`, shortened: the server is killed with SIGKILL at least three times while ten
 * LikesServers send likes; every one of them still converges.
 */

import assert from "node:assert/strict";
import { runnerArgs } from "../src/launch/processes.ts";
import type { RunReport } from "../src/parent/run_report.ts";
import { nameIfSkipped, noScript, onTerminal, runDeno, tempDir } from "./_helpers.ts";

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

/** What a terminal shows for `transcript`: `\r` goes back to the line's start, `ESC[2K` erases it. */
function renderTerminal(transcript: string): string[] {
  const shown: string[] = [];
  for (const raw of transcript.split("\n")) {
    let line: string[] = [];
    let column = 0;
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] === "\r") column = 0;
      else if (raw.startsWith("\u001b[2K", i)) {
        line = [];
        i += 3;
      } else line[column++] = raw[i]!;
    }
    shown.push(Array.from(line, (c) => c ?? " ").join(""));
  }
  return shown;
}

Deno.test({
  name: nameIfSkipped(
    "chaos on a terminal: its kill and restart lines never land on the parent's progress line",
    noScript,
  ),
  ignore: noScript !== null,
  async fn() {
    await using dir = await tempDir();
    // Chaos on a pseudo-terminal, as a person runs it.
    const output = await onTerminal(
      runnerArgs("chaos", dir.path, [
        "--children=3",
        "--duration=3",
        "--min-up=0.4",
        "--max-up=0.7",
        "--min-down=0.1",
        "--max-down=0.2",
        "--min-interval=0.02",
        "--max-interval=0.05",
        "--seed=5",
        "--no-view",
      ]),
    );
    const transcript = output.shown;
    assert.equal(output.code, 0, transcript);
    assert.ok(transcript.includes("\r\u001b[2KLikesServers "), "the parent drew its progress line");
    const shown = renderTerminal(transcript);
    const chaosLines = shown.filter((line) => /chaos +\d+\.\d s: /.test(line));
    assert.ok(chaosLines.some((line) => line.includes("kill -9")), shown.join("\n"));
    for (const line of chaosLines) {
      assert.match(line, /^chaos +\d+\.\d s: /, `a line glued to another:\n${line}`);
    }
    assert.ok(shown.some((line) => /^verdict: CONVERGED/.test(line)), shown.join("\n"));
  },
});
