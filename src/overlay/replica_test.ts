import assert from "node:assert/strict";
import fc from "fast-check";
import { Replica, type ReplicaEntry } from "./replica.ts";

Deno.test("Replica.observe() only raises an entry, and the version counts the rises", () => {
  const replica = new Replica();
  assert.equal(replica.observe("B", "k", 5), true);
  assert.equal(replica.observe("B", "k", 3), false, "a lower count is stale");
  assert.equal(replica.observe("B", "k", 5), false);
  assert.equal(replica.observe("C", "k", 2), true, "the same key at another node is another entry");
  assert.equal(replica.version, 2);
  assert.deepEqual(replica.entries(), [
    { key: "k", node: "B", likes: 5 },
    { key: "k", node: "C", likes: 2 },
  ]);
  assert.deepEqual([replica.total(), replica.total("B"), replica.total("Z")], [7, 5, 0]);
});

Deno.test("Replica.merge() refuses malformed entries from the network", () => {
  const replica = new Replica();
  const bad = [
    { key: "k", node: "b", likes: 1 },
    { key: "", node: "B", likes: 1 },
    { key: "k", node: "B", likes: -1 },
    { key: "k", node: "B", likes: 1.5 },
    { key: "x".repeat(65), node: "B", likes: 1 },
  ];
  for (const entry of bad) assert.throws(() => replica.merge([entry]), RangeError);
  assert.deepEqual(replica.entries(), []);
});

/** An owner's count for a key over time: it only grows. */
const history = fc.record({
  node: fc.constantFrom("B", "C", "D", "E"),
  key: fc.constantFrom("LikesServer0-r", "LikesServer1-r", "LikesServer2"),
  steps: fc.array(fc.nat({ max: 40 }), { minLength: 1, maxLength: 6 }),
});

Deno.test("property: any order, loss-free repetition and staleness of exchanges converge to the owners' counts", () => {
  fc.assert(
    fc.property(
      fc.array(history, { minLength: 1, maxLength: 8 }),
      fc.array(fc.tuple(fc.nat({ max: 4 }), fc.nat({ max: 4 }), fc.nat()), { maxLength: 60 }),
      (histories, exchanges) => {
        // Every message any replica could send, each one a snapshot of an owner's count at some time.
        const messages: ReplicaEntry[] = [];
        const truth = new Replica();
        for (const { node, key, steps } of histories) {
          let likes = 0;
          for (const step of steps) {
            likes += step;
            messages.push({ node, key, likes });
            truth.observe(node, key, likes);
          }
        }
        // Five replicas receive those messages, and each other's state, in random order and
        // with repeats; stale snapshots arrive after fresh ones.
        const replicas = Array.from({ length: 5 }, () => new Replica());
        for (const [from, to, pick] of exchanges) {
          replicas[to]!.merge([messages[pick % messages.length]!]);
          replicas[to]!.merge(replicas[from]!.entries());
        }
        // Then each replica gets every message once, in reverse order (the newest first).
        for (const replica of replicas) replica.merge([...messages].reverse());
        for (const replica of replicas) {
          assert.ok(replica.equals(truth));
          assert.equal(replica.total(), truth.total());
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("property: merge is commutative and idempotent", () => {
  const entries = fc.array(
    fc.record({
      node: fc.constantFrom("B", "C"),
      key: fc.constantFrom("a", "b", "c"),
      likes: fc.nat({ max: 100 }),
    }),
    { maxLength: 12 },
  );
  fc.assert(
    fc.property(entries, entries, (x, y) => {
      const xy = new Replica();
      xy.merge(x);
      xy.merge(y);
      const yx = new Replica();
      yx.merge(y);
      yx.merge(x);
      yx.merge(x);
      assert.ok(xy.equals(yx));
    }),
  );
});
