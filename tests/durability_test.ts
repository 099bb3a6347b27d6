/**
 * Durability with real server processes: an ACK survives kill -9 (with `--fsync always`, and with
 * `interval`, which acknowledges once a record is written), keyed retries after a restart
 * are not counted again, a damaged journal tail ends the log where the damage starts (and the
 * client's retries fill it in), damage in an older segment stops the start unless `--repair`, and
 * an unusable data directory stops the server before it listens.
 */

import assert from "node:assert/strict";
import { serverArgs, startServer } from "../src/launch/processes.ts";
import { listDataFiles, segmentName, snapshotName } from "../src/store/embedded/data_dir.ts";
import { formatSnapshot } from "../src/store/embedded/snapshot.ts";
import { encodeRecord, RECORD_BYTES } from "../src/store/embedded/journal_record.ts";
import { freePort, LineConn, readLines, runDeno, stats, tempDir } from "./_helpers.ts";

const likesOf = (seq: number) => seq % 43;

/** Sends keyed seqs `from..to` for `client` on one connection; returns the replies. */
async function sendKeyed(
  port: number,
  client: string,
  from: number,
  to: number,
): Promise<string[]> {
  using conn = await LineConn.open(port);
  const replies: string[] = [];
  for (let seq = from; seq <= to; seq++) {
    replies.push(await conn.request(`LIKE ${client} ${seq} ${likesOf(seq)}`));
  }
  return replies;
}

function sum(from: number, to: number): number {
  let total = 0;
  for (let seq = from; seq <= to; seq++) total += likesOf(seq);
  return total;
}

/** The journal segment that holds records (the newest non-empty one). */
async function activeSegment(dataDir: string): Promise<string> {
  const { segments } = await listDataFiles(dataDir);
  for (const n of segments.reverse()) {
    const path = `${dataDir}/${segmentName(n)}`;
    if ((await Deno.stat(path)).size > 0) return path;
  }
  throw new Error("no journal records");
}

for (const fsync of ["always", "interval"]) {
  Deno.test(`--fsync ${fsync}: an acknowledged like survives kill -9, and keyed retries after the restart count once`, async () => {
    await using dir = await tempDir();
    const dataDir = `${dir.path}/data`;
    {
      await using server = await startServer({
        logDir: dir.path,
        dataDir,
        workers: 2,
        args: [`--fsync=${fsync}`],
      });
      const replies = await sendKeyed(server.port, "k", 1, 200);
      assert.ok(replies.every((r) => r.startsWith("ACK seq=")));
      using conn = await LineConn.open(server.port);
      for (let i = 0; i < 50; i++) assert.equal(await conn.request("LikesServer9 3"), "ACK");
      conn.close();
      const status = await server.stop("SIGKILL");
      assert.equal(status.signal, "SIGKILL");
    }
    await using server = await startServer({ logDir: dir.path, dataDir, workers: 2 });
    const expected = { k: sum(1, 200), LikesServer9: 150 };
    assert.deepEqual((await stats(server.port)).clients, expected);
    const retries = await sendKeyed(server.port, "k", 1, 200);
    assert.ok(retries.every((r) => / dup$/.test(r)), "every retried seq is a duplicate");
    assert.deepEqual((await stats(server.port)).clients, expected, "nothing counted twice");
    assert.match(
      (await sendKeyed(server.port, "k", 201, 201))[0]!,
      /^ACK seq=201 client=\d+ total=\d+$/,
    );
    await server.stop();
    const lines = await readLines(server.logFile);
    assert.ok(
      lines.some((l) =>
        /recovered 2 client\(s\), total \d+ likes from snapshot \d+ and 200|recovered 2 client/
          .test(
            l,
          )
      ),
    );
  });
}

Deno.test("a torn final batch ends the log there quietly; a damaged record that a later flush follows stops the start, and --repair skips only it", async () => {
  await using dir = await tempDir();
  const original = `${dir.path}/original`;
  {
    // One at a time: each message is its own batch, flush and flush marker.
    await using server = await startServer({ logDir: dir.path, dataDir: original, workers: 1 });
    await sendKeyed(server.port, "t", 1, 30);
    await server.stop("SIGKILL");
  }
  const copy = async (name: string) => {
    const target = `${dir.path}/${name}`;
    await Deno.mkdir(target);
    for await (const entry of Deno.readDir(original)) {
      if (entry.name !== "LOCK") {
        await Deno.copyFile(`${original}/${entry.name}`, `${target}/${entry.name}`);
      }
    }
    return target;
  };

  // A power cut while the last batch was written: its marker and 50 bytes of its record are lost.
  const torn = await copy("torn");
  const tornSegment = await activeSegment(torn);
  const size = (await Deno.stat(tornSegment)).size;
  assert.equal(size, 30 * 2 * RECORD_BYTES, "30 records, each with its flush marker");
  await Deno.truncate(tornSegment, size - RECORD_BYTES - 50);
  {
    await using server = await startServer({ logDir: dir.path, dataDir: torn, workers: 1 });
    assert.equal(
      (await stats(server.port)).clients.t,
      sum(1, 29),
      "the 29 complete records are kept",
    );
    assert.match(
      (await sendKeyed(server.port, "t", 30, 30))[0]!,
      /^ACK seq=30 client=\d+ total=\d+$/,
      "seq 30 is counted now",
    );
    assert.equal((await stats(server.port)).clients.t, sum(1, 30));
    await server.stop();
  }
  const tornLog = await readLines(`${dir.path}/PrimaryLikesLog`);
  assert.ok(
    tornLog.some((l) =>
      / WARNING .*recovery: journal-\d+\.log: a torn record of 46 bytes at byte 5568; the log ends there \(an unsynced tail\): 46 bytes discarded$/
        .test(l)
    ),
  );

  // A flipped byte in the 10th record, which 20 later flushes follow: it was flushed, then damaged.
  const flipped = await copy("flipped");
  const flippedSegment = await activeSegment(flipped);
  const bytes = await Deno.readFile(flippedSegment);
  bytes[9 * 2 * RECORD_BYTES + 40]! ^= 0x20;
  await Deno.writeFile(flippedSegment, bytes);
  const refused = await runDeno(
    serverArgs({ logDir: dir.path, port: freePort(), dataDir: flipped, workers: 1 }),
    20_000,
  );
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /error: Cannot recover .*flipped: journal-\d+\.log holds a record that fails its checksum at byte 1728, and flush \d+ was written after the flush \(\d+ or earlier\) that covered it: it was flushed, so this is damage, not a torn tail; start with --repair to skip that record \(its likes are lost\) and keep the 20 record\(s\) after it/,
  );
  assert.equal(refused.stdout, "", "it never listened");
  {
    await using server = await startServer({
      logDir: dir.path,
      dataDir: flipped,
      workers: 1,
      args: ["--repair"],
    });
    assert.equal(
      (await stats(server.port)).clients.t,
      sum(1, 30) - likesOf(10),
      "only the damaged record's likes are lost; the 20 flushed after it are kept",
    );
    const replies = await sendKeyed(server.port, "t", 1, 31);
    assert.ok(replies.slice(0, 30).every((r) => r.endsWith(" dup")), "1..30 are known");
    assert.equal((await stats(server.port)).clients.t, sum(1, 31) - likesOf(10));
    await server.stop();
  }
  const repairedLog = await readLines(`${dir.path}/PrimaryLikesLog`);
  assert.ok(
    repairedLog.some((l) =>
      /recovery: journal-\d+\.log: a record that fails its checksum at byte 1728, in a flushed part of the segment, skipped \(--repair\); its likes are lost$/
        .test(l)
    ),
  );
});

Deno.test("damage in an older journal segment stops the start, unless --repair skips it", async () => {
  await using dir = await tempDir();
  const dataDir = `${dir.path}/data`;
  await Deno.mkdir(dataDir);
  const now = Date.now();
  const segment = (from: number, to: number) => {
    const bytes = new Uint8Array((to - from + 1) * RECORD_BYTES);
    const view = new DataView(bytes.buffer);
    for (let seq = from; seq <= to; seq++) {
      const record = { kind: "keyed" as const, name: "old", seq, likes: likesOf(seq) };
      encodeRecord(bytes, view, (seq - from) * RECORD_BYTES, record, 0, now);
    }
    return bytes;
  };
  const first = segment(1, 10);
  first[4 * RECORD_BYTES + 60]! ^= 0x04; // seq 5, in a segment that was flushed before segment 2
  await Deno.writeFile(`${dataDir}/${segmentName(1)}`, first);
  await Deno.writeFile(`${dataDir}/${segmentName(2)}`, segment(11, 20));
  const port = freePort();
  const refused = await runDeno(serverArgs({ logDir: dir.path, dataDir, port }), 20_000);
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /^error: Cannot recover .*\/data: journal-000000000001\.log holds a record that fails its checksum at byte 384, in a segment that was fully flushed \(damage, not a crash\); start with --repair to skip it and lose its likes$/m,
  );
  assert.equal(refused.stdout, "", "it never listened");
  await using server = await startServer({ logDir: dir.path, dataDir, args: ["--repair"] });
  assert.equal(
    (await stats(server.port)).clients.old,
    sum(1, 20) - likesOf(5),
    "with --repair only the damaged record is lost",
  );
  assert.match((await sendKeyed(server.port, "old", 21, 21))[0]!, /^ACK seq=21 /);
});

Deno.test("an unusable data directory stops the server with a clear error before it listens", async (t) => {
  await using dir = await tempDir();
  const port = freePort();
  const refuse = async (args: string[], message: RegExp) => {
    const run = await runDeno(args, 20_000);
    assert.equal(run.code, 1);
    assert.match(run.stderr, message);
    assert.equal(run.stdout, "", "it never printed listening");
    await assert.rejects(
      Deno.connect({ hostname: "127.0.0.1", port }),
      Deno.errors.ConnectionRefused,
    );
  };
  await t.step("a file where the directory should be", async () => {
    await Deno.writeTextFile(`${dir.path}/file`, "not a directory");
    await refuse(
      serverArgs({ logDir: dir.path, port, dataDir: `${dir.path}/file` }),
      /error: Cannot use data directory .*\/file: it is not a directory/,
    );
  });
  await t.step("a directory the server may not write", async () => {
    const args = serverArgs({ logDir: dir.path, port, dataDir: `${dir.path}/elsewhere` })
      .map((a) => a.replace(`,${dir.path}/elsewhere`, `,${dir.path}/granted`));
    await refuse(
      args,
      /error: Cannot (use|create) data directory .*\/elsewhere: no permission; run deno with --allow-read=.*\/elsewhere --allow-write=.*\/elsewhere/,
    );
  });
  await t.step("a directory another running server holds", async () => {
    const dataDir = `${dir.path}/shared`;
    await using first = await startServer({ logDir: dir.path, dataDir, workers: 1 });
    await refuse(
      serverArgs({ logDir: dir.path, port, dataDir }),
      new RegExp(
        `error: Cannot use data directory .*/shared: another server \\(pid ${first.pid}\\) is using it`,
      ),
    );
    assert.equal((await stats(first.port)).total, 0, "the first server is unharmed");
  });
});

Deno.test("a restart recovers a journal of a million likes exactly", async () => {
  await using dir = await tempDir();
  const dataDir = `${dir.path}/data`;
  await Deno.mkdir(dataDir);
  const clients = 100;
  const perClient = 250; // 25,000 records of 40 likes: 1,000,000 likes
  const bytes = new Uint8Array(clients * perClient * RECORD_BYTES);
  const view = new DataView(bytes.buffer);
  let at = 0;
  for (let seq = 1; seq <= perClient; seq++) {
    for (let c = 0; c < clients; c++, at += RECORD_BYTES) {
      const record = { kind: "keyed" as const, name: `bulk-${c}`, seq, likes: 40 };
      encodeRecord(bytes, view, at, record, 0, Date.now());
    }
  }
  await Deno.writeFile(`${dataDir}/${segmentName(1)}`, bytes);
  await using server = await startServer({ logDir: dir.path, dataDir, workers: 1 });
  const s = await stats(server.port);
  assert.equal(s.total, 1_000_000);
  assert.equal(Object.keys(s.clients).length, clients);
  using conn = await LineConn.open(server.port);
  assert.match(
    await conn.request(`LIKE bulk-7 ${perClient} 40`),
    / dup$/,
    "the recovered seqs are remembered",
  );
  assert.match(
    await conn.request(`LIKE bulk-7 ${perClient} 41`),
    /^ERR conflict: seq 250 was counted with 40 likes/,
  );
  conn.close();
  await server.stop();
  const lines = await readLines(server.logFile);
  assert.ok(
    lines.some((l) =>
      /recovered 100 client\(s\), total 1000000 likes from no snapshot and 25000 journal record\(s\) in \d+ ms/
        .test(l)
    ),
  );
});

/** Sends keyed seqs 1, 2, … for `client`, `depth` at a time, until the connection fails. */
async function pipelineUntilDown(
  port: number,
  client: string,
  depth: number,
  stop: { down: boolean },
): Promise<{ sent: number; acked: number }> {
  let sent = 0;
  let acked = 0;
  try {
    using conn = await LineConn.open(port);
    while (!stop.down) {
      const lines = [];
      for (let i = 1; i <= depth; i++) {
        lines.push(`LIKE ${client} ${sent + i} ${likesOf(sent + i)}\n`);
      }
      await conn.send(lines.join(""));
      sent += depth;
      for (let i = 0; i < depth; i++) {
        const reply = await conn.line(2000);
        assert.match(reply, /^ACK seq=\d+ /, reply);
        acked = Math.max(acked, Number(/seq=(\d+)/.exec(reply)![1]));
      }
    }
  } catch {
    // The server was killed: what was sent and acknowledged so far is the record.
  }
  return { sent, acked };
}

for (const fsync of ["always", "interval"]) {
  Deno.test(`--fsync ${fsync}: kill -9 while 8 clients pipeline across 2 Workers: every ACK survives, and resending counts each like once`, async () => {
    await using dir = await tempDir();
    const dataDir = `${dir.path}/data`;
    const clients = Array.from({ length: 8 }, (_, i) => `pipe-${i}`);
    let results: { sent: number; acked: number }[];
    {
      await using server = await startServer({
        logDir: dir.path,
        dataDir,
        workers: 2,
        args: [`--fsync=${fsync}`],
      });
      const stop = { down: false };
      const running = clients.map((c) => pipelineUntilDown(server.port, c, 8, stop));
      await new Promise((r) => setTimeout(r, 400)); // flushes are in flight all the time now
      const status = await server.stop("SIGKILL");
      stop.down = true;
      assert.equal(status.signal, "SIGKILL");
      results = await Promise.all(running);
    }
    assert.ok(results.every((r) => r.acked > 0), JSON.stringify(results));
    await using server = await startServer({ logDir: dir.path, dataDir, workers: 2 });
    const recovered = (await stats(server.port)).clients;
    clients.forEach((client, i) => {
      const { sent, acked } = results[i]!;
      const count = recovered[client] ?? 0;
      assert.ok(count >= sum(1, acked), `${client}: every acknowledged like survived`);
      assert.ok(count <= sum(1, sent), `${client}: nothing that was not sent`);
    });
    // Each client resends everything it sent: what the server had is a duplicate, the rest counts.
    await Promise.all(clients.map(async (client, i) => {
      const replies = await sendKeyed(server.port, client, 1, results[i]!.sent);
      assert.ok(replies.every((r) => r.startsWith("ACK seq=")), client);
    }));
    const final = (await stats(server.port)).clients;
    clients.forEach((client, i) => {
      assert.equal(final[client], sum(1, results[i]!.sent), `${client}: each like exactly once`);
    });
    await server.stop();
  });
}

Deno.test("counts stay below 2^53: a like that would pass it is refused, and the server restarts exactly", async () => {
  await using dir = await tempDir();
  const dataDir = `${dir.path}/data`;
  await Deno.mkdir(dataDir);
  const near = Number.MAX_SAFE_INTEGER - 50;
  const client = { count: near, lastSeq: 0, lastLikes: 0, lastSeen: Date.now() };
  await Deno.writeTextFile(
    `${dataDir}/${snapshotName(1)}`,
    formatSnapshot({
      segment: 1,
      total: near,
      records: 1,
      clients: new Map([["LikesServer1", client]]),
    }),
  );
  {
    await using server = await startServer({ logDir: dir.path, dataDir, workers: 1 });
    using conn = await LineConn.open(server.port);
    assert.equal(await conn.request("LikesServer1 42"), "ACK");
    assert.match(
      await conn.request("LikesServer1 42"),
      /^ERR count limit: 42 more likes would take a count past 9007199254740991; not counted$/,
    );
    assert.match(await conn.request("LIKE other 1 9"), /^ERR count limit: 9 more likes/);
    assert.match(
      await conn.request("LIKE other 1 1"),
      /^ACK seq=1 client=1 total=9007199254740984$/,
    );
    conn.close();
    await server.stop();
  }
  await using server = await startServer({ logDir: dir.path, dataDir, workers: 1 });
  const after = await stats(server.port);
  assert.equal(after.total, Number.MAX_SAFE_INTEGER - 7);
  assert.deepEqual(after.clients, { LikesServer1: near + 42, other: 1 });
});
