import assert from "node:assert/strict";
import fc from "fast-check";
import { type OwnerDelta, Replica, type ReplicaEntry, RETIRED_KEY } from "./replica.ts";

/** What summary() must say, from the rows themselves. */
function summaryOfRows(replica: Replica): ReturnType<Replica["summary"]> {
  const byNode: Record<string, number> = {};
  const rows = replica.entries();
  for (const row of rows) byNode[row.node] = (byNode[row.node] ?? 0) + row.likes;
  return { byNode, entries: rows.length };
}

Deno.test("setOwn: each change gets the next version; forgotten keys and retired likes are changes too", () => {
  const replica = new Replica();
  assert.equal(replica.setOwn("B", 100, { a: 1, b: 2 }, 0, 1000), true);
  assert.deepEqual(replica.digest(), { B: { epoch: 100, version: 2, as_of: 1000 } });
  assert.equal(replica.setOwn("B", 100, { a: 1, b: 2 }, 0, 1100), false, "nothing changed");
  assert.equal(replica.digest().B!.as_of, 1100, "but the stamp moves on");
  const cacheVersion = replica.version;
  assert.equal(replica.setOwn("B", 100, { a: 4 }, 2, 1200), true); // b forgotten, its 2 retired
  assert.deepEqual(replica.digest().B, { epoch: 100, version: 5, as_of: 1200 });
  assert.ok(replica.version > cacheVersion);
  assert.deepEqual(replica.entries(), [
    { key: "a", node: "B", likes: 4 },
    { key: RETIRED_KEY, node: "B", likes: 2 },
  ]);
  assert.equal(replica.total("B"), 6, "the total keeps the forgotten client's likes");
  assert.deepEqual(replica.summary(), { byNode: { B: 6 }, entries: 2 });
  assert.equal(replica.forgottenOf("B"), 1);
});

Deno.test("updateOwn: only the keys given get new versions, none is forgotten; another epoch is refused", () => {
  const replica = new Replica();
  replica.setOwn("B", 100, { a: 1, b: 2 }, 0, 1000);
  assert.equal(replica.updateOwn("B", 100, { b: 5, c: 1 }, 3, 1100), true);
  assert.deepEqual(replica.digest().B, { epoch: 100, version: 5, as_of: 1100 });
  assert.deepEqual(replica.entries().map((e) => [e.key, e.likes]), [
    ["a", 1],
    ["b", 5],
    ["c", 1],
    [RETIRED_KEY, 3],
  ]);
  assert.equal(replica.updateOwn("B", 100, { a: 1 }, 3, 1200), false, "nothing changed");
  assert.equal(replica.digest().B!.as_of, 1200);
  assert.throws(() => replica.updateOwn("B", 101, { a: 2 }, 3, 1300), RangeError);
  assert.throws(() => replica.updateOwn("C", 100, { a: 2 }, 0, 1300), RangeError);
});

Deno.test("deltas: only what changed after the receiver's version, a forgotten key included; in chained chunks", () => {
  const owner = new Replica();
  owner.setOwn("B", 100, { a: 1, b: 1, c: 1 }, 0, 1000);
  const other = new Replica();
  for (const delta of owner.deltas("B", undefined)) assert.equal(other.apply(delta), "applied");
  owner.setOwn("B", 100, { a: 2, c: 1 }, 1, 1100); // a rises, b forgotten
  const [delta, ...more] = owner.deltas("B", other.digest().B);
  assert.equal(more.length, 0);
  assert.deepEqual(delta, {
    owner: "B",
    epoch: 100,
    base: 3,
    upto: 6,
    as_of: 1100,
    entries: [["a", 2, 4]],
    removed: [["b", 5]],
    retired: [1, 6],
  });
  assert.equal(other.apply(delta!), "applied");
  assert.ok(other.equals(owner));
  assert.equal(other.apply(delta!), "already", "a repeat is harmless");
  assert.deepEqual(owner.deltas("B", other.digest().B), [], "nothing more to send");

  const big = new Replica();
  big.setOwn("C", 7, Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`k${i}`, i])), 0, 1);
  const chunks = big.deltas("C", undefined, 10);
  assert.deepEqual(chunks.map((c) => [c.base, c.upto, c.entries.length]), [
    [0, 10, 10],
    [10, 20, 10],
    [20, 25, 5],
  ]);
  const partial = new Replica();
  assert.equal(partial.apply(chunks[1]!), "gap", "the second chunk without the first");
  assert.equal(partial.apply(chunks[0]!), "applied");
  assert.equal(partial.apply(chunks[2]!), "gap", "the third without the second");
  assert.equal(partial.apply(chunks[1]!), "applied");
  assert.equal(partial.apply(chunks[2]!), "applied");
  assert.ok(partial.equals(big));
});

Deno.test("a later epoch replaces the owner's state whole; an earlier one is stale", () => {
  const before = new Replica();
  before.setOwn("B", 100, { a: 50, b: 9 }, 0, 1000);
  const replica = new Replica();
  for (const delta of before.deltas("B", undefined)) replica.apply(delta);
  assert.equal(replica.total(), 59);
  // B restarts having lost b (no journal): its new epoch is the truth everywhere.
  const after = new Replica();
  after.setOwn("B", 200, { a: 50 }, 0, 2000);
  const [fresh] = after.deltas("B", replica.digest().B);
  assert.equal(fresh!.base, 0, "a new epoch travels whole");
  assert.equal(replica.apply(fresh!), "applied");
  assert.equal(replica.total(), 50);
  const [old] = before.deltas("B", undefined);
  assert.equal(replica.apply(old!), "stale");
  assert.deepEqual(before.deltas("B", replica.digest().B), [], "nothing to send a later epoch");
  assert.equal(replica.total(), 50);
});

/** One owner's life: counts that grow, clients forgotten (their likes retired), restarts. */
const step = fc.oneof(
  fc.record({ kind: fc.constant("like" as const), key: fc.nat({ max: 5 }), n: fc.nat({ max: 9 }) }),
  fc.record({ kind: fc.constant("forget" as const), key: fc.nat({ max: 5 }) }),
  fc.record({ kind: fc.constant("restart" as const) }),
);

Deno.test("property: deltas lost, repeated, delayed and reordered, then digest rounds, converge to the owners' state", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom(0, 1), step), { minLength: 1, maxLength: 40 }),
      fc.array(fc.tuple(fc.nat({ max: 4 }), fc.nat({ max: 4 }), fc.nat({ max: 3 })), {
        maxLength: 80,
      }),
      (life, exchanges) => {
        // Replicas 0 and 1 are the owners B and C; 2, 3 and 4 only replicate.
        const owners = ["B", "C"];
        const replicas = Array.from({ length: 5 }, () => new Replica());
        const own = owners.map(() => ({
          epoch: 1,
          clients: {} as Record<string, number>,
          retired: 0,
        }));
        const inFlight: OwnerDelta[] = [];
        let clock = 1;
        const exchange = (from: number, to: number) => {
          for (const owner of owners) {
            inFlight.push(...replicas[from]!.deltas(owner, replicas[to]!.digest()[owner], 2));
          }
        };
        let turn = 0;
        for (const [who, change] of life) {
          const state = own[who]!;
          if (change.kind === "like") {
            const key = `k${change.key}`;
            state.clients[key] = (state.clients[key] ?? 0) + change.n;
          } else if (change.kind === "forget") {
            const key = `k${change.key}`;
            state.retired += state.clients[key] ?? 0;
            delete state.clients[key];
          } else {
            state.epoch++;
          }
          replicas[who]!.setOwn(
            owners[who]!,
            state.epoch,
            { ...state.clients },
            state.retired,
            clock++,
          );
          // Some exchanges happen meanwhile: computed now, delivered (or lost) later.
          const [from, to, fate] = exchanges[turn++ % Math.max(1, exchanges.length)] ?? [0, 2, 0];
          if (from !== to) exchange(from, to);
          const delta = inFlight.splice(fate % Math.max(1, inFlight.length), 1)[0];
          const target = (from + to + fate) % 5;
          // Fate 3 loses it; an owner never takes deltas about itself.
          if (delta && fate !== 3 && owners[target] !== delta.owner) {
            replicas[target]!.apply(delta);
            if (fate === 2) replicas[target]!.apply(delta); // repeated
          }
        }
        // Stale deltas still arrive, in reverse order, at replicas that are not their owner.
        for (const delta of inFlight.reverse()) {
          for (const [i, replica] of replicas.entries()) {
            if (owners[i] !== delta.owner) replica.apply(delta);
          }
        }
        // Then digest rounds along a ring until nothing changes.
        for (let round = 0; round < 40; round++) {
          let moved = false;
          for (let i = 0; i < 5; i++) {
            for (const j of [(i + 1) % 5, (i + 4) % 5]) {
              for (const owner of owners) {
                if (owners[j] === owner) continue;
                for (const delta of replicas[i]!.deltas(owner, replicas[j]!.digest()[owner], 2)) {
                  if (replicas[j]!.apply(delta) === "applied") moved = true;
                }
              }
            }
          }
          if (!moved) break;
        }
        const truth = new Replica();
        for (const [i, owner] of owners.entries()) {
          const state = own[i]!;
          truth.setOwn(owner, state.epoch, state.clients, state.retired, 0);
        }
        for (const replica of replicas) {
          assert.deepEqual(replica.entries(), truth.entries());
          assert.equal(replica.total(), truth.total());
          assert.deepEqual(replica.summary(), summaryOfRows(replica));
          const { byNode } = replica.summary();
          assert.equal(Object.values(byNode).reduce((sum, n) => sum + n, 0), replica.total());
          const asked = [...truth.entries().slice(0, 3).map((e) => e.key), RETIRED_KEY, "none"];
          const byOwnerThenKey = (a: ReplicaEntry, b: ReplicaEntry) =>
            a.node < b.node ? -1 : a.node > b.node ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
          assert.deepEqual(
            replica.rowsOf(asked),
            replica.entries().filter((e) => asked.includes(e.key)).sort(byOwnerThenKey),
          );
        }
      },
    ),
    { numRuns: 300 },
  );
});
