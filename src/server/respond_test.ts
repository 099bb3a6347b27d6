import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import type { Frame, Terminator } from "../protocol/framing.ts";
import { parseStats, STATS_MAX_CLIENTS } from "../protocol/stats.ts";
import { JournalRing } from "../store/embedded/journal_ring.ts";
import { LikesTable } from "../store/embedded/likes_table.ts";
import { EmbeddedStore } from "../store/embedded/embedded_store.ts";
import { NO_RECEIPT } from "../store/likes_store.ts";
import { SharedCounters } from "./server_counters.ts";
import { createResponder, type Reply, type ResponderOptions } from "./respond.ts";

function frame(text: string, terminator: Terminator = "\n"): Frame {
  const bytes = new TextEncoder().encode(text);
  return { bytes, terminator, length: bytes.length, overlong: false };
}

async function withLogs(fn: (records: LogRecord[]) => void | Promise<void>): Promise<void> {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { buffer: records.push.bind(records) },
    loggers: [
      { category: ["likes"], lowestLevel: "debug", sinks: ["buffer"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
    ],
  });
  try {
    await fn(records);
  } finally {
    await reset();
  }
}

const text = (r: LogRecord) => r.message.join("");

/** A responder over the embedded store of `table`, counting into `counters`. */
function responderOver(
  table: LikesTable,
  options: ResponderOptions = {},
  counters: SharedCounters = SharedCounters.create(),
) {
  const respond = createResponder(new EmbeddedStore(table), counters, options);
  return (frame: Frame, peer: string): Reply => {
    const reply = respond(frame, peer);
    if (reply instanceof Promise) throw new Error("a store in memory answers at once");
    return reply;
  };
}

Deno.test("createResponder() acknowledges and logs classic and keyed messages with the running total", async () => {
  await withLogs((records) => {
    const respond = responderOver(LikesTable.create({ maxClients: 8 }));
    assert.equal(respond(frame("LikesServer1 4"), "peer").text, "ACK");
    assert.equal(respond(frame("LIKE k 1 3"), "peer").text, "ACK seq=1 client=3 total=7");
    assert.equal(respond(frame("LIKE k 1 3"), "peer").text, "ACK seq=1 client=3 total=7 dup");
    assert.deepEqual(records.map(text), [
      "LikesServer1 4 total=4",
      "LIKE k 1 3 counted client=3 total=7",
      "LIKE k 1 3 duplicate, not counted again client=3 total=7",
    ]);
    assert.ok(
      records.every((r) => r.category.join(".") === "likes.server.message" && r.level === "info"),
    );
  });
});

Deno.test("createResponder() rejects with ERR and an Invalid data warning naming the peer", async () => {
  await withLogs((records) => {
    const table = LikesTable.create({ maxClients: 8 });
    const counters = SharedCounters.create();
    const respond = responderOver(table, { maxLikes: 10 }, counters);
    assert.equal(
      respond(frame("LikesServer1 11"), "10.0.0.1:5").text,
      'ERR likes "11" above max 10: expected 0 to 10',
    );
    assert.equal(
      respond({ bytes: new Uint8Array(16), terminator: "", length: 9000, overlong: true }, "p")
        .text,
      "ERR line too long: 9000 bytes, max 512",
    );
    assert.deepEqual(records.map((r) => [r.level, r.category.join("."), text(r)]), [
      [
        "warning",
        "likes.server.invalid",
        'Invalid data "LikesServer1 11" from 10.0.0.1:5: likes "11" above max 10: expected 0 to 10',
      ],
      [
        "warning",
        "likes.server.invalid",
        `Invalid data ${
          JSON.stringify("\0".repeat(16) + "…")
        } from p: line too long: 9000 bytes, max 512`,
      ],
    ]);
    assert.equal(counters.counter("invalidClassic"), 2);
    assert.equal(table.total(), 0);
  });
});

Deno.test("createResponder() answers STATS with totals, counters and uptime", () => {
  let now = 1_000;
  const table = LikesTable.create({ maxClients: 8 });
  const counters = SharedCounters.create();
  const respond = responderOver(
    table,
    { workers: 3, startedAt: 1_000, clock: () => now },
    counters,
  );
  respond(frame("LikesServer2 5"), "p");
  respond(frame("bogus"), "p");
  counters.count("connectionsAccepted");
  counters.openConnection(10);
  now = 3_500;
  const { memory, ...stats } = parseStats(respond(frame("STATS"), "p").text);
  assert.ok((memory?.rss ?? 0) > 1_000_000, "the process's resident memory");
  assert.deepEqual(stats, {
    total: 5,
    clients: { LikesServer2: 5 },
    clientCount: 1,
    messages: { accepted: 1, duplicates: 0, rejected: 1, unknown: 0 },
    connections: { open: 1, accepted: 1, refused: 0 },
    workers: 3,
    uptimeSeconds: 2.5,
  });
});

Deno.test("createResponder() counts each message by result and protocol, and the likes it counted", () => {
  const table = LikesTable.create({ maxClients: 8 });
  const counters = SharedCounters.create();
  const respond = responderOver(table, { maxLikes: 10 }, counters);
  for (
    const text of [
      "LikesServer1 4",
      "LikesServer2 3",
      "LikesServer2 11", // above max: invalid, classic
      "LIKE edge-1 1 5",
      "LIKE edge-1 1 5", // repeat: duplicate
      "LIKE edge-1 3 1", // gap: invalid, keyed
      "LIKE edge-1 x 1", // malformed: invalid, keyed by its start
      "bogus",
    ]
  ) respond(frame(text), "p");
  const counts = Object.fromEntries(
    (["countedClassic", "countedKeyed", "duplicates", "invalidClassic", "invalidKeyed"] as const)
      .map((c) => [c, counters.counter(c)]),
  );
  assert.deepEqual(counts, {
    countedClassic: 2,
    countedKeyed: 1,
    duplicates: 1,
    invalidClassic: 2,
    invalidKeyed: 2,
  });
  assert.equal(counters.counter("likesCounted"), 12, "4 + 3 + 5: a duplicate adds no likes");
  assert.equal(counters.counter("likesCounted"), table.total());
});

Deno.test("createResponder() lists at most STATS_MAX_CLIENTS clients, the ones with the most likes, or exactly those asked for", () => {
  const table = LikesTable.create({ maxClients: 4096 });
  const respond = responderOver(table);
  const clients = STATS_MAX_CLIENTS + 500;
  for (let i = 0; i < clients; i++) {
    table.applyKeyed(`c${i}`, 1, i % 40);
  }
  const top = parseStats(respond(frame("STATS"), "p").text);
  assert.equal(top.clientCount, clients);
  const listed = Object.values(top.clients);
  assert.equal(listed.length, STATS_MAX_CLIENTS);
  const cutoff = Array.from({ length: clients }, (_, i) => i % 40).sort((a, b) => b - a)[
    STATS_MAX_CLIENTS - 1
  ]!;
  assert.equal(Math.min(...listed), cutoff, "only the clients with the most likes are listed");
  const asked = parseStats(respond(frame("STATS c7 c1234 nobody"), "p").text);
  assert.deepEqual(asked.clients, { c7: 7, c1234: 1234 % 40 });
  assert.equal(asked.total, top.total);
});

Deno.test("createResponder() reports a full client table as an error, not a crash", () => {
  const respond = responderOver(LikesTable.create({ maxClients: 1 }));
  assert.equal(respond(frame("LikesServer1 1"), "p").text, "ACK");
  const full = "ERR client table full (1 clients); retry later, idle clients are forgotten";
  assert.equal(respond(frame("LikesServer2 1"), "p").text, full);
  assert.equal(respond(frame("LIKE x 1 1"), "p").text, full);
});

Deno.test("createResponder() passes the store's receipt with an ACK, never with ERR or STATS", () => {
  const journal = JournalRing.create({ capacity: 8 });
  const table = LikesTable.create({ maxClients: 4, journal });
  const respond = responderOver(table);
  assert.deepEqual(respond(frame("LikesServer1 1"), "p"), { text: "ACK", receipt: 0 });
  assert.deepEqual(respond(frame("LIKE k 1 2"), "p"), {
    text: "ACK seq=1 client=2 total=3",
    receipt: 1,
  });
  assert.deepEqual(respond(frame("LIKE k 1 2"), "p"), {
    text: "ACK seq=1 client=2 total=3 dup",
    receipt: 1,
  });
  assert.equal(respond(frame("LIKE k 9 2"), "p").receipt, NO_RECEIPT);
  assert.equal(respond(frame("STATS"), "p").receipt, NO_RECEIPT);
  // Without a journal there is nothing to wait for.
  const memory = responderOver(LikesTable.create({ maxClients: 4 }));
  assert.deepEqual(memory(frame("LIKE k 1 1"), "p"), {
    text: "ACK seq=1 client=1 total=1",
    receipt: NO_RECEIPT,
  });
});
