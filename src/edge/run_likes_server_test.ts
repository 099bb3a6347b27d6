import assert from "node:assert/strict";
import { serveLikes } from "../server/likes_service.ts";
import type { EdgeReport } from "../protocol/edge_report.ts";
import { freePort } from "../launch/free_port.ts";
import { delay } from "../base/delay.ts";
import { parseEdgeConfig } from "./edge_config.ts";
import type { EdgeConfig } from "./edge_config.ts";
import { runLikesServer } from "./run_likes_server.ts";
import { recordingOutput } from "../../tests/_helpers.ts";

/** A short, quiet LikesServer run against `port`, reporting JSON lines. */
function shortRun(port: number, logDir: string, extra: string[] = []): EdgeConfig {
  const config = parseEdgeConfig(
    [
      `--port=${port}`,
      "--id=3",
      "--duration=0.4",
      "--min-interval=0.01",
      "--max-interval=0.03",
      "--seed=7",
      "--reply-timeout=0.3",
      "--max-backoff=0.1",
      `--log-dir=${logDir}`,
      "--report-json",
      "--quiet",
      ...extra,
    ],
    "test",
    7,
  );
  assert.notEqual(config, "help");
  return config as EdgeConfig;
}

/** Runs it, returning its exit code and every report line, parsed. */
async function run(config: EdgeConfig): Promise<{ code: number; reports: EdgeReport[] }> {
  const reports: EdgeReport[] = [];
  const code = await runLikesServer(config, {
    jitter: () => 0.5,
    report: (line) => reports.push(JSON.parse(line)),
  });
  return { code, reports };
}

async function withDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-run-edge-" });
  try {
    return await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("runLikesServer(): every like it generated is acknowledged and counted once, and it exits 0", async () => {
  await withDir(async (dir) => {
    await using server = await serveLikes({});
    const { code, reports } = await run(shortRun(server.port, dir));
    const last = reports.at(-1)!;
    assert.equal(code, 0);
    assert.deepEqual(
      [reports[0]!.phase, last.phase],
      ["running", "done"],
      "reports run from start to done",
    );
    assert.ok(last.generated > 0, "it generated likes");
    assert.equal(last.acknowledged, last.generated);
    assert.equal(last.unacknowledged, 0);
    assert.equal(server.table?.total(), last.generated, "counted = acknowledged");
    const log = await Deno.readTextFile(`${dir}/LikesServer3`);
    assert.match(
      log,
      new RegExp(`finished: generated ${last.generated}, acknowledged ${last.generated}`),
    );
  });
});

Deno.test("runLikesServer(): likes made while the server is away are kept and sent once it is up", async () => {
  await withDir(async (dir) => {
    const port = freePort();
    const running = run(shortRun(port, dir, ["--drain=5"]));
    await delay(250); // the run is half over: its first messages found no server
    await using server = await serveLikes({ port });
    const { code, reports } = await running;
    const last = reports.at(-1)!;
    assert.ok(reports.some((r) => !r.connected && r.unacknowledged > 0), "likes were kept");
    assert.equal(code, 0);
    assert.equal(last.acknowledged, last.generated);
    assert.equal(server.table?.total(), last.generated, "each kept like counted once");
  });
});

Deno.test("runLikesServer(): with no server for its whole drain it reports its likes unacknowledged and exits 1", async () => {
  await withDir(async (dir) => {
    const { code, reports } = await run(shortRun(freePort(), dir, ["--drain=0.2"]));
    const last = reports.at(-1)!;
    assert.equal(code, 1);
    assert.ok(last.generated > 0);
    assert.equal(last.acknowledged, 0);
    assert.equal(last.unacknowledged, last.generated);
  });
});

Deno.test("runLikesServer(): a log directory that does not exist is one error and exit 1, before any like", async () => {
  const reports: string[] = [];
  const errors = recordingOutput();
  const config = shortRun(freePort(), "/tmp/likes-no-such-dir/below");
  assert.equal(
    await runLikesServer(config, { report: (line) => reports.push(line), errors }),
    1,
  );
  assert.deepEqual(reports, []);
  assert.deepEqual(errors.lines(), [
    "error: Cannot write /tmp/likes-no-such-dir/below/LikesServer3: the directory /tmp/likes-no-such-dir/below does not exist",
  ]);
});
