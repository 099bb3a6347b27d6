import assert from "node:assert/strict";
import {
  checkGossip,
  Gossip,
  type GossipLink,
  GossipRefusal,
  MAX_CLOCK_SKEW_MS,
  MAX_GOSSIP_ENTRIES,
} from "./gossip.ts";
import { RETIRED_KEY } from "./replica.ts";

const RULES = { self: "A", neighbours: new Set(["B", "C"]), owners: new Set(["B", "C", "D"]) };
const NOW = 1_000_000;

function delta(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "delta",
    from: "B",
    inc: 400,
    n: 1,
    owner: "C",
    epoch: 500,
    base: 0,
    upto: 2,
    "as_of": NOW,
    entries: [["k", 4, 1]],
    removed: [["gone", 2]],
    ...extra,
  };
}

Deno.test("checkGossip refuses a message whole, naming the rule", () => {
  const cases: [string, unknown, GossipRefusal["rule"], RegExp][] = [
    ["not an object", [1], "shape", /not an object/],
    [
      "the old full-state form",
      { type: "gossip", from: "B", entries: [], as_of: {} },
      "shape",
      /a digest or a delta, not "gossip"/,
    ],
    [
      "from a node that is not a neighbour",
      delta({ from: "E" }),
      "from",
      /from "E": not a neighbour of A/,
    ],
    [
      "an owner outside the config",
      delta({ owner: "Z" }),
      "owner",
      /owner "Z", which holds no likes/,
    ],
    ["the portal as an owner", delta({ owner: "A" }), "owner", /owner "A"/],
    ["likes past 2^53", delta({ entries: [["k", 2 ** 60, 1]] }), "entry", /whole number/],
    ["a version outside base..upto", delta({ entries: [["k", 1, 3]] }), "entry", /at most upto 2/],
    ["an empty key", delta({ entries: [["", 1, 1]] }), "entry", /1 to 64 characters/],
    ["base above upto", delta({ base: 3 }), "shape", /0 <= base <= upto/],
    [
      "too many keys",
      delta({
        upto: 20_000,
        entries: Array.from({ length: MAX_GOSSIP_ENTRIES + 1 }, (_, i) => [`k${i}`, 1, i + 1]),
      }),
      "size",
      /limit is 10000/,
    ],
    [
      "an epoch in the future",
      delta({ epoch: NOW + MAX_CLOCK_SKEW_MS + 1 }),
      "future",
      /its epoch is \d+ ms ahead/,
    ],
    [
      "a stamp in the future",
      delta({ as_of: NOW + 3_600_000 }),
      "future",
      /its as_of is 3600000 ms ahead/,
    ],
    [
      "a digest of an unknown owner",
      { type: "digest", from: "B", owners: { Q: { epoch: 1, version: 1, as_of: 1 } } },
      "owner",
      /owner "Q"/,
    ],
    [
      "a digest stamped in the future",
      { type: "digest", from: "C", owners: { D: { epoch: 1, version: 1, as_of: NOW * 2 } } },
      "future",
      /owner D's as_of/,
    ],
  ];
  for (const [name, message, rule, text] of cases) {
    assert.throws(
      () => checkGossip(message, RULES, NOW),
      (e) => e instanceof GossipRefusal && e.rule === rule && text.test(e.message),
      name,
    );
  }
  const ok = checkGossip(delta(), RULES, NOW);
  assert.equal(ok.kind === "delta" && ok.delta.entries.length, 1);
});

/** Gossip nodes wired by in-memory links: a message sent is received at once (or dropped). */
function wire(ids: string[], edges: [string, string][]) {
  const nodes = new Map<string, Gossip>();
  const sent: { from: string; to: string; message: Record<string, unknown>; bytes: number }[] = [];
  let cut = false;
  for (const id of ids) {
    const peers = new Map<string, GossipLink>();
    for (const [a, b] of edges) {
      const other = a === id ? b : b === id ? a : null;
      if (other === null) continue;
      let bytes = 0;
      peers.set(other, {
        address: other,
        generation: 0,
        get bytesSent() {
          return bytes;
        },
        notify(message: Record<string, unknown>) {
          if (cut) return Promise.resolve(false);
          const size = JSON.stringify(message).length + 36;
          bytes += size;
          sent.push({ from: id, to: other, message, bytes: size });
          queueMicrotask(() => nodes.get(other)!.receive(message, Date.now(), size));
          return Promise.resolve(true);
        },
      });
    }
    nodes.set(
      id,
      new Gossip({ self: id, peers, intervalMs: 60_000, settleMs: 1, owners: new Set(["B", "C"]) }),
    );
  }
  return {
    nodes,
    sent,
    cut(on: boolean) {
      cut = on;
    },
    [Symbol.dispose]() {
      for (const node of nodes.values()) node[Symbol.dispose]();
    },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 30));

Deno.test("Gossip: digests start the exchange; then one like sends one small delta along each edge", async () => {
  using net = wire(["A", "B", "C"], [["A", "B"], ["B", "C"]]);
  const [a, b, c] = ["A", "B", "C"].map((id) => net.nodes.get(id)!);
  const keys = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`LikesServer${i}`, i]));
  b!.observeOwn(keys, 0);
  c!.observeOwn({ "LikesServer0-c": 3 }, 0);
  for (const node of [a, b, c]) node!.start();
  await settle();
  for (const node of [a, b, c]) assert.equal(node!.replica.total(), 499_503, "converged");

  net.sent.length = 0;
  b!.observeOwn({ ...keys, LikesServer7: 8 }, 0); // one more like on one key
  await settle();
  const deltas = net.sent.filter((s) => s.message.type === "delta");
  assert.deepEqual(
    deltas.map((s) => `${s.from}${s.to}`).sort(),
    ["BA", "BC"],
    "B tells A and C; no one tells B about B",
  );
  for (const { message, bytes } of deltas) {
    assert.deepEqual(message.entries, [["LikesServer7", 8, 1001]]);
    assert.ok(bytes < 300, `${bytes} bytes for one like`);
  }
  for (const node of [a, b, c]) assert.equal(node!.replica.get("B", "LikesServer7"), 8);
});

Deno.test("Gossip.observeOwnChanges: what changed (the total giving the retired likes) travels like a whole read", async () => {
  using net = wire(["A", "B"], [["A", "B"]]);
  const [a, b] = ["A", "B"].map((id) => net.nodes.get(id)!);
  b!.observeOwnChanges({ k: 3, j: 1 }, 4); // the first look: the table whole
  for (const node of [a, b]) node!.start();
  await settle();
  assert.equal(a!.replica.total("B"), 4);
  net.sent.length = 0;
  b!.observeOwnChanges({ k: 5 }, 8); // k rose by 2, and 2 more likes are of forgotten clients
  await settle();
  const deltas = net.sent.filter((s) => s.message.type === "delta");
  assert.equal(deltas.length, 1);
  assert.deepEqual(deltas[0]!.message.entries, [["k", 5, 3]]);
  assert.deepEqual(
    a!.replica.entries().map((e) => [e.key, e.likes]),
    [["j", 1], ["k", 5], [RETIRED_KEY, 2]],
  );
  b!.observeOwn({ k: 5 }, 3); // a whole read: j forgotten, its like retired
  b!.observeOwnChanges({ k: 6 }, 9);
  await settle();
  assert.deepEqual(a!.replica.entries().map((e) => [e.key, e.likes]), [["k", 6], [RETIRED_KEY, 3]]);
});

Deno.test("Gossip: a node takes nothing about itself, and answers a forged later epoch of itself with its own", async () => {
  using net = wire(["B", "C"], [["B", "C"]]);
  const [b, c] = ["B", "C"].map((id) => net.nodes.get(id)!);
  b!.observeOwn({ k: 3 }, 0);
  b!.start();
  c!.start();
  await settle();
  const epoch = b!.stats().epoch;
  // C (or whoever holds the secret) claims a later epoch of B with a huge count.
  const forged = Date.now() + 1000;
  b!.receive(
    delta({
      from: "C",
      owner: "B",
      epoch: forged,
      as_of: Date.now(),
      entries: [["k", 9e15, 1]],
      removed: [],
      upto: 1,
    }),
  );
  assert.equal(b!.replica.get("B", "k"), 3, "not taken");
  assert.equal(b!.stats().overclaims, 1);
  c!.receive(
    delta({
      from: "B",
      owner: "B",
      epoch: forged,
      as_of: Date.now(),
      entries: [["k", 9e15, 1]],
      removed: [],
      upto: 1,
    }),
  );
  assert.equal(c!.replica.get("B", "k"), 9e15, "C took the forgery (it cannot tell)");
  // C's next digest shows B a later epoch of B: B starts one later still, which replaces it.
  c!.receive({ type: "digest", from: "B", owners: b!.replica.digest() });
  b!.receive({ type: "digest", from: "C", owners: c!.replica.digest() });
  await settle();
  assert.ok(b!.stats().epoch > forged && epoch < forged);
  assert.equal(c!.replica.get("B", "k"), 3, "the owner's count is back");
});

Deno.test("Gossip: deltas lost while a link is down are repaired by the next digests", async () => {
  using net = wire(["B", "C"], [["B", "C"]]);
  const [b, c] = ["B", "C"].map((id) => net.nodes.get(id)!);
  b!.observeOwn({ k: 1 }, 0);
  b!.start();
  c!.start();
  await settle();
  assert.equal(c!.replica.total(), 1);
  net.cut(true);
  b!.observeOwn({ k: 5, j: 2 }, 0);
  await settle();
  assert.equal(c!.replica.total(), 1, "lost");
  net.cut(false);
  c!.receive({ type: "digest", from: "B", owners: b!.replica.digest() }); // B's periodic digest
  b!.receive({ type: "digest", from: "C", owners: c!.replica.digest() }); // and C's
  await settle();
  assert.equal(c!.replica.total(), 7);
});
