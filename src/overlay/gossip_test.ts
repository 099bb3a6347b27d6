import assert from "node:assert/strict";
import fc from "fast-check";
import { Gossip, type GossipMessage } from "./gossip.ts";

function gossipOf(self: string): Gossip {
  return new Gossip({ self, peers: new Map(), intervalMs: 1000 });
}

Deno.test("property: gossip messages in any order, repeated, converge to the same replica and stamps", () => {
  const message = fc.record({
    from: fc.constantFrom("B", "C", "D"),
    entries: fc.array(
      fc.record({
        node: fc.constantFrom("B", "C", "D", "E"),
        key: fc.constantFrom("k1", "k2", "k3"),
        likes: fc.nat({ max: 1000 }),
      }),
      { maxLength: 6 },
    ),
    asOf: fc.dictionary(fc.constantFrom("B", "C", "D", "E"), fc.nat({ max: 1e6 })),
  });
  fc.assert(
    fc.property(fc.array(message, { minLength: 1, maxLength: 12 }), fc.nat(), (list, seed) => {
      const messages: GossipMessage[] = list.map((m) => ({
        type: "gossip",
        from: m.from,
        entries: m.entries,
        as_of: m.asOf,
      }));
      using inOrder = gossipOf("A");
      for (const m of messages) inOrder.receive(m);
      // Another node gets them shuffled, each one twice.
      const shuffled = [...messages, ...messages].map((m, i) => ({
        m,
        sort: (i * 7919 + seed) % 104729,
      })).sort((a, b) => a.sort - b.sort).map((x) => x.m);
      using mixed = gossipOf("A");
      for (const m of shuffled) mixed.receive(m);
      assert.ok(inOrder.replica.equals(mixed.replica));
      assert.deepEqual(inOrder.staleness(2e6), mixed.staleness(2e6));
    }),
    { numRuns: 200 },
  );
});

Deno.test("Gossip: own counts only rise, stamp the node, and bad messages are refused", () => {
  using gossip = gossipOf("B");
  gossip.observeOwn({ a: 3 }, 1000);
  gossip.observeOwn({ a: 2 }, 2000); // a stale read never lowers the count
  assert.equal(gossip.replica.total("B"), 3);
  assert.deepEqual(gossip.staleness(2500), { B: 500 });
  assert.throws(() => gossip.receive(null), /not an object/);
  assert.throws(() => gossip.receive({ entries: "x", as_of: {} }), /needs entries/);
  assert.throws(
    () => gossip.receive({ entries: [{ node: "b", key: "k", likes: 1 }], as_of: {} }),
    /node must be one letter/,
  );
});
