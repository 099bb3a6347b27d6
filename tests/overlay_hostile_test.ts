/**
 * Hostile peers at a node's port, against real nodes: a process without the cluster's secret
 * (forged gossip, made-up proofs, silence, a flood of connections), and an authenticated one that
 * sends bad frames, dribbles a frame, or piles up requests. No replica changes, every bad frame
 * gets an error, and the node keeps answering everyone else.
 */

import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { LineClient } from "../src/protocol/line_client.ts";
import { ClusterSecret } from "../src/overlay/wire/link_auth.ts";
import { askNode } from "../src/overlay/client/query_client.ts";
import type { ClusterConfig } from "../src/overlay/domain/cluster_config.ts";
import { RawNodeClient, startNodes, TEST_SECRET, testCluster } from "./_overlay.ts";
import { tempDir, until } from "./_helpers.ts";

const FORGED = {
  type: "gossip",
  from: "C",
  entries: [{ key: "x", node: "B", likes: 9007199254740991 }],
  "as_of": { B: 1e15 },
};

function portOf(config: ClusterConfig, id: string): number {
  return config.nodes.get(id)!.port;
}

async function likeAt(config: ClusterConfig, id: string, likes: number): Promise<void> {
  using client = await LineClient.connect({ port: config.nodes.get(id)!.likesPort! });
  assert.equal(await client.request(`LikesServer1 ${likes}`), "ACK");
}

Deno.test("a process without the secret changes no replica: forged gossip is refused, logged once, the connection closed", async () => {
  await using dir = await tempDir();
  const config = testCluster();
  await using cluster = await startNodes(config, dir.path, {
    workerLogs: true,
    queryWorkers: 1,
  });
  await likeAt(config, "B", 5);
  const replicas = () => [...cluster.nodes.values()].map((n) => n.stats().replica);
  await until(
    "every replica holds B's 5 likes",
    () => Promise.resolve(replicas().every((r) => r.total === 5)),
  );
  const before = replicas().map(({ total, byNode, entries }) => ({ total, byNode, entries }));

  for (let i = 0; i < 5; i++) {
    using forger = await RawNodeClient.connect(portOf(config, "B"));
    assert.equal(forger.hello.type, "hello");
    await forger.sendPlain(FORGED);
    const refusal = await forger.next() as Record<string, unknown>;
    assert.equal(refusal.type, "error");
    assert.match(String(refusal.message), /authentication failed/);
    assert.equal(await forger.next(), null, "the node closed the connection");
  }
  // A frame tagged with a made-up key after a real-looking handshake is refused the same way.
  using guesser = await RawNodeClient.connect(portOf(config, "C"));
  await assert.rejects(
    guesser.authenticate(ClusterSecret.fromText("x".repeat(40))),
    /not welcomed: .*proof of the cluster secret is wrong/,
  );

  await new Promise((r) => setTimeout(r, 400)); // four gossip intervals
  const after = replicas().map(({ total, byNode, entries }) => ({ total, byNode, entries }));
  assert.deepEqual(after, before, "no replica changed");
  assert.ok(
    [...cluster.nodes.values()].every((n) => (n.stats().replica.staleMs.B ?? 0) < 1e6),
    "B's part does not look fresh forever",
  );
  assert.equal(cluster.nodes.get("B")!.stats().connections.unauthenticated, 5);
  const log = await Deno.readTextFile(`${dir.path}/node.log`);
  const refusedAtB = log.split("\n").filter((line) =>
    /refused 127\.0\.0\.1:\d+: the first frame was not an auth frame/.test(line)
  );
  assert.equal(refusedAtB.length, 1, `one line for five refusals:\n${refusedAtB.join("\n")}`);
});

Deno.test("gossip that breaks the rules changes no replica, even from a peer with the secret, and is logged", async () => {
  // The nodes' main threads (which merge gossip) log through this process's logging.
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { buffer: records.push.bind(records) },
    loggers: [
      { category: ["likes", "overlay"], lowestLevel: "info", sinks: ["buffer"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
    ],
  });
  try {
    await forgeGossip(() => records.map((r) => r.message.join("")).join("\n"));
  } finally {
    await reset();
  }
});

async function forgeGossip(logText: () => string): Promise<void> {
  await using dir = await tempDir();
  const config = testCluster();
  await using cluster = await startNodes(config, dir.path, { queryWorkers: 1 });
  await likeAt(config, "B", 5);
  await likeAt(config, "E", 2);
  const replicas = () =>
    [...cluster.nodes.values()].map((n) => {
      const { total, byNode, entries } = n.stats().replica;
      return { total, byNode, entries };
    });
  await until(
    "every replica holds the 7 likes",
    () => Promise.resolve(replicas().every((r) => r.total === 7)),
  );
  const before = replicas();
  const now = Date.now();
  const key = "LikesServer1";
  const delta = (from: string, owner: string, extra: Record<string, unknown> = {}) => ({
    type: "delta",
    from,
    inc: now,
    n: 1,
    owner,
    epoch: now,
    base: 0,
    upto: 1,
    "as_of": now,
    entries: [[key, 50, 1]],
    removed: [],
    ...extra,
  });
  const forgeries: [string, Record<string, unknown>][] = [
    // B's own count, raised by someone else: B keeps its own.
    ["B", delta("C", "B", { entries: [[key, 9007199254740991, 1]] })],
    // The issue's forgery in today's form: an epoch and a stamp far in the future.
    ["B", delta("C", "E", { epoch: 1e15, "as_of": 1e15 })],
    ["C", delta("B", "Z")],
    ["C", delta("A", "B")],
    ["D", delta("B", "B", { entries: [[key, 2 ** 60, 1]] })],
    [
      "E",
      delta("C", "C", {
        upto: 10_001,
        entries: Array.from({ length: 10_001 }, (_, i) => [`k${i}`, 1, i + 1]),
      }),
    ],
    ["A", {
      type: "digest",
      from: "B",
      owners: { B: { epoch: now, version: 1, as_of: now + 3_600_000 } },
    }],
  ];
  for (const [id, message] of forgeries) {
    using forger = await RawNodeClient.connect(portOf(config, id));
    await forger.authenticate();
    await forger.sendTagged(message);
    await forger.sendTagged({ type: "stats", rid: 1 }); // answered after the gossip was handed over
    assert.equal((await forger.next() as Record<string, unknown>).rid, 1);
  }
  await new Promise((r) => setTimeout(r, 400)); // four gossip intervals
  assert.deepEqual(replicas(), before, "no replica changed");
  const stats = Object.fromEntries(
    [...cluster.nodes].map(([id, node]) => [id, node.stats().gossip]),
  );
  assert.equal(stats.B!.overclaims, 1);
  assert.equal(stats.B!.refused, 1);
  assert.equal(stats.C!.refused, 2);
  assert.equal(stats.D!.refused + stats.E!.refused + stats.A!.refused, 3);
  const log = logText();
  for (
    const reason of [
      /gossip from C \(127\.0\.0\.1:\d+\) sent B a delta about B itself, not taken/,
      /gossip from C \(127\.0\.0\.1:\d+\) refused, nothing of it merged: its epoch is \d+ ms ahead/,
      /refused, nothing of it merged: it names owner "Z", which holds no likes/,
      /gossip from A \(127\.0\.0\.1:\d+\) refused, nothing of it merged: from "A": not a neighbour of C/,
      /refused, nothing of it merged: likes must be a whole number/,
      /refused, nothing of it merged: 10001 keys in one delta: the limit is 10000/,
      /refused, nothing of it merged: owner B's as_of is \d+ ms ahead/,
    ]
  ) {
    assert.match(log, reason);
  }
}

Deno.test("bad frames from an authenticated peer get an error (with the rid where known); the connection and the node go on", async () => {
  await using dir = await tempDir();
  const config = testCluster();
  await using _cluster = await startNodes(config, dir.path, {}, ["A"]);
  using peer = await RawNodeClient.connect(portOf(config, "A"));
  await peer.authenticate();

  await peer.sendTagged(new TextEncoder().encode("{not json"));
  assert.match(
    String((await peer.next() as Record<string, unknown>).message),
    /does not hold JSON/,
  );
  await peer.sendTagged([1, 2]);
  assert.deepEqual(await peer.next(), {
    type: "error",
    message: "a message must be a JSON object",
  });
  await peer.sendTagged({ type: "teleport", rid: 5 });
  const unknown = await peer.next() as Record<string, unknown>;
  assert.equal(unknown.rid, 5);
  assert.match(String(unknown.message), /unknown message type "teleport"/);
  await peer.sendTagged({ type: "stats", rid: 6 });
  const stats = await peer.next() as Record<string, unknown>;
  assert.equal(stats.rid, 6, "the same connection still serves");
  assert.equal(stats.node, "A");

  // A frame over the cap cannot be skipped: an error, then the connection closes.
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, 0xffffffff);
  await peer.write(header);
  assert.match(String((await peer.next() as Record<string, unknown>).message), /limit is 16777216/);
  assert.equal(await peer.next(), null);

  const reply = await askNode({
    secret: TEST_SECRET,
    hostname: "127.0.0.1",
    port: portOf(config, "A"),
    verb: "total",
    consistency: "local",
  });
  assert.equal(reply.success, true, "the node serves the others");
});

Deno.test("a dribbled frame is closed at the frame deadline, and a flood without the secret cannot stop the node answering", async () => {
  await using dir = await tempDir();
  const config = testCluster();
  await using cluster = await startNodes(config, dir.path, {
    frameDeadlineMs: 300,
    maxHandshakes: 8,
    handshakeTimeoutMs: 5000,
  }, ["A"]);
  const port = portOf(config, "A");

  const dribbler = await RawNodeClient.connect(port);
  await dribbler.authenticate();
  const frame = new Uint8Array(4 + 100);
  new DataView(frame.buffer).setUint32(0, 100);
  const dribbling = (async () => {
    // A byte every 50 ms: the connection is never idle, but the frame never completes.
    for (let at = 0; at < frame.length; at++) {
      await new Promise((r) => setTimeout(r, 50));
      if (await dribbler.write(frame.subarray(at, at + 1)).then(() => false, () => true)) return at;
    }
    return frame.length;
  })();

  // 100 connections that never say a word, far past the 8 handshakes a Worker lets wait.
  const silent = await Promise.all(
    Array.from({ length: 100 }, () => Deno.connect({ hostname: "127.0.0.1", port })),
  );
  try {
    const started = performance.now();
    const reply = await askNode({
      secret: TEST_SECRET,
      hostname: "127.0.0.1",
      port,
      verb: "total",
      consistency: "local",
    });
    assert.equal(reply.success, true);
    const took = performance.now() - started;
    assert.ok(took < 2000, `answered in ${took} ms despite the flood`);
    // The oldest waiting handshakes were closed to make room (the counter follows within a turn
    // or two of each Worker's event loop; without the cap they would wait their 5 s).
    await until(
      "open connections fall to the handshake caps",
      () => Promise.resolve(cluster.nodes.get("A")!.stats().connections.open <= 2 * 8 + 2),
      2000,
    );
    assert.equal(await dribbler.next(), null, "the node closed the dribbling connection");
    const sent = await dribbling;
    assert.ok(sent < 40, `closed after ${sent} of ${frame.length} bytes (300 ms deadline)`);
  } finally {
    for (const conn of silent) {
      try {
        conn.close();
      } catch {
        // Closed by the node.
      }
    }
    dribbler[Symbol.dispose]();
    await dribbling;
  }
});

Deno.test("requests piled up on one connection past the in-flight cap get an error each, with their rid", async () => {
  await using dir = await tempDir();
  const config = testCluster();
  await using _cluster = await startNodes(config, dir.path, { maxInFlight: 4 });
  using peer = await RawNodeClient.connect(portOf(config, "A"));
  await peer.authenticate();
  for (let rid = 1; rid <= 50; rid++) {
    await peer.sendTagged({ type: "query", rid, verb: "get_all", params: [] });
  }
  const replies = new Map<number, Record<string, unknown>>();
  while (replies.size < 50) {
    const reply = await peer.next() as Record<string, unknown>;
    replies.set(reply.rid as number, reply);
  }
  const refused = [...replies.values()].filter((r) => r.type === "error");
  const answered = [...replies.values()].filter((r) => r.type === "answer");
  assert.ok(answered.length >= 4, `${answered.length} answered`);
  assert.ok(refused.length > 0, "some were refused");
  for (const reply of refused) {
    assert.match(String(reply.message), /too many requests in flight on this connection \(4\)/);
  }
});
