import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { DataDirError, listDataFiles, openDataDir, segmentName, snapshotName } from "./data_dir.ts";
import {
  decodeFlushMarker,
  decodeRecord,
  encodeFlushMarker,
  encodeRecord,
  type JournalRecord,
  RECORD_BYTES,
} from "./journal_record.ts";
import { JournalRing } from "./journal_ring.ts";
import { type FsyncMode, JournalWriter } from "./journal_writer.ts";
import { LikesTable } from "./likes_table.ts";
import { recover } from "./recovery.ts";
import { crc32 } from "./crc32.ts";
import { formatSnapshot, parseSnapshot } from "./snapshot.ts";

const log = getLogger(["likes", "test"]);

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-journal-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** When the hand-made records below were written. */
const T = 1_700_000_000_000;

function records(list: JournalRecord[], time = T): Uint8Array {
  const bytes = new Uint8Array(list.length * RECORD_BYTES);
  const view = new DataView(bytes.buffer);
  list.forEach((r, i) => encodeRecord(bytes, view, i * RECORD_BYTES, r, 0, time));
  return bytes;
}

/** Runs a server-shaped pipeline in one thread: table + ring + writer over `dir`. */
async function withJournal<T>(
  dir: string,
  options: { fsync?: FsyncMode; snapshotEvery?: number; fsyncIntervalMs?: number },
  use: (table: LikesTable, ring: JournalRing, writer: JournalWriter) => Promise<T>,
): Promise<T> {
  using _lock = await openDataDir(dir);
  const recovered = await recover(dir);
  const ring = JournalRing.create({ capacity: 64 });
  const table = LikesTable.create({ maxClients: 64, journal: ring });
  const slots = table.restoreAll(recovered.clients, recovered.total);
  const writer = await JournalWriter.start(ring, recovered, slots, { dir, log, ...options });
  try {
    return await use(table, ring, writer);
  } finally {
    await writer.stop();
  }
}

async function untilDurable(ring: JournalRing, index: number): Promise<void> {
  while (!ring.isDurable(index)) await ring.waitDurableChange(ring.durable(), 100);
}

Deno.test("openDataDir() creates, locks, and refuses a second owner or a file", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/nested/data`;
  const first = await openDataDir(path);
  await assert.rejects(
    openDataDir(path),
    (e) =>
      e instanceof DataDirError &&
      e.message ===
        `Cannot use data directory ${path}: another server (pid ${Deno.pid}) is using it`,
  );
  first.release();
  (await openDataDir(path)).release();
  await Deno.writeTextFile(`${dir.path}/plain`, "x");
  await assert.rejects(
    openDataDir(`${dir.path}/plain`),
    /Cannot use data directory .*\/plain: it is not a directory/,
  );
});

Deno.test("parseSnapshot() rejects damaged snapshots", () => {
  const text = formatSnapshot({
    segment: 2,
    total: 3,
    records: 1,
    clients: new Map([["c", { count: 3, lastSeq: 1, lastLikes: 3, lastSeen: T }]]),
  });
  assert.ok(parseSnapshot(text));
  assert.equal(
    parseSnapshot(text.replace('"total":3', '"total":4')),
    null,
    "checksum catches an edit",
  );
  assert.equal(parseSnapshot(text.slice(0, 20)), null, "truncated");
  assert.equal(parseSnapshot(""), null);
});

Deno.test("parseSnapshot() still reads a format-1 snapshot, its clients seen at load time", () => {
  const body = JSON.stringify({
    format: "likes-snapshot/1",
    segment: 1,
    total: 3,
    records: 1,
    clients: [["c", 3, 1, 3]],
  });
  const crc = crc32(new TextEncoder().encode(body)).toString(16).padStart(8, "0");
  assert.deepEqual(parseSnapshot(`${body}\n${crc}\n`, T)?.clients.get("c"), {
    count: 3,
    lastSeq: 1,
    lastLikes: 3,
    lastSeen: T,
  });
});

Deno.test("recover() ends the log at the first corrupt record of the last segment, and cuts the file there", async () => {
  await using dir = await tempDir();
  const bytes = records([
    { kind: "keyed", name: "a", seq: 1, likes: 5 },
    { kind: "classic", name: "LikesServer1", seq: 0, likes: 7 },
    { kind: "keyed", name: "a", seq: 2, likes: 1 },
    { kind: "keyed", name: "b", seq: 1, likes: 2 },
  ]);
  bytes[2 * RECORD_BYTES + 30]! ^= 0xff; // flip a byte inside the third record
  const path = `${dir.path}/${segmentName(1)}`;
  await Deno.writeFile(path, bytes);
  const state = await recover(dir.path);
  assert.equal(state.total, 12, "the fourth record, after the corrupt one, is not counted");
  assert.deepEqual(Object.fromEntries(state.clients), {
    a: { count: 5, lastSeq: 1, lastLikes: 5, lastSeen: T },
    LikesServer1: { count: 7, lastSeq: 0, lastLikes: 0, lastSeen: T },
  });
  assert.equal(state.replayed, 2);
  assert.deepEqual(state.problems, [
    `${
      segmentName(1)
    }: a record that fails its checksum at byte 192; the log ends there (an unsynced tail): 192 bytes discarded`,
  ]);
  assert.equal(state.nextSegment, 2);
  assert.equal((await Deno.stat(path)).size, 192, "the discarded tail is cut off the file");
  const again = await recover(dir.path);
  assert.deepEqual([again.total, again.problems], [12, []], "a second recovery finds a clean log");
});

Deno.test("recover() discards a torn tail, and does not count a record whose predecessor never reached the disk", async () => {
  await using dir = await tempDir();
  // The unsynced tail reached the disk out of order: seq 3 of client c is missing, seq 4 is there.
  const bytes = records([
    { kind: "keyed", name: "c", seq: 1, likes: 1 },
    { kind: "keyed", name: "c", seq: 2, likes: 2 },
    { kind: "keyed", name: "c", seq: 4, likes: 8 },
    { kind: "keyed", name: "d", seq: 1, likes: 3 },
  ]);
  const torn = new Uint8Array(bytes.length + 40);
  torn.set(bytes);
  torn.set(bytes.subarray(0, 40), bytes.length); // 40 bytes of a fifth record
  await Deno.writeFile(`${dir.path}/${segmentName(1)}`, torn);
  const state = await recover(dir.path);
  assert.deepEqual(state.clients.get("c"), { count: 3, lastSeq: 2, lastLikes: 2, lastSeen: T });
  assert.equal(state.total, 6, "seq 4 is not counted: c retries seq 3 and then 4");
  assert.deepEqual(state.problems, [
    `${
      segmentName(1)
    }: a torn record of 40 bytes at byte 384; the log ends there (an unsynced tail): 40 bytes discarded`,
    `client "c": 1 keyed record(s) after a missing seq not counted`,
  ]);
});

/** Batches of records, each followed by its flush marker (as the writer writes them). */
function batches(list: { flush: number; records: JournalRecord[] }[]): Uint8Array {
  const parts = list.map(({ flush, records: batch }) => {
    const bytes = new Uint8Array((batch.length + 1) * RECORD_BYTES);
    bytes.set(records(batch));
    const marker = { flush, records: batch.length };
    encodeFlushMarker(bytes, new DataView(bytes.buffer), batch.length * RECORD_BYTES, marker, T);
    return bytes;
  });
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
  return all;
}

const keyed = (seq: number): JournalRecord => ({ kind: "keyed", name: "f", seq, likes: seq });

Deno.test("recover() in the last segment: damage that a later flush follows is corruption, refused unless repair skips just it", async () => {
  await using dir = await tempDir();
  const bytes = batches([
    { flush: 1, records: [keyed(1), keyed(2)] },
    { flush: 2, records: [keyed(3)] },
    { flush: 3, records: [keyed(4), keyed(5)] },
  ]);
  bytes[1 * RECORD_BYTES + 20]! ^= 0x10; // seq 2, covered by flush 1, which flush 2 followed
  await Deno.writeFile(`${dir.path}/${segmentName(1)}`, bytes);
  await assert.rejects(
    recover(dir.path),
    (e) =>
      e instanceof DataDirError &&
      e.message ===
        `Cannot recover ${dir.path}: ${
          segmentName(1)
        } holds a record that fails its checksum at byte 96, and flush 2 was written after the flush (1 or earlier) that covered it: it was flushed, so this is damage, not a torn tail; start with --repair to skip that record (its likes are lost) and keep the 3 record(s) after it`,
  );
  const repaired = await recover(dir.path, { repair: true });
  assert.equal(repaired.total, 1 + 3 + 4 + 5, "only seq 2 is lost");
  assert.equal(repaired.records, 4, "markers are not records");
  assert.equal((await Deno.stat(`${dir.path}/${segmentName(1)}`)).size, bytes.length, "kept");
});

Deno.test("recover() in the last segment: damage within the last flush is a torn tail, ended quietly, even with valid records of that flush after it", async () => {
  await using dir = await tempDir();
  // --fsync interval: batches 2 and 3 were written while flush 2 was due; a cut tore batch 2.
  const bytes = batches([
    { flush: 1, records: [keyed(1)] },
    { flush: 2, records: [keyed(2), keyed(3)] },
    { flush: 2, records: [keyed(4)] },
  ]);
  bytes[2 * RECORD_BYTES + 20]! ^= 0x10; // seq 2
  await Deno.writeFile(`${dir.path}/${segmentName(1)}`, bytes);
  const state = await recover(dir.path);
  assert.equal(state.total, 1);
  assert.deepEqual(state.problems, [
    `${
      segmentName(1)
    }: a record that fails its checksum at byte 192; the log ends there (an unsynced tail): ${
      bytes.length - 192
    } bytes discarded`,
  ]);
});

Deno.test("recover() refuses corruption in an older, fully flushed segment unless told to repair", async () => {
  await using dir = await tempDir();
  const older = records([
    { kind: "keyed", name: "c", seq: 1, likes: 1 },
    { kind: "keyed", name: "c", seq: 2, likes: 2 },
    { kind: "keyed", name: "c", seq: 3, likes: 4 },
  ]);
  older[RECORD_BYTES + 50]! ^= 0x01; // seq 2 is damaged
  await Deno.writeFile(`${dir.path}/${segmentName(1)}`, older);
  await Deno.writeFile(
    `${dir.path}/${segmentName(2)}`,
    records([{ kind: "keyed", name: "c", seq: 4, likes: 8 }]),
  );
  await assert.rejects(
    recover(dir.path),
    (e) =>
      e instanceof DataDirError &&
      e.message ===
        `Cannot recover ${dir.path}: ${
          segmentName(1)
        } holds a record that fails its checksum at byte 96, in a segment that was fully flushed (damage, not a crash); start with --repair to skip it and lose its likes`,
  );
  const repaired = await recover(dir.path, { repair: true });
  assert.deepEqual(repaired.clients.get("c"), { count: 13, lastSeq: 4, lastLikes: 8, lastSeen: T });
  assert.deepEqual(repaired.problems, [
    `${
      segmentName(1)
    }: a record that fails its checksum at byte 96 skipped (--repair); its likes are lost`,
  ]);
  assert.equal((await Deno.stat(`${dir.path}/${segmentName(1)}`)).size, 3 * RECORD_BYTES, "kept");
});

Deno.test("recover() replays an expired client away, keeping its likes in the total", async () => {
  await using dir = await tempDir();
  await Deno.writeFile(
    `${dir.path}/${segmentName(1)}`,
    records([
      { kind: "keyed", name: "c", seq: 1, likes: 4 },
      { kind: "expire", name: "c", seq: 0, likes: 0 },
      { kind: "keyed", name: "c", seq: 1, likes: 2 }, // a new client under the same name
    ]),
  );
  const state = await recover(dir.path);
  assert.equal(state.total, 6);
  assert.deepEqual(state.clients.get("c"), { count: 2, lastSeq: 1, lastLikes: 2, lastSeen: T });
});

Deno.test("recover() starts from the newest valid snapshot and falls back to the older one", async () => {
  await using dir = await tempDir();
  const snapshot = (segment: number, count: number) =>
    formatSnapshot({
      segment,
      total: count,
      records: 1,
      clients: new Map([["c", { count, lastSeq: 1, lastLikes: count, lastSeen: T }]]),
    });
  await Deno.writeTextFile(`${dir.path}/${snapshotName(2)}`, snapshot(2, 10));
  await Deno.writeFile(
    `${dir.path}/${segmentName(2)}`,
    records([{ kind: "keyed", name: "c", seq: 2, likes: 4 }]),
  );
  await Deno.writeTextFile(`${dir.path}/${snapshotName(3)}`, snapshot(3, 14).replace("14", "15"));
  await Deno.writeFile(
    `${dir.path}/${segmentName(3)}`,
    records([{ kind: "keyed", name: "c", seq: 3, likes: 1 }]),
  );
  const state = await recover(dir.path);
  assert.equal(state.snapshot, 2);
  assert.deepEqual(state.segments, [2, 3]);
  assert.equal(state.total, 15);
  assert.deepEqual(state.clients.get("c"), { count: 15, lastSeq: 3, lastLikes: 1, lastSeen: T });
  assert.match(state.problems[0]!, /snapshot-000000000003\.json is damaged/);
  assert.equal(state.nextSegment, 4);
});

Deno.test("recover() refuses to start when every snapshot is damaged and old segments are gone", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/${snapshotName(5)}`, "garbage\n00000000\n");
  await Deno.writeFile(`${dir.path}/${segmentName(5)}`, new Uint8Array(0));
  await assert.rejects(
    recover(dir.path),
    (e) => e instanceof DataDirError && /refusing to start/.test(e.message),
  );
});

Deno.test("JournalWriter makes records durable and a restart recovers them exactly, with old seqs as duplicates", async () => {
  await using dir = await tempDir();
  await withJournal(dir.path, {}, async (table, ring) => {
    const a = table.applyKeyed("k", 1, 3);
    const b = table.applyClassic("LikesServer2", 4);
    const c = table.applyKeyed("k", 2, 5);
    assert.ok(a.status === "applied" && b.status === "applied" && c.status === "applied");
    await untilDurable(ring, c.receipt);
    assert.ok(ring.isDurable(a.receipt) && ring.isDurable(b.receipt));
  });
  await withJournal(dir.path, {}, (table) => {
    assert.deepEqual(table.snapshot(), { total: 12, clients: { k: 8, LikesServer2: 4 } });
    assert.equal(table.applyKeyed("k", 2, 5).status, "duplicate");
    assert.equal(table.applyKeyed("k", 3, 1).status, "applied");
    return Promise.resolve();
  });
  await withJournal(dir.path, {}, (table) => {
    assert.deepEqual(table.snapshot(), { total: 13, clients: { k: 9, LikesServer2: 4 } });
    return Promise.resolve();
  });
});

Deno.test("JournalWriter rotates segments and snapshots, and keeps only what recovery needs", async () => {
  await using dir = await tempDir();
  await withJournal(dir.path, { snapshotEvery: 10 }, async (table, ring) => {
    let last = -1;
    for (let seq = 1; seq <= 35; seq++) {
      const result = table.applyKeyed("k", seq, 1);
      assert.equal(result.status, "applied");
      if (result.status === "applied") last = result.receipt;
      await untilDurable(ring, last);
    }
  });
  const { segments, snapshots } = await listDataFiles(dir.path);
  assert.equal(snapshots.length, 2, `two snapshots kept: ${snapshots}`);
  assert.ok(segments.every((n) => n >= snapshots[0]!), "no segment older than the older snapshot");
  const state = await recover(dir.path);
  assert.equal(state.total, 35);
  assert.equal(state.replayed, 0, "the final snapshot covers everything");
  const { lastSeen, ...k } = state.clients.get("k")!;
  assert.deepEqual(k, { count: 35, lastSeq: 35, lastLikes: 1 });
  assert.ok(Math.abs(lastSeen - Date.now()) < 60_000, "last seen when its records were written");
});

Deno.test("JournalWriter journals expiry: a restart forgets the client and keeps its likes", async () => {
  await using dir = await tempDir();
  await withJournal(dir.path, {}, async (table, ring) => {
    table.applyKeyed("gone", 1, 4);
    const kept = table.applyKeyed("kept", 1, 2);
    assert.deepEqual(table.expireIdle(Date.now() + 2000).sort(), ["gone", "kept"]);
    const again = table.applyKeyed("kept", 1, 3); // a new client under an old name
    assert.ok(kept.status === "applied" && again.status === "applied");
    await untilDurable(ring, again.receipt);
  });
  const state = await recover(dir.path);
  assert.equal(state.total, 9);
  assert.deepEqual([...state.clients.keys()], ["kept"]);
  assert.equal(state.clients.get("kept")!.count, 3);
});

for (const fsync of ["always", "interval", "never"] as const) {
  Deno.test(`JournalWriter with --fsync ${fsync} journals every record`, async () => {
    await using dir = await tempDir();
    await withJournal(dir.path, { fsync }, async (table, ring) => {
      let last = -1;
      for (let i = 0; i < 20; i++) {
        const result = table.applyClassic(`LikesServer${i % 3}`, 2);
        if (result.status === "applied") last = result.receipt;
      }
      await untilDurable(ring, last);
    });
    assert.equal((await recover(dir.path)).total, 40);
  });
}

Deno.test("JournalWriter ends every batch with a flush marker: a new flush number after each flush (always), one shared until the flush (interval)", async () => {
  for (const fsync of ["always", "interval"] as const) {
    await using dir = await tempDir();
    await withJournal(dir.path, { fsync, fsyncIntervalMs: 60_000 }, async (table, ring) => {
      for (let seq = 1; seq <= 3; seq++) {
        const result = table.applyKeyed("m", seq, 1);
        assert.equal(result.status, "applied");
        if (result.status === "applied") await untilDurable(ring, result.receipt);
      }
    });
    const { segments } = await listDataFiles(dir.path);
    const slots: string[] = [];
    for (const n of segments) {
      const bytes = await Deno.readFile(`${dir.path}/${segmentName(n)}`);
      for (let at = 0; at < bytes.length; at += RECORD_BYTES) {
        const slot = bytes.subarray(at, at + RECORD_BYTES);
        const marker = decodeFlushMarker(slot);
        slots.push(
          marker ? `flush ${marker.flush} of ${marker.records}` : `seq ${decodeRecord(slot)?.seq}`,
        );
      }
    }
    const expected = fsync === "always"
      ? ["seq 1", "flush 1 of 1", "seq 2", "flush 2 of 1", "seq 3", "flush 3 of 1"]
      : ["seq 1", "flush 1 of 1", "seq 2", "flush 1 of 1", "seq 3", "flush 1 of 1"];
    assert.deepEqual(slots, expected, fsync);
  }
});

Deno.test("JournalWriter --fsync always commits records that arrive together with one flush", async () => {
  await using dir = await tempDir();
  await withJournal(dir.path, { fsync: "always" }, async (table, ring, writer) => {
    const before = writer.stats().flushes;
    // Fifty messages from different clients land in the ring before the writer wakes up.
    let last = -1;
    for (let i = 0; i < 50; i++) {
      const result = table.applyKeyed(`client-${i}`, 1, 1);
      if (result.status === "applied") last = result.receipt;
    }
    await untilDurable(ring, last);
    const flushes = writer.stats().flushes - before;
    assert.ok(flushes >= 1 && flushes <= 3, `${flushes} flushes for 50 records`);
  });
  assert.equal((await recover(dir.path)).total, 50);
});

Deno.test("JournalWriter --fsync interval flushes within the interval, not per batch, and not when idle", async () => {
  await using dir = await tempDir();
  await withJournal(
    dir.path,
    { fsync: "interval", fsyncIntervalMs: 150 },
    async (table, ring, writer) => {
      const before = writer.stats().flushes;
      let last = -1;
      for (let i = 0; i < 5; i++) {
        const result = table.applyKeyed("k", i + 1, 1);
        if (result.status === "applied") last = result.receipt;
        await new Promise((r) => setTimeout(r, 10)); // five small batches
      }
      await untilDurable(ring, last); // written: acknowledged in this mode, not yet flushed
      assert.equal(writer.stats().flushes - before, 0, "no flush before the interval is up");
      await new Promise((r) => setTimeout(r, 250));
      assert.equal(
        writer.stats().flushes - before,
        1,
        "one flush for all five, within the interval",
      );
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(writer.stats().flushes - before, 1, "nothing new: no flush");
    },
  );
  assert.equal((await recover(dir.path)).total, 5);
});
