import assert from "node:assert/strict";
import { LineClient } from "../../protocol/line_client.ts";
import { startNodes, TEST_SECRET, testCluster } from "../../../tests/_overlay.ts";
import { tempDir, until } from "../../../tests/_helpers.ts";
import { askNode, nodeStats } from "../client/query_client.ts";
import type { ClusterConfig } from "../domain/cluster_config.ts";
import { parseClusterConfig } from "../domain/cluster_config.ts";
import { reachable } from "../domain/query_engine.ts";

const sequences = new Map<string, number>();

/** Sends keyed likes for client `name` to a node's PrimaryLikesServer. */
async function like(config: ClusterConfig, id: string, name: string, likes: number) {
  const port = config.nodes.get(id)!.likesPort!;
  const seq = (sequences.get(`${port}/${name}`) ?? 0) + 1;
  sequences.set(`${port}/${name}`, seq);
  using client = await LineClient.connect({ port });
  assert.match(await client.request(`LIKE ${name} ${seq} ${likes}`), /^ACK seq=/);
}

function portOf(config: ClusterConfig, id: string): number {
  return config.nodes.get(id)!.port;
}

Deno.test("reachable follows the directed edges and stops on cycles", () => {
  const config = testCluster();
  assert.deepEqual(reachable(config, "A"), ["A", "B", "C", "D", "E"]);
  assert.deepEqual(reachable(config, "C"), ["C", "E"]);
  const cyclic = parseClusterConfig(JSON.stringify({
    processes: {
      A: { host: "127.0.0.1", port: 7001, connections: ["B"], data_subset: "-" },
      B: { host: "127.0.0.1", port: 7002, connections: ["A"], data_subset: "-" },
    },
    overlay: ["AB", "BA"],
  }));
  assert.deepEqual(reachable(cyclic, "B"), ["A", "B"]);
});

Deno.test("a query at A gathers every node once, each row naming its owner", async () => {
  const config = testCluster();
  await using dir = await tempDir();
  await using _cluster = await startNodes(config, dir.path);
  // The same key on two nodes: two rows, one per owner, never merged.
  await like(config, "B", "LikesServer0", 3);
  await like(config, "C", "LikesServer0", 4);
  await like(config, "D", "LikesServer1", 5);
  await like(config, "E", "LikesServer2", 6);

  const reply = await askNode({
    secret: TEST_SECRET,
    hostname: "127.0.0.1",
    port: portOf(config, "A"),
    verb: "get_all",
  });
  assert.equal(reply.success, true, reply.message);
  assert.equal(reply.partial, false);
  assert.deepEqual(reply.results, [
    { key: "LikesServer0", node: "B", likes: 3 },
    { key: "LikesServer0", node: "C", likes: 4 },
    { key: "LikesServer1", node: "D", likes: 5 },
    { key: "LikesServer2", node: "E", likes: 6 }, // once, though both C and D lead to E
  ]);
  assert.deepEqual(reply.answered, ["A", "B", "C", "D", "E"]);
  assert.deepEqual(reply.missing, []);
  assert.equal(reply.total, 18);
  // The timing tree shows the diamond: E answered both paths (redundancy), the second afresh.
  const b = reply.timing!.stages.find((s) => s.name === "call B")!.tree!;
  const callsToE = ["C", "D"].map((via) =>
    b.stages.find((s) => s.name === `call ${via}`)!.tree!.stages.find((s) => s.name === "call E")!
  );
  assert.equal(
    callsToE.filter((s) => s.tree?.stages.some((x) => x.name === "local scan")).length,
    2,
    JSON.stringify(callsToE),
  );
  assert.equal(
    callsToE.filter((s) => s.tree?.stages[0]?.note === "skipped: a repeat by another path").length,
    1,
  );
});

Deno.test("get_by_key, get_by_prefix and total select rows; bad queries fail readably", async () => {
  const config = testCluster();
  await using dir = await tempDir();
  await using _cluster = await startNodes(config, dir.path);
  await like(config, "B", "alpha-1", 1);
  await like(config, "D", "alpha-2", 2);
  await like(config, "E", "beta-1", 4);
  const ask = (verb: string, params: string[] = []) =>
    askNode({
      secret: TEST_SECRET,
      hostname: "127.0.0.1",
      port: portOf(config, "A"),
      verb,
      params,
    });

  assert.deepEqual((await ask("get_by_key", ["beta-1", "nobody"])).results, [
    { key: "beta-1", node: "E", likes: 4 },
  ]);
  assert.deepEqual((await ask("get_by_prefix", ["alpha"])).results.map((r) => r.node), ["B", "D"]);
  const total = await ask("total");
  assert.equal(total.total, 7);
  assert.deepEqual(total.results, [
    { key: "total", node: "B", likes: 1 },
    { key: "total", node: "D", likes: 2 },
    { key: "total", node: "E", likes: 4 },
  ]);

  const unknown = await ask("get_everything");
  assert.equal(unknown.success, false);
  assert.match(unknown.message, /unknown verb "get_everything": a node answers get_all/);
  const missing = await ask("get_by_key");
  assert.equal(missing.success, false);
  assert.match(missing.message, /get_by_key needs at least one key/);
});

Deno.test("replicas converge by gossip; local answers come from the replica and say how stale", async () => {
  const config = testCluster();
  await using dir = await tempDir();
  await using cluster = await startNodes(config, dir.path);
  await like(config, "B", "k-b", 2);
  await like(config, "E", "k-e", 9);
  await like(config, "E", "k-e", 1);
  await until("every replica holds 12 likes", () => {
    for (const node of cluster.nodes.values()) {
      if (node.stats().replica.total !== 12) return Promise.resolve(false);
    }
    return Promise.resolve(true);
  });
  for (const node of cluster.nodes.values()) {
    assert.deepEqual(node.stats().replica.byNode, { B: 2, E: 10 });
  }
  const local = await askNode({
    secret: TEST_SECRET,
    hostname: "127.0.0.1",
    port: portOf(config, "A"),
    verb: "get_all",
    consistency: "local",
  });
  assert.equal(local.success, true);
  assert.deepEqual(local.results, [
    { key: "k-b", node: "B", likes: 2 },
    { key: "k-e", node: "E", likes: 10 },
  ]);
  assert.deepEqual(local.answered, ["A"]);
  assert.deepEqual(Object.keys(local.stale_ms ?? {}).sort(), ["B", "C", "D", "E"]);
  assert.ok(Object.values(local.stale_ms!).every((ms) => ms >= 0 && ms < 5000));
  // A's stats over the wire say the same.
  const stats = await nodeStats("127.0.0.1", portOf(config, "A"), TEST_SECRET);
  assert.equal((stats.replica as { total: number }).total, 12);
});

Deno.test("a repeated query is answered from the cache while likes flow, till the TTL ends or max_age_ms asks fresher", async () => {
  const config = testCluster();
  await using dir = await tempDir();
  await using cluster = await startNodes(config, dir.path, { cacheTtlMs: 1500 });
  await like(config, "C", "cached-1", 3);
  const a = cluster.nodes.get("A")!;
  await until("A's replica has C's like", () => Promise.resolve(a.stats().replica.total === 3));
  const ask = (maxAgeMs?: number) =>
    askNode({
      secret: TEST_SECRET,
      hostname: "127.0.0.1",
      port: a.port,
      verb: "get_all",
      ...(maxAgeMs === undefined ? {} : { maxAgeMs }),
    });

  const first = await ask();
  assert.equal(first.cached, false);
  // Each ask is a new connection, spread by the kernel over A's two query Workers: the cache is
  // in memory they share, so every repeat is a hit whichever Worker answers it — though a like
  // lands between them (the seed's semantics: served while younger than the TTL).
  assert.equal(a.stats().queryWorkers, 2);
  for (let i = 0; i < 4; i++) {
    await like(config, "D", "flowing", 1);
    await until(
      "A's replica has the like",
      () => Promise.resolve(a.stats().replica.total === 4 + i),
    );
    const repeat = await ask();
    assert.equal(repeat.cached, true, `repeat ${i}`);
    assert.equal(repeat.total, 3, "the cached answer, not yet the new likes");
    assert.ok(repeat.cache_age_ms! >= 0 && repeat.cache_age_ms! <= 1500);
    assert.match(repeat.message, /from the cache/);
  }
  // The client's say: 0 takes nothing from a cache.
  const fresh = await ask(0);
  assert.equal(fresh.cached, false);
  assert.equal(fresh.total, 7);
  assert.ok(a.stats().cache.hits >= 4);
  // Past the TTL the entry expires.
  assert.equal((await ask()).cached, true);
  await new Promise((r) => setTimeout(r, 1600));
  assert.equal((await ask()).cached, false);
  assert.ok(a.stats().cache.expired >= 1);
});

Deno.test("a stopped node is listed missing, and E is still reached through the other path", async () => {
  const config = testCluster();
  await using dir = await tempDir();
  await using cluster = await startNodes(config, dir.path);
  await like(config, "E", "e-1", 7);
  await like(config, "C", "c-1", 1);
  await cluster.stop("D");
  const reply = await askNode({
    secret: TEST_SECRET,
    hostname: "127.0.0.1",
    port: portOf(config, "A"),
    verb: "get_all",
  });
  assert.equal(reply.success, true);
  assert.equal(reply.partial, true);
  assert.deepEqual(reply.missing, ["D"]);
  assert.deepEqual(reply.answered, ["A", "B", "C", "E"]);
  assert.match(reply.problems.D!, /cannot reach/);
  assert.match(reply.message, /^PARTIAL: 4 of 5 nodes answered/);
  assert.deepEqual(reply.results.map((r) => r.key), ["c-1", "e-1"]);

  // With A down, a query at B still works.
  await cluster.stop("A");
  const atB = await askNode({
    secret: TEST_SECRET,
    hostname: "127.0.0.1",
    port: portOf(config, "B"),
    verb: "total",
  });
  assert.deepEqual(atB.missing, ["D"]);
  assert.equal(atB.total, 8);
});

Deno.test("a silent node cannot hold a query past its deadline, nor delay its siblings", async () => {
  const config = testCluster();
  await using dir = await tempDir();
  // C's address is held by a listener that accepts and never answers. B asks C first: were the
  // calls made one after another, D would get no time left; they are made at once.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: portOf(config, "C") });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of silent) held.push(conn);
  })();
  try {
    await using _cluster = await startNodes(config, dir.path, {}, ["A", "B", "D", "E"]);
    await like(config, "E", "e-1", 7);
    await like(config, "D", "d-1", 2);
    const started = performance.now();
    const reply = await askNode({
      secret: TEST_SECRET,
      hostname: "127.0.0.1",
      port: portOf(config, "A"),
      verb: "get_all",
      deadlineMs: 600,
    });
    const took = performance.now() - started;
    assert.ok(took < 1000, `the query took ${took} ms with a 600 ms deadline`);
    assert.equal(reply.partial, true);
    assert.deepEqual(reply.missing, ["C"]);
    assert.deepEqual(reply.answered, ["A", "B", "D", "E"]);
    // Silent either way: the query's own wait ran out, or (on a slow machine, where the nodes
    // took long to start) the heartbeats had already marked C down.
    assert.match(
      reply.problems.C!,
      /no reply from .* within \d+ ms|no answer to the handshake within \d+ ms|down since .* \(never heard\)/,
    );
    assert.deepEqual(reply.results, [
      { key: "d-1", node: "D", likes: 2 },
      { key: "e-1", node: "E", likes: 7 },
    ]);
    const b = reply.timing!.stages.find((s) => s.name === "call B")!.tree!;
    const callD = b.stages.find((s) => s.name === "call D")!;
    assert.ok(callD.tree, "D answered while C was silent");
  } finally {
    silent.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});

Deno.test("queries do not loop around a cycle: each node's likes count once", async () => {
  const ports = testCluster(); // free ports, reused for a cyclic overlay A→B→C→A, C→B
  const port = (id: string) => ports.nodes.get(id)!.port;
  const likesPort = (id: string) => ports.nodes.get(id)!.likesPort!;
  const config = parseClusterConfig(JSON.stringify({
    processes: {
      A: { host: "127.0.0.1", port: port("A"), connections: ["B"], data_subset: "-" },
      B: {
        host: "127.0.0.1",
        port: port("B"),
        connections: ["C"],
        data_subset: "-",
        likes_port: likesPort("B"),
      },
      C: {
        host: "127.0.0.1",
        port: port("C"),
        connections: ["A", "B"],
        data_subset: "-",
        likes_port: likesPort("C"),
      },
    },
    overlay: ["AB", "BC", "CA", "CB"],
  }));
  await using dir = await tempDir();
  await using cluster = await startNodes(config, dir.path);
  await like(config, "B", "b", 1);
  await like(config, "C", "c", 2);
  for (const id of ["A", "B", "C"]) {
    const reply = await askNode({
      secret: TEST_SECRET,
      hostname: "127.0.0.1",
      port: port(id),
      verb: "total",
      maxAgeMs: 0, // each query goes all the way round: no node answers from its cache
    });
    assert.equal(reply.partial, false, reply.message);
    assert.deepEqual(reply.answered, ["A", "B", "C"]);
    assert.equal(reply.total, 3);
  }
  const repeats = [...cluster.nodes.values()].reduce(
    (n, node) => n + node.stats().queries.repeats,
    0,
  );
  // At C the query reaches B twice (C→B, C→A→B); each stops there, its path leading back to C.
  assert.ok(repeats >= 1, `the cycle brought a query back and it stopped there: ${repeats}`);
  // Gossip does not loop either: once converged, merges stop.
  await until(
    "the replicas hold both likes",
    () => Promise.resolve([...cluster.nodes.values()].every((n) => n.stats().replica.total === 3)),
  );
  const merged = () => [...cluster.nodes.values()].map((n) => n.stats().gossip.merged);
  const before = merged();
  await new Promise((r) => setTimeout(r, 400)); // four gossip intervals
  assert.deepEqual(merged(), before);
});
