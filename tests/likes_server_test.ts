/**
 * One LikesServer as a real process: retries until the server appears, gives up after its drain,
 * and repeats its batches for a fixed seed.
 */

import assert from "node:assert/strict";
import { likesServerArgs, startServer } from "../src/launch/processes.ts";
import { parseEdgeReport } from "../src/protocol/edge_report.ts";
import { freePort, readLines, stats, tempDir } from "./_helpers.ts";

function likesServer(port: number, logDir: string, args: string[]) {
  return new Deno.Command("deno", {
    args: likesServerArgs({ port, logDir, args: ["--report-json", "--quiet", ...args] }),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

function lastReport(stdout: Uint8Array) {
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  return parseEdgeReport(lines.at(-1)!);
}

Deno.test("likes_server.ts keeps unacknowledged likes until the server appears, then converges", async () => {
  await using dir = await tempDir();
  const port = freePort();
  const edge = likesServer(port, dir.path, [
    "--id=5",
    "--client-id=late-5",
    "--duration=1.2",
    "--min-interval=0.05",
    "--max-interval=0.1",
    "--max-backoff=0.2",
    "--drain=10",
  ]).spawn();
  await new Promise((r) => setTimeout(r, 800));
  await using server = await startServer({ logDir: dir.path, port, workers: 1 });
  const output = await edge.output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const report = lastReport(output.stdout);
  assert.ok(report && report.phase === "done");
  assert.ok(report.generated > 0);
  assert.equal(report.acknowledged, report.generated);
  assert.equal((await stats(server.port)).clients["late-5"], report.generated);
  const log = await readLines(`${dir.path}/LikesServer5`);
  assert.ok(
    log.some((l) =>
      /→ no connection \(ConnectionRefused: .*\); \d+ likes kept, retry \d+ in/.test(l)
    ),
  );
  assert.ok(log.some((l) => /reached the server again after \d+ failed attempt/.test(l)));
});

Deno.test("likes_server.ts exits 1 when its likes stay unacknowledged after the drain", async () => {
  await using dir = await tempDir();
  const output = await likesServer(freePort(), dir.path, [
    "--id=6",
    "--duration=0.3",
    "--min-interval=0.05",
    "--max-interval=0.1",
    "--drain=0.3",
  ]).output();
  assert.equal(output.code, 1);
  const report = lastReport(output.stdout);
  assert.ok(report && report.generated > 0 && report.acknowledged === 0);
  const log = await readLines(`${dir.path}/LikesServer6`);
  assert.match(
    log.at(-1)!,
    /finished: generated \d+, acknowledged 0, sent without an answer 0, failed \d+ → exit 1$/,
  );
});

Deno.test("likes_server.ts repeats its batches for a fixed --seed", async () => {
  await using dir = await tempDir();
  await using server = await startServer({ logDir: dir.path, workers: 1 });
  const batches = async (id: number) => {
    const output = await likesServer(server.port, dir.path, [
      `--id=${id}`,
      "--seed=7",
      "--duration=0.6",
      "--min-interval=0.02",
      "--max-interval=0.05",
    ]).output();
    assert.equal(output.code, 0);
    return (await readLines(`${dir.path}/LikesServer${id}`))
      .map((l) => new RegExp(`likes\\.edge\\.batch LikesServer${id} (\\d+)$`).exec(l)?.[1])
      .filter((x) => x !== undefined);
  };
  const [a, b] = [await batches(1), await batches(2)];
  const n = Math.min(a.length, b.length);
  assert.ok(n >= 5, `enough batches to compare (${n})`);
  assert.deepEqual(a.slice(0, n), b.slice(0, n));
});
