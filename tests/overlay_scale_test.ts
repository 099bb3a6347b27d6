/**
 * The overlay at real scale, as real processes: a million keys (250,000 on each of B–E, fed as
 * classic likes to their likes ports) reach every replica, and `get_all` through A returns every
 * row once, streamed (PROTOCOL.md, "Long answers"), both to the library's client and to
 * `deno task query`, whose `--json` stays one valid document.
 */

import assert from "node:assert/strict";
import { type ListeningProcess, PROJECT, startListening } from "../src/launch/processes.ts";
import { type ClusterConfig, parseClusterConfig } from "../src/overlay/domain/cluster_config.ts";
import { askNode, nodeStats } from "../src/overlay/client/query_client.ts";
import { ROWS_PER_FRAME } from "../src/overlay/domain/query.ts";
import { benchKey as keyOf } from "../src/bench/overlay_bench.ts";
import { DATA_NODES, feedNewKeys } from "../src/bench/overlay_cluster.ts";
import { TEST_SECRET, writeCluster } from "./_overlay.ts";
import { runDeno, tempDir, until } from "./_helpers.ts";

const KEYS_PER_NODE = 250_000;
const KEYS = KEYS_PER_NODE * DATA_NODES.length;

/** Starts the five nodes with the lines `deno task cluster --print-commands` prints. */
async function startCluster(dir: string): Promise<{
  config: ClusterConfig;
  nodes: Map<string, ListeningProcess>;
}> {
  const configFile = await writeCluster(dir);
  const printed = await runDeno([
    "run",
    `--config=${PROJECT.config}`,
    "--allow-net=127.0.0.1",
    `--allow-read=.,${dir}`,
    "--allow-run=deno",
    "--allow-write=/tmp",
    "cluster.ts",
    `--config=${configFile}`,
    `--dir=${dir}/run`,
    "--print-commands",
  ]);
  assert.equal(printed.code, 0, printed.stderr);
  const nodes = new Map<string, ListeningProcess>();
  for (const line of printed.stdout.trim().split("\n").filter((l) => l.startsWith("deno "))) {
    const id = /--id=([A-Z])/.exec(line)![1]!;
    const args = [...line.split(" ").slice(1), `--max-clients=${KEYS_PER_NODE + 1000}`];
    nodes.set(id, await startListening(`node ${id}`, args));
  }
  return { config: parseClusterConfig(await Deno.readTextFile(configFile)), nodes };
}

Deno.test("a million keys: every replica converges, and get_all through A streams every row once", async () => {
  await using dir = await tempDir("likes-scale-test-");
  const { config, nodes } = await startCluster(dir.path);
  try {
    const portOf = (id: string) => config.nodes.get(id)!.port;
    const fedAt = performance.now();
    await Promise.all(
      DATA_NODES.map((id, n) =>
        feedNewKeys(config.nodes.get(id)!.likesPort!, KEYS_PER_NODE, (i) => keyOf(n, i))
      ),
    );
    const fedMs = performance.now() - fedAt;
    await until(
      `every replica holds ${KEYS} keys`,
      async () => {
        for (const id of config.nodes.keys()) {
          const stats = await nodeStats("127.0.0.1", portOf(id), TEST_SECRET, 5000);
          const { replica } = stats;
          if (replica.entries !== KEYS || replica.total !== KEYS) {
            await new Promise((r) => setTimeout(r, 200)); // stats pass over a million entries
            return false;
          }
        }
        return true;
      },
      60_000,
    );
    const convergedMs = performance.now() - fedAt - fedMs;

    // Through the library's client: every row once, in many frames, none in the answer itself.
    const seen = new Set<string>();
    let frames = 0;
    let rows = 0;
    const askedAt = performance.now();
    const reply = await askNode({
      secret: TEST_SECRET,
      hostname: "127.0.0.1",
      port: portOf("A"),
      verb: "get_all",
      deadlineMs: 30_000,
      keepRows: false,
      onRows: (part) => {
        frames++;
        rows += part.length;
        assert.ok(part.length <= ROWS_PER_FRAME);
        for (const row of part) seen.add(`${row.node}/${row.key}`);
      },
    });
    const askedMs = performance.now() - askedAt;
    assert.equal(reply.success, true, reply.message);
    assert.equal(reply.partial, false, reply.message);
    assert.deepEqual(reply.answered, ["A", "B", "C", "D", "E"]);
    assert.equal(reply.streamed, KEYS);
    assert.equal(reply.total, KEYS);
    assert.equal(rows, KEYS, "every row once");
    assert.equal(seen.size, KEYS, "no row twice");
    for (const [n, id] of DATA_NODES.entries()) {
      assert.ok(
        seen.has(`${id}/${keyOf(n, 0)}`) && seen.has(`${id}/${keyOf(n, KEYS_PER_NODE - 1)}`),
      );
    }
    assert.ok(frames >= KEYS / ROWS_PER_FRAME, `${frames} frames`);

    // Through deno task query: --json is one document holding every row.
    const query = await runDeno([
      "run",
      `--config=${PROJECT.config}`,
      "--allow-net=127.0.0.1",
      `--allow-read=${dir.path}/cluster.key`,
      PROJECT.query,
      "get_all",
      `--server=127.0.0.1:${portOf("A")}`,
      `--secret-file=${dir.path}/cluster.key`,
      "--deadline=30",
      "--json",
    ], 60_000);
    const document = JSON.parse(query.stdout);
    assert.equal(
      query.code,
      0,
      `${query.stderr}${document.message}: ${JSON.stringify(document.problems)}`,
    );
    assert.equal(document.success, true);
    assert.equal(document.streamed, KEYS);
    assert.equal(document.results.length, KEYS);
    assert.equal(new Set(document.results.map((r: { key: string }) => r.key)).size, KEYS);

    const line = `  fed ${KEYS} keys in ${(fedMs / 1000).toFixed(1)} s; replicas converged ${
      (convergedMs / 1000).toFixed(1)
    } s later; get_all through A: ${(askedMs / 1000).toFixed(2)} s in ${frames} frames`;
    Deno.stdout.writeSync(new TextEncoder().encode(`${line}\n`));
  } finally {
    for (const node of nodes.values()) await node.stop();
  }
});
