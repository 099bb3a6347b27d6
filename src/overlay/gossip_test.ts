import assert from "node:assert/strict";
import fc from "fast-check";
import type { PeerLink } from "./frame_conn.ts";
import {
  checkGossip,
  Gossip,
  type GossipMessage,
  GossipRefusal,
  MAX_CLOCK_SKEW_MS,
  MAX_GOSSIP_ENTRIES,
} from "./gossip.ts";

/** A node's gossip with neighbours B, C and D (never started: nothing is sent). */
function gossipOf(self: string): Gossip {
  const peers = new Map(["B", "C", "D"].map((id) => [id, {} as PeerLink]));
  return new Gossip({
    self,
    peers,
    intervalMs: 1000,
    owners: new Set(["B", "C", "D", "E"]),
    nodes: new Set(["A", "B", "C", "D", "E"]),
  });
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
  assert.throws(() => gossip.receive({ from: "C", entries: "x", as_of: {} }), /needs entries/);
  assert.throws(
    () => gossip.receive({ from: "C", entries: [{ node: "b", key: "k", likes: 1 }], as_of: {} }),
    /node must be one letter/,
  );
  assert.equal(gossip.stats().refused, 3);
});

Deno.test("checkGossip refuses a message whole, naming the rule; nothing of it is merged", () => {
  const now = 1_000_000;
  const entry = { key: "k", node: "C", likes: 4 };
  const cases: [string, unknown, GossipRefusal["rule"], RegExp][] = [
    [
      "from a node that is not a neighbour",
      { from: "E", entries: [], as_of: {} },
      "from",
      /not a neighbour of A/,
    ],
    ["with no from", { entries: [], as_of: {} }, "from", /from undefined/],
    [
      "an owner outside the config",
      { from: "B", entries: [entry, { ...entry, node: "Z" }], as_of: {} },
      "owner",
      /owner Z, which holds no likes/,
    ],
    [
      "the portal as an owner",
      { from: "B", entries: [{ ...entry, node: "A" }], as_of: {} },
      "owner",
      /owner A/,
    ],
    [
      "likes past 2^53",
      { from: "B", entries: [{ ...entry, likes: 2 ** 60 }], as_of: {} },
      "entry",
      /whole number/,
    ],
    [
      "too many entries",
      {
        from: "B",
        entries: Array.from(
          { length: MAX_GOSSIP_ENTRIES + 1 },
          (_, i) => ({ ...entry, key: `k${i}` }),
        ),
        as_of: {},
      },
      "size",
      /limit is 10000/,
    ],
    [
      "a stamp in the future",
      { from: "B", entries: [entry], as_of: { C: now + MAX_CLOCK_SKEW_MS + 1 } },
      "future",
      /as_of C is \d+ ms ahead/,
    ],
    [
      "a stamp of an unknown node",
      { from: "B", entries: [], as_of: { Q: now } },
      "shape",
      /as_of "Q"/,
    ],
    [
      "a stamp that is not a number",
      { from: "B", entries: [], as_of: { C: "soon" } },
      "shape",
      /as_of "C"/,
    ],
  ];
  for (const [name, message, rule, text] of cases) {
    using gossip = gossipOf("A");
    assert.throws(
      () => gossip.receive(message, now),
      (e) => e instanceof GossipRefusal && e.rule === rule && text.test(e.message),
      name,
    );
    assert.equal(gossip.replica.total(), 0, `${name}: nothing merged`);
    assert.deepEqual(gossip.staleness(now), {}, `${name}: no stamp taken`);
  }
  const ok = { from: "B", entries: [entry], as_of: { C: now + MAX_CLOCK_SKEW_MS } };
  assert.equal(
    checkGossip(ok, {
      self: "A",
      neighbours: new Set(["B"]),
      owners: new Set(["C"]),
      nodes: new Set(["A", "B", "C"]),
    }, now).entries.length,
    1,
  );
});

Deno.test("a node never takes from others a count for itself above its own; the rest is merged", () => {
  using gossip = gossipOf("C");
  gossip.observeOwn({ k: 3 }, 1000);
  const rose = gossip.receive({
    from: "B",
    entries: [
      { key: "k", node: "C", likes: 9007199254740991 },
      { key: "new", node: "C", likes: 1 },
      { key: "k", node: "C", likes: 2 },
      { key: "k", node: "D", likes: 7 },
    ],
    as_of: { C: 5000, D: 1500 },
  }, 2000);
  assert.equal(rose, 1, "only D's entry rose");
  assert.equal(gossip.replica.get("C", "k"), 3);
  assert.equal(gossip.replica.get("C", "new"), 0);
  assert.equal(gossip.replica.total(), 10);
  assert.equal(gossip.stats().overclaims, 2);
  assert.deepEqual(gossip.staleness(2000), { C: 1000, D: 500 }, "its own stamp is its own");
});
