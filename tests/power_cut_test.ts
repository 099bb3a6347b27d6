/**
 * Power cuts under load, on the power-loss filesystem (tests/_power_cut.ts): a real server with
 * its data directory on the mount, many keyed and classic clients, and at random moments a
 * SIGKILL of the server followed by a cut — plain (every unflushed write lost, every unflushed
 * name undone) or torn (a prefix of them kept, the last cut at a 512-byte boundary) — or, now and
 * then, a SIGKILL alone (the unflushed tail stays in the cache, to be cut later). After each
 * restart the counts are checked against what the clients saw acknowledged.
 *
 * - `--fsync always`: nothing acknowledged is ever lost, no keyed seq is counted twice, and the
 *   server starts each time without `--repair` — also with segments rotating and snapshots
 *   written every few dozen records;
 * - `--fsync interval`: what is lost was acknowledged within the last interval (measured, printed);
 * - `--fsync never`: acknowledged likes are lost — the harness can see a loss.
 *
 * Skipped with the reason where FUSE cannot be mounted (CI runs as root and must not skip).
 */

import assert from "node:assert/strict";
import { randomBetween, seededRandom } from "../src/base/random.ts";
import { type ServerProcess, startServer } from "../src/launch/processes.ts";
import {
  listDataFiles,
  segmentName,
  syncDir as syncDirectory,
} from "../src/store/embedded/data_dir.ts";
import { encodeRecord, RECORD_BYTES } from "../src/store/embedded/journal_record.ts";
import { recover } from "../src/store/embedded/recovery.ts";
import { freePort, nameIfSkipped, tempDir } from "./_helpers.ts";
import { PowerCutFs, powerCutSkipReason } from "./_power_cut.ts";
import { Load } from "./_power_cut_load.ts";

const reason = await powerCutSkipReason();
if (reason) {
  Deno.stderr.writeSync(new TextEncoder().encode(`power_cut_test skipped: ${reason}\n`));
}

const say = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(`${line}\n`));

type Fault = "kill" | "cut" | "torn";

/** What one cycle of kill (and cut) and restart found. */
interface Cycle {
  readonly fault: Fault;
  /** What the filesystem reported for the cut. */
  readonly cut: string;
  /** Acknowledged likes the restarted server did not count. */
  readonly lostLikes: number;
  /** For each acknowledged keyed seq lost: how long before the kill it was acknowledged, in ms. */
  readonly lostAckAgesMs: number[];
  /** What recovery logged as a problem. */
  readonly recovery: string[];
}

interface CutRun {
  readonly fsync: "always" | "interval" | "never";
  readonly faults: readonly Fault[];
  readonly args?: readonly string[];
  readonly seed: number;
  readonly keyed?: number;
  readonly classic?: number;
  /** Run time between restart and kill, in ms. @default {[150, 450]} */
  readonly runMs?: readonly [number, number];
}

/**
 * Runs the load against a server on a power-loss mount through `faults`, one per cycle; returns
 * what each cycle found, and the data directory's files at the end. Fails at once on a count that
 * is no sum of whole seqs, on more than was sent, or on a server that does not start.
 */
async function runCuts(run: CutRun): Promise<{ cycles: Cycle[]; segments: number[] }> {
  await using dir = await tempDir("likes-power-run-");
  await using fs = await PowerCutFs.mount();
  const random = seededRandom(run.seed);
  const port = freePort();
  const dataDir = `${fs.mountPoint}/data`;
  const start = () =>
    startServer({
      logDir: dir.path,
      dataDir,
      port,
      workers: 2,
      args: [`--fsync=${run.fsync}`, ...(run.args ?? [])],
      readyTimeoutMs: 30_000,
    });
  const load = new Load(port, { keyed: run.keyed ?? 6, classic: run.classic ?? 3, tag: "pc" });
  let server: ServerProcess | undefined = await start();
  const cycles: Cycle[] = [];
  let logLines = 0;
  try {
    for (const [i, fault] of run.faults.entries()) {
      load.resume();
      const [min, max] = run.runMs ?? [150, 450];
      await new Promise((resolve) => setTimeout(resolve, randomBetween(random, min, max)));
      const killedAt = performance.now();
      server.signal("SIGKILL");
      const parked = load.pause();
      await server.status;
      server = undefined;
      await parked;
      const cut = fault === "cut"
        ? await fs.cut()
        : fault === "torn"
        ? await fs.tornCut(run.seed * 1000 + i)
        : "none";
      server = await start();
      const log = (await Deno.readTextFile(`${dir.path}/PrimaryLikesLog`)).split("\n");
      const recovery = log.slice(logLines).filter((l) => / recovery: /.test(l));
      logLines = log.length - 1;
      cycles.push({ fault, cut, recovery, ...await load.check(port, killedAt, `cycle ${i}`) });
    }
  } finally {
    await load.stop();
    await server?.stop();
  }
  for (const client of [...load.keyed, ...load.classic]) {
    assert.deepEqual(client.surprises, [], `${client.name} got only ACKs`);
  }
  const { segments } = await listDataFiles(dataDir);
  return { cycles, segments };
}

function describeRun(cycles: readonly Cycle[]): string {
  const by = (fault: Fault) => cycles.filter((c) => c.fault === fault).length;
  const bytes = (cycle: Cycle, what: string) =>
    Number(new RegExp(`${what}=(\\d+)`).exec(cycle.cut)?.[1] ?? 0);
  const dropped = cycles.filter((c) => bytes(c, "dropped") > 0).length;
  const kept = cycles.filter((c) => bytes(c, "kept") > 0).length;
  return `${by("cut")} plain cut(s), ${by("torn")} torn cut(s), ${
    by("kill")
  } kill(s) alone; ${dropped} cut(s) dropped unflushed writes, ${kept} kept a torn part`;
}

/** `n` faults: every sixth a SIGKILL alone, the others alternately plain and torn cuts. */
function mixedFaults(n: number): Fault[] {
  return Array.from({ length: n }, (_, i) => i % 6 === 5 ? "kill" : i % 2 === 0 ? "cut" : "torn");
}

Deno.test({
  name: nameIfSkipped(
    "--fsync always: through 20 power cuts (plain and torn) under load, every acknowledged like is counted, none twice, and the server starts without --repair",
    reason,
  ),
  ignore: reason !== null,
  async fn() {
    const faults = mixedFaults(24);
    const { cycles } = await runCuts({ fsync: "always", faults, seed: 17 });
    const cuts = cycles.filter((c) => c.fault !== "kill").length;
    assert.ok(cuts >= 20, `${cuts} cuts`);
    for (const [i, cycle] of cycles.entries()) {
      assert.equal(cycle.lostLikes, 0, `cycle ${i} (${cycle.fault}, ${cycle.cut}) lost likes`);
    }
    const torn = cycles.filter((c) => c.recovery.some((l) => /torn|checksum/.test(l))).length;
    say(`  ${describeRun(cycles)}; ${torn} restart(s) cut a torn tail; nothing acknowledged lost`);
  },
});

Deno.test({
  name: nameIfSkipped(
    "--fsync always --snapshot-every 40: power cuts while segments rotate and snapshots are written lose nothing acknowledged and never need --repair",
    reason,
  ),
  ignore: reason !== null,
  async fn() {
    const faults = mixedFaults(12);
    const { cycles, segments } = await runCuts({
      fsync: "always",
      faults,
      seed: 29,
      args: ["--snapshot-every=40"],
      runMs: [200, 600],
    });
    for (const [i, cycle] of cycles.entries()) {
      assert.equal(cycle.lostLikes, 0, `cycle ${i} (${cycle.fault}, ${cycle.cut}) lost likes`);
    }
    const last = Math.max(...segments);
    assert.ok(last > 3 * faults.length, `segments rotated under load: the last is ${last}`);
    say(`  ${describeRun(cycles)}; ${last} segments in all; nothing acknowledged lost`);
  },
});

Deno.test({
  name: nameIfSkipped(
    "--fsync interval: a power cut loses at most what was acknowledged within the last interval",
    reason,
  ),
  ignore: reason !== null,
  async fn() {
    const intervalMs = 200;
    const faults: Fault[] = Array.from({ length: 10 }, (_, i) => i % 2 === 0 ? "cut" : "torn");
    const { cycles } = await runCuts({
      fsync: "interval",
      faults,
      seed: 41,
      args: [`--fsync-interval=${intervalMs / 1000}`, "--snapshot-every=3000"],
      runMs: [300, 700],
    });
    const ages = cycles.flatMap((c) => c.lostAckAgesMs);
    const oldest = Math.max(0, ...ages);
    const lost = cycles.reduce((sum, c) => sum + c.lostLikes, 0);
    say(
      `  ${
        describeRun(cycles)
      }: ${lost} acknowledged like(s) lost in all; the oldest was acknowledged ${
        oldest.toFixed(0)
      } ms before the kill (interval ${intervalMs} ms)`,
    );
    // The bound: the interval, plus the flush in progress and the scheduling around it.
    assert.ok(
      oldest <= intervalMs + 150,
      `lost a like acknowledged ${oldest.toFixed(0)} ms before`,
    );
  },
});

Deno.test({
  name: nameIfSkipped(
    "--fsync never: the same power cuts lose acknowledged likes (the harness sees a loss)",
    reason,
  ),
  ignore: reason !== null,
  async fn() {
    const faults: Fault[] = ["cut", "torn", "cut", "torn"];
    const { cycles } = await runCuts({
      fsync: "never",
      faults,
      seed: 53,
      runMs: [300, 500],
    });
    const lost = cycles.reduce((sum, c) => sum + c.lostLikes, 0);
    say(`  ${describeRun(cycles)}: ${lost} acknowledged like(s) lost`);
    assert.ok(cycles.every((c) => c.lostLikes > 0), "every cut lost acknowledged likes");
  },
});

Deno.test({
  name: nameIfSkipped(
    "recovery flushes what a kill -9 left of the last segment's unflushed tail, before a new segment follows it",
    reason,
  ),
  ignore: reason !== null,
  async fn() {
    await using fs = await PowerCutFs.mount();
    const dir = `${fs.mountPoint}/data`;
    await Deno.mkdir(dir);
    const bytes = new Uint8Array(5 * RECORD_BYTES);
    const view = new DataView(bytes.buffer);
    for (let seq = 1; seq <= 5; seq++) {
      const record = { kind: "keyed" as const, name: "tail", seq, likes: seq };
      encodeRecord(bytes, view, (seq - 1) * RECORD_BYTES, record, 0, Date.now());
    }
    const path = `${dir}/${segmentName(1)}`;
    {
      using file = await Deno.open(path, { write: true, create: true });
      await file.write(bytes.subarray(0, 3 * RECORD_BYTES));
      await file.syncData();
      await file.write(bytes.subarray(3 * RECORD_BYTES)); // in the page cache only
    }
    await syncDirectory(fs.mountPoint);
    await syncDirectory(dir);
    const recovered = await recover(dir);
    assert.equal(recovered.total, 15);
    await fs.cut();
    assert.equal((await Deno.stat(path)).size, 5 * RECORD_BYTES, "the tail was flushed");
    assert.equal((await recover(dir)).total, 15);
  },
});
