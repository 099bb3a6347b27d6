/**
 * The ParentProcess as a real process over real LikesServer processes and a real server.
 */

import assert from "node:assert/strict";
import { parentArgs, startServer } from "../src/launch/processes.ts";
import type { RunReport } from "../src/parent/run_report.ts";
import {
  type DenoRun,
  exchange,
  freePort,
  nameIfSkipped,
  noScript,
  onTerminal,
  readLines,
  runDeno,
  stats,
  tempDir,
} from "./_helpers.ts";

const SHORT = [
  "--stagger=0.05",
  "--duration=2",
  "--min-interval=0.05",
  "--max-interval=0.2",
  "--drain=5",
];

function runParent(port: number, logDir: string, args: string[]): Promise<DenoRun> {
  return runDeno(parentArgs({ port, logDir, args }), 60_000);
}

Deno.test("parent.ts with 10 short-lived LikesServers converges and writes the seed's log formats", async () => {
  await using dir = await tempDir();
  await using server = await startServer({ logDir: dir.path, workers: 2 });
  const run = await runParent(server.port, dir.path, [
    "--children=10",
    "--seed=42",
    "--json",
    ...SHORT,
  ]);
  assert.equal(run.code, 0, run.stderr);
  const report: RunReport = JSON.parse(run.stdout);
  assert.equal(report.converged, true, report.verdict);
  assert.match(report.verdict, /^CONVERGED: all 10 LikesServers/);
  assert.deepEqual(
    report.children.map((c) => c.name),
    Array.from({ length: 10 }, (_, i) => `LikesServer${i}`),
    "numbered from 0, as in the seed exercise",
  );
  assert.equal(report.seed, 42);
  const s = await stats(server.port);
  for (const child of report.children) {
    assert.equal(child.exitCode, 0);
    assert.ok(child.generated > 0, `${child.name} generated likes`);
    assert.equal(child.acknowledged, child.generated);
    assert.equal(child.counted, child.generated);
    assert.equal(s.clients[child.clientId], child.generated, `STATS agrees for ${child.name}`);
  }
  assert.equal(report.totals.counted, report.totals.generated);
  assert.equal(s.total, report.totals.generated);

  // LikesServer<N>: one line per batch ending in "LikesServer<N> <likes>", summing to what it generated.
  for (const child of report.children) {
    const lines = await readLines(`${dir.path}/${child.name}`);
    const batch = new RegExp(`^\\S+ INFO likes\\.edge\\.batch ${child.name} (\\d+)$`);
    const batches = lines.map((l) => batch.exec(l)).filter((m) => m !== null).map((m) =>
      Number(m[1])
    );
    assert.ok(batches.length > 0);
    assert.equal(
      batches.reduce((a, b) => a + b, 0),
      child.generated,
      `${child.name} batches add up`,
    );
    assert.ok(
      lines.some((l) => / sent "LIKE \S+ \d+ \d+" → "ACK seq=\d+ client=\d+ total=\d+"$/.test(l)),
    );
  }
  // ParentProcessStatus: each child's start (pid) and end (exit code, run time).
  const status = await readLines(`${dir.path}/ParentProcessStatus`);
  for (const child of report.children) {
    assert.ok(
      status.some((l) =>
        l.endsWith(` ${child.name} started: pid ${child.pid}, client id ${child.clientId}`)
      ),
    );
    assert.ok(
      status.some((l) =>
        new RegExp(` ${child.name} ended: pid ${child.pid}, exit code 0, ran \\d+\\.\\d s$`).test(l)
      ),
    );
  }
  assert.ok(status.some((l) => / verdict: CONVERGED/.test(l)));
  // PrimaryLikesLog: every message and the running total.
  await server.stop();
  const primary = await readLines(server.logFile);
  assert.ok(
    primary.some((l) =>
      new RegExp(`LIKE LikesServer0-${report.runId} 1 \\d+ counted client=\\d+ total=\\d+$`).test(l)
    ),
  );
});

Deno.test("parent.ts with --protocol classic converges when nothing fails", async () => {
  await using dir = await tempDir();
  await using server = await startServer({ logDir: dir.path, workers: 1 });
  const run = await runParent(server.port, dir.path, [
    "--children=3",
    "--protocol=classic",
    ...SHORT,
  ]);
  assert.equal(run.code, 0, run.stderr + run.stdout);
  assert.match(
    run.stdout,
    /^LikesServer\s+pid\s+exit\s+seconds\s+generated\s+acknowledged\s+no answer\s+counted\s+converged$/m,
  );
  assert.match(run.stdout, /^verdict: CONVERGED: all 3 LikesServers/m);
  assert.equal(run.stderr, "", "in a pipe the parent shows no progress line");
  const s = await stats(server.port);
  assert.deepEqual(Object.keys(s.clients).sort(), ["LikesServer0", "LikesServer1", "LikesServer2"]);
});

Deno.test("parent.ts finds its children's counts on a server holding over a thousand bigger clients", async () => {
  await using dir = await tempDir();
  await using server = await startServer({ logDir: dir.path, workers: 1 });
  // 1,200 earlier clients with 840 likes each: a plain STATS lists none of this run's children.
  const earlier = [];
  for (let seq = 1; seq <= 20; seq++) {
    for (let c = 0; c < 1200; c++) earlier.push(`LIKE earlier-${c} ${seq} 42\n`);
  }
  const replies = await exchange(server.port, earlier.join(""), {
    halfClose: true,
    timeoutMs: 20_000,
  });
  assert.equal(replies.split("\n").filter((l) => l.startsWith("ACK")).length, 24_000);
  const run = await runParent(server.port, dir.path, ["--children=3", "--json", ...SHORT]);
  assert.equal(run.code, 0, run.stderr);
  const report: RunReport = JSON.parse(run.stdout);
  assert.equal(report.converged, true, report.verdict);
  const top = await stats(server.port);
  for (const child of report.children) {
    assert.equal(child.counted, child.generated);
    assert.equal(top.clients[child.clientId], undefined, `${child.name} is not in a plain STATS`);
  }
});

Deno.test("parent.ts exits 1 with NOT CONVERGED when no server answers", async () => {
  await using dir = await tempDir();
  const run = await runParent(freePort(), dir.path, [
    "--children=2",
    "--stagger=0",
    "--duration=0.3",
    "--min-interval=0.05",
    "--max-interval=0.1",
    "--drain=0.3",
    "--json",
  ]);
  assert.equal(run.code, 1);
  const report: RunReport = JSON.parse(run.stdout);
  assert.equal(report.converged, false);
  assert.match(report.verdict, /^NOT CONVERGED: LikesServer0 exit 1, acknowledged 0 of \d+/);
  assert.match(report.server.error ?? "", /ConnectionRefused/);
});

Deno.test("parent.ts on SIGTERM stops every LikesServer and leaves no orphan", async () => {
  await using dir = await tempDir();
  await using server = await startServer({ logDir: dir.path, workers: 1 });
  const parent = new Deno.Command("deno", {
    args: parentArgs({
      port: server.port,
      logDir: dir.path,
      args: [
        "--children=4",
        "--stagger=0.05",
        "--duration=60",
        "--min-interval=0.05",
        "--max-interval=0.1",
        "--json",
      ],
    }),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const statusFile = `${dir.path}/ParentProcessStatus`;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const started = (await readLines(statusFile).catch(() => [])).filter((l) =>
      / started: pid /.test(l)
    );
    if (started.length === 4) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300));
  parent.kill("SIGTERM");
  const output = await parent.output();
  assert.equal(output.code, 143);
  const report: RunReport = JSON.parse(new TextDecoder().decode(output.stdout));
  assert.equal(report.interrupted, "SIGTERM");
  assert.match(report.verdict, /^INTERRUPTED by SIGTERM: what the 4 LikesServers sent converged/);
  const lines = await readLines(statusFile);
  const started = lines.map((l) => / (LikesServer\d+) started: pid (\d+)/.exec(l)).filter((m) =>
    m !== null
  );
  assert.equal(started.length, 4);
  for (const [, name, pid] of started) {
    assert.ok(
      lines.some((l) => l.includes(` ${name} ended: pid ${pid}, `)),
      `${name} (pid ${pid}) was reaped`,
    );
  }
});

Deno.test({
  name: nameIfSkipped(
    "parent.ts shows a live progress line when stderr is a terminal",
    noScript,
  ),
  ignore: noScript !== null,
  async fn() {
    await using dir = await tempDir();
    await using server = await startServer({ logDir: dir.path, workers: 1 });
    // The parent on a pseudo-terminal, as a person runs it.
    const output = await onTerminal(
      parentArgs({ port: server.port, logDir: dir.path, args: ["--children=2", ...SHORT] }),
    );
    const shown = output.shown;
    assert.equal(output.code, 0, shown);
    assert.ok(shown.includes("\r\u001b[2KLikesServers "), "the line is redrawn in place");
    assert.match(
      shown,
      /LikesServers \d alive, \d\/2 started · generated \d+ · acknowledged \d+( \(\d+ pending\))? · (\d+ s left|draining)/,
    );
    assert.match(shown, /verdict: CONVERGED: all 2 LikesServers/);
  },
});
