import assert from "node:assert/strict";
import { serveLikes } from "../server/likes_service.ts";
import type { RunSnapshot } from "../view/run_snapshot.ts";
import { type ParentConfig, parseParentConfig } from "./parent_config.ts";
import type { RunReport } from "./run_report.ts";
import { runParent } from "./run_parent.ts";

function config(port: number, logDir: string): ParentConfig {
  const parsed = parseParentConfig([
    `--port=${port}`,
    `--log-dir=${logDir}`,
    "--children=3",
    "--stagger=0",
    "--duration=0.6",
    "--min-interval=0.02",
    "--max-interval=0.08",
    "--drain=3",
    "--json",
  ], 11);
  assert.notEqual(parsed, "help");
  return parsed as ParentConfig;
}

Deno.test("runParent(): three LikesServers against a real server; generated = acknowledged = counted for each, exit 0", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-run-parent-" });
  try {
    await using server = await serveLikes({});
    let printed = "";
    const snapshots: RunSnapshot[] = [];
    const code = await runParent(config(server.port, dir), {
      print: (text) => (printed += text),
      progress: null,
      runId: "test",
      observe: (snapshot) => snapshots.push(snapshot),
      observeEveryMs: 100,
    });
    const report: RunReport = JSON.parse(printed);
    assert.equal(code, 0, report.verdict);
    assert.equal(report.converged, true);
    assert.equal(report.children.length, 3);
    for (const child of report.children) {
      assert.equal(child.acknowledged, child.generated, child.name);
      assert.equal(child.counted, child.generated, child.name);
    }
    assert.equal(server.table?.total(), report.totals.generated, "the server's total is the sum");
    assert.ok(snapshots.length >= 2, "the live view was fed during the run and at its end");
    assert.ok(
      (await Deno.readTextFile(`${dir}/ParentProcessStatus`)).includes("LikesServer2 started"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runParent(): with no server at all the run does not converge, says why, and exits 1", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-run-parent-" });
  try {
    const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (free.addr as Deno.NetAddr).port;
    free.close();
    let printed = "";
    const run = { ...config(port, dir), drainMs: 300 };
    const code = await runParent(run, { print: (text) => (printed += text), progress: null });
    const report: RunReport = JSON.parse(printed);
    assert.equal(code, 1);
    assert.equal(report.converged, false);
    assert.match(report.verdict, /^NOT CONVERGED/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
