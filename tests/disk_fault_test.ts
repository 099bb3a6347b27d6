/**
 * Disk faults under load, on the power-loss filesystem (tests/_power_cut.ts): the disk fills up
 * (`ENOSPC` on journal or snapshot writes) or fails a flush (`EIO`). The server must fail-stop:
 * no `ACK` for anything not durable, one clear log line, a non-zero exit within 10 s. Then the
 * power goes too (everything unflushed is dropped), the fault heals, and a restart must count
 * every like that was acknowledged — from the old snapshot when a new one could not be written.
 *
 * Skipped with the reason where FUSE cannot be mounted (CI runs as root and must not skip).
 */

import assert from "node:assert/strict";
import { type ServerProcess, startServer } from "../src/launch/processes.ts";
import { freePort, nameIfSkipped, tempDir, until } from "./_helpers.ts";
import { PowerCutFs, powerCutSkipReason } from "./_power_cut.ts";
import { Load } from "./_power_cut_load.ts";
import { listDataFiles, segmentName } from "../src/store/embedded/data_dir.ts";

const reason = await powerCutSkipReason();
if (reason) {
  Deno.stderr.writeSync(new TextEncoder().encode(`disk_fault_test skipped: ${reason}\n`));
}

const say = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(`${line}\n`));

interface FaultRun {
  readonly fsync: "always" | "never";
  readonly args?: readonly string[];
  /** Injects the fault. */
  readonly inject: (fs: PowerCutFs) => Promise<void>;
  /** How the power goes after the server died: seeded torn cut, or plain. @default {plain} */
  readonly tornSeed?: number;
}

interface FaultResult {
  /** From the injection to the server's exit, in ms. */
  readonly exitMs: number;
  readonly code: number;
  /** The ERROR lines the failing server logged. */
  readonly errors: string[];
  /** Acknowledged likes the restarted server did not count. */
  readonly lostLikes: number;
  /** Likes acknowledged before the server died. */
  readonly acknowledged: number;
  /** The restarted server's recovery line. */
  readonly recovered: string;
  /** Files with unflushed writes when the server had died, before the power went. */
  readonly unsynced: Map<string, number>;
  /** The journal segments then. */
  readonly segments: string[];
}

async function faultRun(run: FaultRun): Promise<FaultResult> {
  await using dir = await tempDir("likes-disk-fault-");
  await using fs = await PowerCutFs.mount();
  const port = freePort();
  const start = () =>
    startServer({
      logDir: dir.path,
      dataDir: `${fs.mountPoint}/data`,
      port,
      workers: 2,
      args: [`--fsync=${run.fsync}`, ...(run.args ?? [])],
      readyTimeoutMs: 30_000,
    });
  const load = new Load(port, { keyed: 4, classic: 2, tag: "df" });
  let server: ServerProcess | undefined = await start();
  try {
    load.resume();
    await new Promise((resolve) => setTimeout(resolve, 400));
    const injectedAt = performance.now();
    await run.inject(fs);
    const timer = setTimeout(() => server?.signal("SIGKILL"), 15_000);
    const status = await server.status;
    clearTimeout(timer);
    const exitMs = performance.now() - injectedAt;
    server = undefined;
    await load.pause();
    const acknowledged = load.acknowledged;
    const log = await Deno.readTextFile(`${dir.path}/PrimaryLikesLog`);
    const errors = log.split("\n").filter((l) => / ERROR /.test(l));
    const unsynced = await fs.unsynced();
    const segments = (await listDataFiles(`${fs.mountPoint}/data`)).segments.map(segmentName);
    if (run.tornSeed === undefined) await fs.cut();
    else await fs.tornCut(run.tornSeed);
    await fs.heal();
    server = await start();
    const { lostLikes } = await load.check(port, performance.now(), "after the restart");
    // The log reaches its file within 100 ms of a line (buffered): wait for the recovery line.
    let recovered = "";
    await until("the restarted server logged its recovery", async () => {
      const after = await Deno.readTextFile(`${dir.path}/PrimaryLikesLog`);
      recovered = after.slice(log.length).split("\n").find((l) => / recovered /.test(l)) ?? "";
      return recovered !== "";
    }, 5000);
    return {
      exitMs,
      code: status.code,
      errors,
      lostLikes,
      acknowledged,
      recovered,
      unsynced,
      segments,
    };
  } finally {
    await load.stop();
    await server?.stop();
  }
}

function assertFailStop(result: FaultResult, cause: RegExp): void {
  assert.notEqual(result.code, 0, "the server exits non-zero");
  assert.ok(result.exitMs < 10_000, `it exits within 10 s (took ${result.exitMs.toFixed(0)} ms)`);
  assert.equal(result.errors.length, 1, `one ERROR line: ${result.errors.join("\n")}`);
  assert.match(result.errors[0]!, cause);
  assert.ok(result.acknowledged > 0, "likes were acknowledged before the fault");
  assert.equal(result.lostLikes, 0, "every acknowledged like is counted after the restart");
}

const report = (what: string, r: FaultResult) =>
  say(
    `  ${what}: exit ${r.code} after ${
      r.exitMs.toFixed(0)
    } ms; ${r.acknowledged} likes acknowledged, all counted after the restart\n  ${
      r.errors[0]?.replace(/^\S+ /, "")
    }`,
  );

Deno.test({
  name: nameIfSkipped(
    "a full disk (ENOSPC on a journal write) stops the server at once with one log line, and a restart after a cut counts every acknowledged like",
    reason,
  ),
  ignore: reason !== null,
  async fn() {
    const result = await faultRun({ fsync: "always", inject: (fs) => fs.failWrites("journal-") });
    report("ENOSPC", result);
    assertFailStop(result, /journal.*(No space left on device|os error 28)/);
  },
});

Deno.test({
  name: nameIfSkipped(
    "a failed flush (EIO) stops the server at once with one log line, acknowledging nothing it covered, and a restart after a cut counts every acknowledged like",
    reason,
  ),
  ignore: reason !== null,
  async fn() {
    const result = await faultRun({ fsync: "always", inject: (fs) => fs.failFlushes("journal-") });
    report("EIO", result);
    assertFailStop(result, /journal.*(Input\/output error|os error 5)/);
  },
});

Deno.test({
  name: nameIfSkipped(
    "a snapshot that cannot be written (ENOSPC) stops the server and leaves the old snapshot usable: a restart counts every acknowledged like",
    reason,
  ),
  ignore: reason !== null,
  async fn() {
    const result = await faultRun({
      fsync: "always",
      args: ["--snapshot-every=60"],
      inject: (fs) => fs.failWrites("snapshot"),
      tornSeed: 7,
    });
    report("ENOSPC on the snapshot", result);
    assertFailStop(result, /snapshot.*(No space left on device|os error 28)/);
    assert.match(result.recovered, /from snapshot \d+ and [1-9]\d* journal record/);
  },
});

Deno.test({
  name: nameIfSkipped(
    "--fsync never: a segment is flushed before the next one is created, so a torn cut after a failed rotation needs no --repair",
    reason,
  ),
  ignore: reason !== null,
  async fn() {
    for (const seed of [1, 2, 3]) {
      const result = await faultRun({
        fsync: "never",
        args: ["--snapshot-every=60"],
        inject: (fs) => fs.failWrites("snapshot"),
        tornSeed: seed,
      });
      assert.notEqual(result.code, 0);
      // The rotation failed after it created the next segment: every older one must be flushed.
      const newest = result.segments[result.segments.length - 1]!;
      const unflushed = [...result.unsynced.keys()].filter((p) => /journal-/.test(p));
      assert.ok(
        unflushed.every((path) => path.endsWith(newest)),
        `seed ${seed}: only the newest segment (${newest}) may hold unflushed records: ${unflushed}`,
      );
      assert.match(result.recovered, /recovered /, `seed ${seed}: the server started`);
    }
  },
});
