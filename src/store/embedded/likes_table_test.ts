import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeRecord, RECORD_BYTES } from "./journal_record.ts";
import { JournalRing } from "./journal_ring.ts";
import { LikesTable } from "./likes_table.ts";

Deno.test("LikesTable.applyClassic() counts every delivery", () => {
  const table = LikesTable.create({ maxClients: 8 });
  assert.deepEqual(table.applyClassic("LikesServer1", 4), {
    status: "applied",
    client: 4,
    total: 4,
    receipt: -1,
  });
  assert.deepEqual(table.applyClassic("LikesServer1", 4), {
    status: "applied",
    client: 8,
    total: 8,
    receipt: -1,
  });
  assert.deepEqual(table.applyClassic("LikesServer2", 1), {
    status: "applied",
    client: 1,
    total: 9,
    receipt: -1,
  });
});

Deno.test("LikesTable.applyKeyed() counts each (client, seq) once and reports gaps and conflicts", () => {
  const table = LikesTable.create({ maxClients: 8 });
  assert.deepEqual(table.applyKeyed("a", 2, 5), { status: "gap", expected: 1 });
  assert.deepEqual(table.applyKeyed("a", 1, 5), {
    status: "applied",
    client: 5,
    total: 5,
    receipt: -1,
  });
  assert.deepEqual(table.applyKeyed("a", 1, 5), {
    status: "duplicate",
    client: 5,
    total: 5,
    receipt: -1,
  });
  assert.deepEqual(table.applyKeyed("a", 1, 6), { status: "conflict", likes: 5 });
  assert.deepEqual(table.applyKeyed("a", 3, 1), { status: "gap", expected: 2 });
  assert.deepEqual(table.applyKeyed("a", 2, 7), {
    status: "applied",
    client: 12,
    total: 12,
    receipt: -1,
  });
  assert.deepEqual(table.applyKeyed("a", 1, 9), {
    status: "duplicate",
    client: 12,
    total: 12,
    receipt: -1,
  });
  assert.deepEqual(table.applyKeyed("b", 1, 0), {
    status: "applied",
    client: 0,
    total: 12,
    receipt: -1,
  });
  assert.deepEqual(table.applyKeyed("never-started", 9, 1), { status: "gap", expected: 1 });
  assert.deepEqual(
    table.snapshot(),
    { total: 12, clients: { a: 12, b: 0 } },
    "a gap registers no client",
  );
});

Deno.test("LikesTable reports full at maxClients exactly, and keeps serving known clients", () => {
  const table = LikesTable.create({ maxClients: 4 });
  for (const name of ["a", "b", "c", "d"]) {
    assert.equal(table.applyClassic(name, 1).status, "applied");
  }
  assert.deepEqual(table.applyClassic("e", 1), { status: "full" });
  assert.deepEqual(table.applyKeyed("e", 1, 1), { status: "full" });
  assert.equal(table.applyClassic("c", 1).status, "applied");
  assert.equal(table.total(), 5);
});

Deno.test("LikesTable.attach() sees the same state through a second view", () => {
  const table = LikesTable.create({ maxClients: 100 });
  assert.equal(table.maxClients, 100);
  table.applyKeyed("edge", 1, 3);
  const other = LikesTable.attach(table.buffer);
  assert.equal(other.maxClients, 100);
  assert.deepEqual(other.applyKeyed("edge", 1, 3), {
    status: "duplicate",
    client: 3,
    total: 3,
    receipt: -1,
  });
  assert.deepEqual(other.applyKeyed("edge", 2, 4), {
    status: "applied",
    client: 7,
    total: 7,
    receipt: -1,
  });
  assert.deepEqual(table.snapshot(), { total: 7, clients: { edge: 7 } });
  assert.throws(() => LikesTable.attach(new SharedArrayBuffer(64)), TypeError);
});

Deno.test("LikesTable.create() validates maxClients", () => {
  assert.throws(() => LikesTable.create({ maxClients: 0 }), RangeError);
  assert.throws(() => LikesTable.create({ maxClients: 1.5 }), RangeError);
  assert.throws(() => LikesTable.create({ maxClients: 2 ** 21 + 1 }), RangeError);
});

Deno.test("property: keyed messages in any order with repeats count each seq once", () => {
  fc.assert(
    fc.property(
      fc.array(fc.nat({ max: 42 }), { minLength: 1, maxLength: 30 }),
      fc.array(fc.nat(), { maxLength: 200 }),
      (likes, picks) => {
        const table = LikesTable.create({ maxClients: 2 });
        // Deliver random (seq, likes) pairs, including repeats and out-of-order ones,
        // then retry in order the way a client does until everything is applied.
        for (const pick of picks) {
          const seq = (pick % likes.length) + 1;
          table.applyKeyed("c", seq, likes[seq - 1]!);
        }
        for (let seq = 1; seq <= likes.length; seq++) {
          const result = table.applyKeyed("c", seq, likes[seq - 1]!);
          assert.ok(result.status === "applied" || result.status === "duplicate");
        }
        const sum = likes.reduce((a, b) => a + b, 0);
        assert.deepEqual(table.snapshot(), { total: sum, clients: { c: sum } });
      },
    ),
  );
});

Deno.test("LikesTable journals counted messages, keyed ones in seq order, and points duplicates at them", () => {
  const journal = JournalRing.create({ capacity: 16 });
  const table = LikesTable.create({ maxClients: 8, journal });
  assert.deepEqual(table.applyClassic("LikesServer1", 2), {
    status: "applied",
    client: 2,
    total: 2,
    receipt: 0,
  });
  assert.deepEqual(table.applyKeyed("k", 1, 3), {
    status: "applied",
    client: 3,
    total: 5,
    receipt: 1,
  });
  assert.deepEqual(table.applyKeyed("k", 2, 4), {
    status: "applied",
    client: 7,
    total: 9,
    receipt: 2,
  });
  assert.deepEqual(table.applyKeyed("k", 1, 3), {
    status: "duplicate",
    client: 7,
    total: 9,
    receipt: 2,
  });
  assert.deepEqual(table.applyKeyed("k", 5, 1), { status: "gap", expected: 3 });
  const batch = journal.take(16);
  assert.equal(batch.count, 3, "gaps and duplicates are not journaled");
  const records = [0, 1, 2].map((i) =>
    decodeRecord(batch.bytes.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES))
  );
  assert.deepEqual(records, [
    { kind: "classic", name: "LikesServer1", seq: 0, likes: 2 },
    { kind: "keyed", name: "k", seq: 1, likes: 3 },
    { kind: "keyed", name: "k", seq: 2, likes: 4 },
  ]);
});

Deno.test("LikesTable.restoreAll() puts back recovered clients and total; old seqs are then duplicates", () => {
  const table = LikesTable.create({ maxClients: 4 });
  const seen = Date.now();
  const slots = table.restoreAll([
    ["k", { count: 10, lastSeq: 4, lastLikes: 2, lastSeen: seen }],
    ["LikesServer2", { count: 5, lastSeq: 0, lastLikes: 0, lastSeen: seen }],
  ], 15);
  assert.deepEqual([...slots.keys()], ["k", "LikesServer2"]);
  assert.deepEqual(table.snapshot(), { total: 15, clients: { k: 10, LikesServer2: 5 } });
  assert.deepEqual(table.applyKeyed("k", 4, 2), {
    status: "duplicate",
    client: 10,
    total: 15,
    receipt: -1,
  });
  assert.deepEqual(table.applyKeyed("k", 4, 3), { status: "conflict", likes: 2 });
  assert.deepEqual(table.applyKeyed("k", 5, 1), {
    status: "applied",
    client: 11,
    total: 16,
    receipt: -1,
  });
  const one = { count: 1, lastSeq: 0, lastLikes: 0, lastSeen: seen };
  const full = LikesTable.create({ maxClients: 1 });
  assert.throws(() => full.restoreAll([["a", one], ["b", one]], 2), RangeError);
  const expiredLikes = LikesTable.create({ maxClients: 1 });
  expiredLikes.restoreAll([["a", one]], 50);
  assert.equal(expiredLikes.total(), 50, "the total keeps likes of clients no longer held");
});

/** A clock the test moves by hand. */
function manualClock(
  start = 1_700_000_000_000,
): { now: () => number; advance: (ms: number) => void } {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

Deno.test("LikesTable.expireIdle() forgets idle clients, keeps their likes in the total, and frees their room", () => {
  const clock = manualClock();
  const journal = JournalRing.create({ capacity: 64 });
  const table = LikesTable.create({ maxClients: 2, journal, clock: clock.now });
  const other = LikesTable.attach(table.buffer, journal, clock.now); // a second Worker's view
  assert.equal(table.applyKeyed("old", 1, 5).status, "applied");
  clock.advance(10_000);
  assert.equal(other.applyKeyed("busy", 1, 7).status, "applied");
  assert.deepEqual(table.applyKeyed("new", 1, 1), { status: "full" }, "two clients already");
  assert.deepEqual(table.expireIdle(clock.now() - 5_000), ["old"]);
  assert.equal(table.clientCount(), 1);
  assert.equal(table.forgotten(), 1);
  assert.deepEqual(table.snapshot(), { total: 12, clients: { busy: 7 } });
  // The room is usable again, from any view; the other view's cached "old" is stale and noticed.
  assert.equal(other.applyKeyed("new", 1, 1).status, "applied");
  assert.deepEqual(other.applyKeyed("old", 2, 1), { status: "gap", expected: 1 }, "forgotten");
  assert.equal(table.applyKeyed("busy", 1, 7).status, "duplicate", "the active client remains");
  assert.deepEqual(table.snapshot(), { total: 13, clients: { busy: 7, new: 1 } });
  const batch = journal.take(64);
  const kinds = Array.from(
    { length: batch.count },
    (_, i) => decodeRecord(batch.bytes.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES))?.kind,
  );
  assert.deepEqual(kinds, ["keyed", "keyed", "expire", "keyed"]);
});

Deno.test("LikesTable.expireIdle() stops, without waiting, when the journal ring is full", () => {
  const clock = manualClock();
  const journal = JournalRing.create({ capacity: 2 });
  const table = LikesTable.create({ maxClients: 4, journal, clock: clock.now });
  table.applyClassic("a", 1);
  table.applyClassic("b", 1);
  clock.advance(60_000);
  assert.deepEqual(table.expireIdle(clock.now()), [], "no room for an expire record");
  assert.equal(table.clientCount(), 2);
  journal.take(2);
  assert.deepEqual(table.expireIdle(clock.now()).sort(), ["a", "b"]);
});

Deno.test("property: any mix of applies and expiries across two views matches a simple model", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({
            op: fc.constant("apply" as const),
            who: fc.nat({ max: 11 }),
            view: fc.nat({ max: 1 }),
          }),
          fc.record({ op: fc.constant("tick" as const), seconds: fc.nat({ max: 5 }) }),
          fc.record({ op: fc.constant("expire" as const), idle: fc.nat({ max: 6 }) }),
        ),
        { maxLength: 120 },
      ),
      (ops) => {
        const clock = manualClock();
        const maxClients = 6;
        const table = LikesTable.create({ maxClients, clock: clock.now });
        const views = [table, LikesTable.attach(table.buffer, undefined, clock.now)];
        const model = new Map<string, { count: number; seq: number; seen: number }>();
        let total = 0;
        for (const step of ops) {
          if (step.op === "tick") clock.advance(step.seconds * 1000);
          else if (step.op === "expire") {
            const cutoff = clock.now() - step.idle * 1000;
            const expected = [...model].filter(([, c]) => c.seen < Math.floor(cutoff / 1000))
              .map(([name]) => name).sort();
            assert.deepEqual(views[0]!.expireIdle(cutoff).sort(), expected);
            for (const name of expected) model.delete(name);
          } else {
            const name = `c${step.who}`;
            const known = model.get(name);
            const seq = (known?.seq ?? 0) + 1;
            const result = views[step.view]!.applyKeyed(name, seq, 2);
            if (!known && model.size >= maxClients) {
              assert.deepEqual(result, { status: "full" });
              continue;
            }
            assert.equal(result.status, "applied");
            model.set(name, {
              count: (known?.count ?? 0) + 2,
              seq,
              seen: Math.floor(clock.now() / 1000),
            });
            total += 2;
          }
        }
        const clients = Object.fromEntries([...model].map(([name, c]) => [name, c.count]));
        for (const view of views) assert.deepEqual(view.snapshot(), { total, clients });
        assert.equal(table.clientCount(), model.size);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("LikesTable refuses a like that would take a client's count or the total past 2^53 - 1", () => {
  const table = LikesTable.create({ maxClients: 4 });
  const near = Number.MAX_SAFE_INTEGER - 10;
  const client = { count: near, lastSeq: 3, lastLikes: 1, lastSeen: Date.now() };
  table.restoreAll(new Map([["big", client]]), near);
  assert.equal(table.applyKeyed("big", 4, 10).status, "applied");
  assert.deepEqual(table.applyKeyed("big", 5, 1), { status: "limit" });
  assert.deepEqual(
    table.applyClassic("small", 1),
    { status: "limit" },
    "the total is at the limit",
  );
  assert.equal(table.total(), Number.MAX_SAFE_INTEGER);
  assert.deepEqual(table.countsOf(["big"]), { big: Number.MAX_SAFE_INTEGER });
});

Deno.test("LikesTable.takeChanged() reports each client whose count changed since it last looked, once", () => {
  const table = LikesTable.create({ maxClients: 8 });
  const worker = LikesTable.attach(table.buffer);
  assert.deepEqual(table.takeChanged(), {});
  table.applyClassic("a", 2);
  worker.applyKeyed("k", 1, 3);
  table.applyClassic("a", 1);
  assert.deepEqual(table.takeChanged(), { a: 3, k: 3 });
  assert.deepEqual(table.takeChanged(), {});
  worker.applyKeyed("k", 1, 3); // a duplicate changes nothing
  assert.deepEqual(table.takeChanged(), {});
  worker.applyKeyed("k", 2, 1);
  assert.deepEqual(table.takeChanged(), { k: 4 });
});

Deno.test("property: a copy kept by takeChanged() (and a snapshot when clients expired) equals the table", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({
            op: fc.constant("apply" as const),
            who: fc.nat({ max: 9 }),
            view: fc.nat({ max: 1 }),
          }),
          fc.record({ op: fc.constant("tick" as const), seconds: fc.nat({ max: 5 }) }),
          fc.record({ op: fc.constant("expire" as const), idle: fc.nat({ max: 6 }) }),
          fc.record({ op: fc.constant("observe" as const) }),
        ),
        { maxLength: 120 },
      ),
      (ops) => {
        const clock = manualClock();
        const table = LikesTable.create({ maxClients: 6, clock: clock.now });
        const views = [table, LikesTable.attach(table.buffer, undefined, clock.now)];
        let copy: Record<string, number> = {};
        let expiredSeen = 0;
        const observe = () => {
          const changed = table.takeChanged();
          if (table.forgotten() !== expiredSeen) {
            expiredSeen = table.forgotten();
            copy = table.snapshot().clients;
          } else Object.assign(copy, changed);
        };
        for (const step of ops) {
          if (step.op === "tick") clock.advance(step.seconds * 1000);
          else if (step.op === "expire") views[1]!.expireIdle(clock.now() - step.idle * 1000);
          else if (step.op === "observe") observe();
          else views[step.view]!.applyClassic(`c${step.who}`, 1);
        }
        observe();
        assert.deepEqual(copy, table.snapshot().clients);
      },
    ),
    { numRuns: 300 },
  );
});
