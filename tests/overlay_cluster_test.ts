/**
 * The overlay as real processes: `cluster.ts` starts nodes A–E with their own grants and
 * LikesServers against B–E, and must converge; with a data node SIGKILLed mid-run, queries report
 * it missing (E still reached through C), its LikesServers catch up after the restart, and the
 * replicas converge again. Also: a bad config is a one-line error naming the field (exit 2).
 */

import assert from "node:assert/strict";
import { type ListeningProcess, PROJECT, startListening } from "../src/launch/processes.ts";
import { parseClusterConfig } from "../src/overlay/domain/cluster_config.ts";
import { askNode } from "../src/overlay/client/query_client.ts";
import type { ClusterReport } from "../src/overlay/cli/cluster_report.ts";
import { clusterText, TEST_SECRET, writeCluster } from "./_overlay.ts";
import { runDeno, tempDir, until } from "./_helpers.ts";

/** `deno task cluster`'s grants, plus reading the test's own config. */
function clusterArgs(dir: string, args: readonly string[]): string[] {
  return [
    "run",
    "--no-prompt",
    `--config=${PROJECT.config}`,
    "--allow-net=127.0.0.1",
    `--allow-read=.,${dir}`,
    "--allow-run=deno",
    "--allow-write=/tmp",
    "cluster.ts",
    `--config=${dir}/cluster.json`,
    `--dir=${dir}/run`,
    ...args,
  ];
}

Deno.test("deno task cluster: five nodes and their LikesServers converge, replicas included", async () => {
  await using dir = await tempDir("likes-cluster-test-");
  await writeCluster(dir.path);
  const run = await runDeno(
    clusterArgs(dir.path, [
      "--duration=1.5",
      "--likes-servers-per-node=2",
      "--query-interval=0.3",
      "--gossip-interval=0.2",
      "--json",
    ]),
    60_000,
  );
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as ClusterReport;
  assert.equal(report.converged, true, report.verdict);
  assert.ok(report.generated > 0);
  for (const node of report.nodes) {
    assert.equal(node.replicaTotal, report.generated, `${node.id}'s replica`);
    if (node.holdsLikes) {
      assert.equal(node.counted, node.generated, `${node.id} counted`);
      assert.equal(node.acknowledged, node.generated, `${node.id} acknowledged`);
    }
  }
  assert.equal(typeof report.convergenceMs, "number");
  assert.ok(report.queries.length >= 2, "the portal was queried while the likes ran");
  assert.ok(report.queries.every((q) => q.missing.length === 0));
  // Every node ran with its own narrow grants and logged the queries it received.
  const log = await Deno.readTextFile(`${dir.path}/run/E/node.log`);
  assert.match(log, /query [0-9a-f-]+ total gather from a node/);
});

Deno.test("fault drill: a SIGKILLed data node is reported missing, then catches up and converges", async () => {
  await using dir = await tempDir("likes-cluster-test-");
  await writeCluster(dir.path);
  const run = await runDeno(
    clusterArgs(dir.path, [
      "--duration=3",
      "--likes-servers-per-node=1",
      "--query-interval=0.2",
      "--gossip-interval=0.2",
      "--kill=D@0.8",
      "--down=1",
      "--json",
    ]),
    60_000,
  );
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  const report = JSON.parse(run.stdout) as ClusterReport;
  assert.equal(report.converged, true, report.verdict);
  assert.match(report.events[0]!, /SIGKILL node D/);
  assert.match(report.events[1]!, /node D restarted/);
  const during = report.queries.filter((q) => q.missing.includes("D"));
  assert.ok(during.length > 0, `no query saw D missing: ${JSON.stringify(report.queries)}`);
  for (const q of during) {
    assert.deepEqual(q.missing, ["D"]);
    assert.ok(q.answered.includes("E"), "E is reached through C while D is down");
  }
  assert.ok(report.queries.at(-1)!.missing.length === 0, "D answers again after its restart");
  const d = report.nodes.find((n) => n.id === "D")!;
  assert.equal(d.counted, d.generated, "D's LikesServers caught up after the restart");
});

Deno.test("a bad cluster config is a one-line error naming the field, exit 2", async () => {
  await using dir = await tempDir("likes-cluster-test-");
  const config = JSON.parse(clusterText());
  config.processes.B.connections.push("Z");
  await writeCluster(dir.path, JSON.stringify(config));
  const node = await runDeno([
    "run",
    "--no-prompt",
    `--allow-read=${dir.path}`,
    "node.ts",
    "--id=B",
    `--config=${dir.path}/cluster.json`,
  ]);
  assert.equal(node.code, 2);
  assert.equal(
    node.stderr.split("\n")[0],
    `error: ${dir.path}/cluster.json: processes.B.connections: unknown process "Z"`,
  );
  const query = await runDeno(clusterArgs(dir.path, ["--duration=1"]));
  assert.equal(query.code, 2);
  assert.match(query.stderr, /processes\.B\.connections: unknown process "Z"/);
});

Deno.test("deno task cluster with a node's port in use: one line naming the node and the port, exit 1, no node left running", async () => {
  await using dir = await tempDir("likes-cluster-test-");
  const text = clusterText();
  const config = parseClusterConfig(text);
  const c = config.nodes.get("C")!;
  await writeCluster(dir.path, text);
  using _taken = Deno.listen({ hostname: "127.0.0.1", port: c.port });
  const run = await runDeno(clusterArgs(dir.path, ["--duration=1"]), 60_000);
  assert.equal(run.code, 1, run.stderr);
  const lines = run.stderr.trim().split("\n");
  assert.equal(
    lines.at(-1),
    `error: node C could not start: Cannot listen on 127.0.0.1:${c.port} or 127.0.0.1:${c.likesPort}: the address is already in use (is node C already running?)`,
  );
  assert.doesNotMatch(run.stderr, /Uncaught|\n\s+at /, "no stack trace");
  for (const id of ["A", "B"]) {
    const node = config.nodes.get(id)!;
    await assert.rejects(
      Deno.connect({ hostname: "127.0.0.1", port: node.port }),
      Deno.errors.ConnectionRefused,
      `node ${id}, started before C, was stopped`,
    );
  }
});

Deno.test("deno task cluster with a --dir it may not write: one line with the grant to add, exit 1", async () => {
  await using dir = await tempDir("likes-cluster-test-");
  await writeCluster(dir.path);
  const args = clusterArgs(dir.path, ["--duration=1"]).map((a) =>
    a.startsWith("--dir=") ? "--dir=/var/likes-cluster-test-denied" : a
  );
  const run = await runDeno(args, 30_000);
  assert.equal(run.code, 1, run.stderr);
  assert.equal(
    run.stderr,
    "error: no permission to write the nodes' logs and journals in /var/likes-cluster-test-denied; run deno with --allow-write=/var/likes-cluster-test-denied\n",
  );
});

Deno.test("deno task query with a bad value: one line naming the flag, exit 2 (as README says)", async () => {
  const run = await runDeno([
    "task",
    `--config=${PROJECT.config}`,
    "query",
    "get_all",
    "--deadline",
    "x",
  ]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(
    run.stderr,
    /^error: --deadline must be a number of seconds from 0\.001 to 60: current value is "x"\nRun with --help for usage\.\n$/m,
  );
});

Deno.test("nodes started with the --print-commands lines: a stopped (silent) node cannot hang a query, and with A killed B still answers", async () => {
  await using dir = await tempDir("likes-cluster-test-");
  const configFile = await writeCluster(dir.path);
  const printed = await runDeno(clusterArgs(dir.path, ["--print-commands"]));
  assert.equal(printed.code, 0, printed.stderr);
  const [placing, ...lines] = printed.stdout.trim().split("\n");
  assert.match(placing!, /^# every machine .* needs the cluster's secret at .*cluster\.key/);
  // an absolute path is copied to the same path, not into the project's copy
  assert.ok(placing!.includes(`HOST:${dir.path}/`), placing);
  assert.equal(lines.length, 5);
  const nodes = new Map<string, ListeningProcess>();
  try {
    for (const line of lines) {
      const [deno, ...args] = line.split(" "); // no quoting needed: no spaces in these paths
      assert.equal(deno, "deno");
      const id = /--id=([A-Z])/.exec(line)![1]!;
      assert.ok(args.every((a) => !a.startsWith("-A") && a !== "--allow-all"));
      nodes.set(id, await startListening(`node ${id}`, args));
    }
    const config = parseClusterConfig(await Deno.readTextFile(configFile));
    const at = (id: string) => ({ hostname: "127.0.0.1", port: config.nodes.get(id)!.port });

    // D stops (SIGSTOP): it still accepts connections (the kernel does) but never answers.
    nodes.get("D")!.signal("SIGSTOP");
    try {
      const started = performance.now();
      const reply = await askNode({
        secret: TEST_SECRET,
        ...at("A"),
        verb: "get_all",
        deadlineMs: 800,
      });
      const took = performance.now() - started;
      assert.ok(took < 1500, `the query took ${took} ms with an 800 ms deadline`);
      assert.equal(reply.partial, true);
      assert.deepEqual(reply.missing, ["D"]);
      assert.deepEqual(reply.answered, ["A", "B", "C", "E"]);
      assert.match(
        reply.problems.D!,
        /no reply from 127\.0\.0\.1:\d+ within \d+ ms|no answer to the handshake within \d+ ms|^down since/,
      );
    } finally {
      nodes.get("D")!.signal("SIGCONT");
    }

    // A dies (SIGKILL): B is a full entry point of its own.
    await nodes.get("A")!.stop("SIGKILL");
    nodes.delete("A");
    await assert.rejects(
      askNode({ secret: TEST_SECRET, ...at("A"), verb: "total" }),
      /cannot reach/,
    );
    // D, silent for a while, may have just been marked down at B; its next probe brings it back.
    let atB = await askNode({ secret: TEST_SECRET, ...at("B"), verb: "total", maxAgeMs: 0 });
    await until(`B answers for every node it reaches (${atB.message})`, async () => {
      atB = await askNode({ secret: TEST_SECRET, ...at("B"), verb: "total", maxAgeMs: 0 });
      return atB.partial === false;
    }, 5000);
    assert.equal(atB.success, true);
    assert.deepEqual(atB.answered, ["B", "C", "D", "E"]);
  } finally {
    for (const node of nodes.values()) await node.stop("SIGTERM");
  }
});
