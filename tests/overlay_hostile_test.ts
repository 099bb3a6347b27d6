/**
 * Hostile peers at a node's port, against real nodes: a process without the cluster's secret
 * (forged gossip, made-up proofs, silence, a flood of connections), and an authenticated one that
 * sends bad frames, dribbles a frame, or piles up requests. No replica changes, every bad frame
 * gets an error, and the node keeps answering everyone else.
 */

import assert from "node:assert/strict";
import { LineClient } from "../src/protocol/line_client.ts";
import { ClusterSecret } from "../src/overlay/link_auth.ts";
import { askNode } from "../src/overlay/query_client.ts";
import type { ClusterConfig } from "../src/overlay/cluster_config.ts";
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
    assert.ok(
      cluster.nodes.get("A")!.stats().connections.open <= 2 * 8 + 2,
      `open connections stay bounded: ${
        JSON.stringify(cluster.nodes.get("A")!.stats().connections)
      }`,
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
