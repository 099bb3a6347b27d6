/**
 * OpenTelemetry end to end: real processes run with `OTEL_DENO=true` and export over OTLP/HTTP
 * (JSON) to a receiver on loopback. The server's metrics must equal what its clients were told
 * (`likes.counted` = the likes acknowledged, `likes.messages` by result and protocol, one
 * `likes.ack.duration` sample per reply, every journaled record in a flush); one overlay query
 * must be one trace, A → B → C/D → E, with a span per node visited. `deno task demo` names each of
 * its processes as a service of its own.
 */

import assert from "node:assert/strict";
import { PROJECT, runnerArgs, startListening, startServer } from "../src/launch/processes.ts";
import { parseClusterConfig } from "../src/overlay/domain/cluster_config.ts";
import { nodeArgs } from "../src/launch/node_command.ts";
import { askNode, type QueryReply } from "../src/overlay/client/query_client.ts";
import { LineClient } from "../src/protocol/line_client.ts";
import {
  latestPoints,
  type MetricPoint,
  OtlpReceiver,
  type PlainAttributes,
  type SpanRecord,
} from "../src/telemetry/otlp_receiver.ts";
import { TEST_SECRET, writeCluster } from "./_overlay.ts";
import { readLines, runDeno, tempDir, until } from "./_helpers.ts";

/** The latest value of `name` for `service`, summed over the series whose attributes match. */
function valueOf(
  points: readonly MetricPoint[],
  name: string,
  service: string,
  attributes: PlainAttributes = {},
): number {
  return latestPoints(points, name)
    .filter((p) => p.service === service)
    .filter((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))
    .reduce((sum, p) => sum + (p.value ?? p.sum ?? 0), 0);
}

/** The latest histogram point of `name` for `service` (its count and sum). */
function histogramOf(points: readonly MetricPoint[], name: string, service: string): MetricPoint {
  const found = latestPoints(points, name).filter((p) => p.service === service);
  assert.equal(found.length, 1, `one ${name} series from ${service}`);
  assert.equal(found[0]!.kind, "histogram");
  return found[0]!;
}

Deno.test("OTEL_DENO=true server.ts: the exported likes.* metrics equal what the clients were acknowledged", async () => {
  await using dir = await tempDir("likes-otel-test-");
  await using receiver = OtlpReceiver.start();
  const service = "likes-primary-test";
  await using server = await startServer({
    logDir: dir.path,
    workers: 2,
    env: receiver.env(service, 300),
  });

  // A client stays connected until an export has seen it.
  using idle = await LineClient.connect({ port: server.port });
  assert.equal(await idle.request("STATS LikesServer0").then((r) => r.startsWith("{")), true);
  await until("an export counts the open connection", () =>
    Promise.resolve(
      receiver.metrics.some((p) => p.name === "likes.connections.open" && p.value === 1),
    ));
  idle.close();

  let likesAcked = 0;
  let classicAcks = 0;
  let replies = 0;
  // Four clients at once, one message at a time, each checking its reply.
  await Promise.all([0, 1, 2, 3].map(async (c) => {
    using client = await LineClient.connect({ port: server.port });
    for (let i = 0; i < 40; i++) {
      const likes = 1 + ((i * 7 + c) % 42);
      const reply = await client.request(`LikesServer${c} ${likes}`);
      replies++;
      assert.equal(reply, "ACK");
      likesAcked += likes;
      classicAcks++;
    }
  }));
  // Keyed messages, one repeated (a duplicate adds nothing), and two invalid ones.
  using keyed = await LineClient.connect({ port: server.port });
  assert.match(await keyed.request("LIKE edge-1 1 5"), /^ACK seq=1 /);
  assert.match(await keyed.request("LIKE edge-1 2 7"), /^ACK seq=2 /);
  assert.match(await keyed.request("LIKE edge-1 2 7"), /^ACK seq=2 .* dup$/);
  assert.match(await keyed.request("LIKE edge-1 9 1"), /^ERR out of order/);
  assert.match(await keyed.request("LikesServer1 99"), /^ERR likes "99" above max/);
  replies += 5 + 1; // and the idle client's STATS
  likesAcked += 5 + 7;
  keyed.close();
  // The exit export carries the final counts.
  const status = await server.stop("SIGTERM");
  assert.equal(status.code, 0, server.output().stderr);

  const points = receiver.metrics;
  assert.equal(valueOf(points, "likes.counted", service), likesAcked, "likes.counted");
  const messages = (result: string, protocol: string) =>
    valueOf(points, "likes.messages", service, { result, protocol });
  assert.equal(messages("counted", "classic"), classicAcks);
  assert.equal(messages("counted", "keyed"), 2);
  assert.equal(messages("duplicate", "keyed"), 1);
  assert.equal(messages("invalid", "keyed"), 1);
  assert.equal(messages("invalid", "classic"), 1);
  assert.equal(valueOf(points, "likes.connections.open", service), 0, "every client left");

  const ack = histogramOf(points, "likes.ack.duration", service);
  assert.equal(ack.unit, "ms");
  assert.equal(ack.count, replies, "one sample per reply");
  assert.ok(ack.sum! > 0);
  const records = histogramOf(points, "likes.journal.flush.records", service);
  assert.equal(records.sum, classicAcks + 2, "every counted message was journaled in a flush");
  const flushes = histogramOf(points, "likes.journal.flush.duration", service);
  assert.equal(flushes.count, records.count, "one duration per flush");
});

Deno.test("OTEL_DENO=true deno task demo: the primary exports likes.* (likes.counted = its total), each process as its own service", async () => {
  await using dir = await tempDir("likes-otel-demo-test-");
  await using receiver = OtlpReceiver.start();
  const output = await runDeno(
    runnerArgs("demo", dir.path, [
      "--children=2",
      "--stagger=0",
      "--duration=1",
      "--min-interval=0.05",
      "--max-interval=0.2",
      "--no-view",
    ]),
    60_000,
    receiver.env("likes-demo"),
  );
  assert.equal(output.code, 0, output.stderr);
  assert.match(output.stdout, /^verdict: CONVERGED/m);
  const stopped = (await readLines(`${dir.path}/PrimaryLikesLog`))
    .map((line) => / stopped: total (\d+) likes/.exec(line)?.[1])
    .find((total) => total !== undefined);
  assert.ok(stopped !== undefined, "the server logged its final total");
  const points = receiver.metrics;
  assert.equal(valueOf(points, "likes.counted", "likes-primary"), Number(stopped));
  for (const name of ["likes.messages", "likes.ack.duration", "likes.journal.flush.duration"]) {
    assert.ok(points.some((p) => p.name === name && p.service === "likes-primary"), name);
  }
  const services = new Set(points.map((p) => p.service));
  for (const service of ["likes-primary", "likes-parent", "likes-server"]) {
    assert.ok(services.has(service), `${service} among ${[...services]}`);
  }
});

Deno.test("OTEL_DENO=true overlay: one query is one trace A → B → C/D → E, with the nodes' query, cache and gossip metrics", async () => {
  await using dir = await tempDir("likes-otel-overlay-test-");
  await using receiver = OtlpReceiver.start();
  const configFile = await writeCluster(dir.path);
  const config = parseClusterConfig(await Deno.readTextFile(configFile));
  const paths = {
    denoConfig: PROJECT.config,
    entry: PROJECT.node,
    src: PROJECT.src,
    configFile,
    secretFile: `${dir.path}/cluster.key`,
  };
  const nodes = new Map<string, Awaited<ReturnType<typeof startListening>>>();
  const stopped: string[] = [];
  let first: QueryReply;
  let again: QueryReply;
  try {
    for (const id of config.nodes.keys()) {
      const args = nodeArgs(config, id, paths, {
        dir: `${dir.path}/${id}`,
        extra: ["--gossip-interval=0.1"],
      });
      nodes.set(
        id,
        await startListening(`node ${id}`, args, { env: receiver.env(`likes-node-${id}`, 300) }),
      );
    }
    // Some likes at B and E, so rows travel back along the paths.
    for (const [id, likes] of [["B", 3], ["E", 4]] as const) {
      using client = await LineClient.connect({ port: config.nodes.get(id)!.likesPort! });
      assert.equal(await client.request(`LikesServer1 ${likes}`), "ACK");
    }
    const portal = { hostname: "127.0.0.1", port: config.nodes.get("A")!.port };
    // Once gossip has spread them, the replicas stay put (so a cached answer stays valid), and
    // every node's lag gauge has owners to report.
    await until("A's replica holds B's and E's likes", async () => {
      const local = await askNode({
        secret: TEST_SECRET,
        ...portal,
        verb: "total",
        consistency: "local",
      });
      return local.total === 7;
    });
    first = await askNode({ secret: TEST_SECRET, ...portal, verb: "get_all" });
    assert.equal(first.success, true, first.message);
    assert.equal(first.partial, false);
    assert.equal(first.results.length, 2);
    assert.match(first.trace_id, /^[0-9a-f]{32}$/);
    again = await askNode({ secret: TEST_SECRET, ...portal, verb: "get_all" });
    assert.equal(again.cached, true, "the second answer comes from A's cache");
    assert.notEqual(again.trace_id, first.trace_id, "each query is a trace of its own");
  } finally {
    for (const [id, node] of nodes) {
      const status = await node.stop("SIGTERM");
      stopped.push(`${id}: exit ${status.code}${status.code === 0 ? "" : node.output().stderr}`);
    }
  }
  // A node that did not stop cleanly made no final export: say so before anything is missing.
  assert.deepEqual(stopped, [...nodes.keys()].map((id) => `${id}: exit 0`));

  const spans = receiver.spans.filter((s) => s.traceId === first.trace_id);
  const byNode = Map.groupBy(spans, (s) => String(s.attributes.node));
  assert.deepEqual([...byNode.keys()].sort(), ["A", "B", "C", "D", "E"], "a span per node");
  const one = (id: string): SpanRecord => {
    const list = byNode.get(id)!.filter((s) => s.attributes.repeat !== true);
    assert.equal(list.length, 1, `one first visit of ${id}`);
    return list[0]!;
  };
  const [a, b, c, d, e] = ["A", "B", "C", "D", "E"].map(one) as SpanRecord[];
  for (const span of spans) {
    assert.equal(span.name, "query get_all");
    assert.equal(span.attributes.verb, "get_all");
    assert.equal(span.service, `likes-node-${span.attributes.node}`);
  }
  assert.notEqual(a!.parentSpanId, "", "A's span is the child of the client's");
  assert.equal(b!.parentSpanId, a!.spanId, "A asked B");
  assert.equal(c!.parentSpanId, b!.spanId, "B asked C");
  assert.equal(d!.parentSpanId, b!.spanId, "B asked D");
  assert.ok([c!.spanId, d!.spanId].includes(e!.parentSpanId), "C or D asked E");
  // E is reached on both sides of the diamond, and answers both (redundancy): the second visit
  // is marked a repeat, a child of the other side's span, with the same rows.
  const repeats = byNode.get("E")!.filter((span) => span.attributes.repeat === true);
  assert.equal(repeats.length, 1, "E's second visit is a repeat");
  assert.equal(repeats[0]!.attributes.rows, 1);
  assert.deepEqual(
    [e!.parentSpanId, repeats[0]!.parentSpanId].sort(),
    [c!.spanId, d!.spanId].sort(),
    "one visit from C, one from D",
  );
  assert.equal(a!.attributes.rows, 2);
  assert.equal(a!.attributes.cached, false);
  assert.equal(e!.attributes.rows, 1);
  const cachedVisit = receiver.spans.find((s) =>
    s.traceId === again.trace_id && s.attributes.node === "A"
  );
  assert.equal(cachedVisit?.attributes.cached, true);

  const points = receiver.metrics;
  for (const id of ["A", "B", "C", "D", "E"]) {
    const duration = latestPoints(points, "likes.query.duration").filter((p) =>
      p.service === `likes-node-${id}` && p.attributes.verb === "get_all"
    );
    assert.equal(duration.length, 1, `likes.query.duration {verb=get_all} from ${id}`);
    assert.ok(duration[0]!.count! >= 1);
  }
  assert.ok(valueOf(points, "likes.cache.hits", "likes-node-A") >= 1, "A's cache hit");
  assert.ok(valueOf(points, "likes.cache.misses", "likes-node-A") >= 1, "A's first miss");
  const lag = latestPoints(points, "likes.gossip.lag").filter((p) => p.service === "likes-node-A");
  assert.deepEqual(
    lag.map((p) => p.attributes.owner).sort(),
    ["B", "C", "D", "E"],
    "A reports how far behind each owner's counts it is",
  );
  assert.equal(valueOf(points, "likes.counted", "likes-node-B"), 3, "B's own server's metrics");
});
