/**
 * The overlay across machines: A and B in one network namespace, C, D and E in another, joined
 * by a bridge, with addresses this test chooses in namespaces it makes itself (`_netns.ts`).
 * Nodes run with the grants `nodeArgs()` computes for those addresses (the lines `--print-commands` prints);
 * LikesServers send to B–E inside their namespaces; queries at A gather across the link, and
 * every replica converges to what was acknowledged. Needs root and `ip` (iproute2): elsewhere it
 * is skipped with the reason printed.
 */

import assert from "node:assert/strict";
import { type ListeningProcess, PROJECT, startListening } from "../src/launch/processes.ts";
import { writeCluster } from "./_overlay.ts";
import { parseClusterConfig } from "../src/overlay/domain/cluster_config.ts";
import { nodeArgs } from "../src/overlay/cli/node_command.ts";
import type { QueryReply } from "../src/overlay/client/query_client.ts";
import { parseEdgeReport } from "../src/protocol/edge_report.ts";
import { nameIfSkipped, tempDir, until } from "./_helpers.ts";
import { addressOf, denoIn, makeSites, whyNoNamespaces } from "./_netns.ts";

const ADDRESS = { left: addressOf(1), right: addressOf(2) };

const reason = await whyNoNamespaces();
if (reason) {
  Deno.stderr.writeSync(new TextEncoder().encode(`overlay_netns_test skipped: ${reason}\n`));
}

Deno.test({
  name: nameIfSkipped("two network namespaces: queries and replicas work across the link", reason),
  ignore: reason !== null,
  async fn() {
    await using dir = await tempDir("likes-netns-");
    await using sites = await makeSites(ADDRESS);
    const NS = sites.namespace;
    const side = (id: string) => (id === "A" || id === "B" ? "left" : "right");
    const configText = JSON.stringify({
      processes: Object.fromEntries(
        [["A", ["B"]], ["B", ["C", "D"]], ["C", ["E"]], ["D", ["E"]], ["E", []]].map((
          [id, connections],
          i,
        ) => [id, {
          host: ADDRESS[side(id as string)],
          port: 4351 + i,
          connections,
          data_subset: id === "A" ? "none" : `likes of ${id}`,
          ...(id === "A" ? {} : { likes_port: 4301 + i }),
        }]),
      ),
      overlay: ["AB", "BC", "BD", "CE", "DE"],
      "secret_file": "cluster.key",
    });
    const configFile = await writeCluster(dir.path, configText);
    const secretFile = `${dir.path}/cluster.key`;
    const config = parseClusterConfig(configText);
    const paths = {
      denoConfig: PROJECT.config,
      entry: PROJECT.node,
      src: PROJECT.src,
      configFile,
      secretFile,
    };
    const nodes: ListeningProcess[] = [];
    try {
      for (const id of config.nodes.keys()) {
        nodes.push(
          await startListening(
            `node ${id}`,
            nodeArgs(config, id, paths, {
              dir: `${dir.path}/${id}`,
              extra: ["--gossip-interval=0.2"],
            }),
            { via: ["ip", "netns", "exec", NS[side(id)]] },
          ),
        );
      }
      // One LikesServer per data node, inside that node's namespace.
      const acknowledged = await Promise.all(["B", "C", "D", "E"].map(async (id) => {
        const node = config.nodes.get(id)!;
        const logDir = `${dir.path}/${id}`;
        const run = await denoIn(NS[side(id)], [
          "run",
          "--no-prompt",
          `--allow-net=${node.host}:${node.likesPort}`,
          `--allow-write=${logDir}`,
          PROJECT.likesServer,
          `--host=${node.host}`,
          `--port=${node.likesPort}`,
          `--log-dir=${logDir}`,
          "--duration=0.5",
          "--min-interval=0.02",
          "--max-interval=0.05",
          "--report-json",
          "--quiet",
        ]);
        const last = run.stdout.trim().split("\n").at(-1)!;
        return parseEdgeReport(last)!.acknowledged;
      }));
      const expected = acknowledged.reduce((a, b) => a + b, 0);
      assert.ok(expected > 0);

      const a = config.nodes.get("A")!;
      const ask = async (ns: string, host: string, port: number, ...args: string[]) => {
        const run = await denoIn(ns, [
          "run",
          "--no-prompt",
          `--allow-net=${host}:${port}`,
          `--allow-read=${secretFile}`,
          "query.ts",
          `--server=${host}:${port}`,
          `--secret-file=${secretFile}`,
          "--json",
          ...args,
        ]);
        return JSON.parse(run.stdout) as QueryReply;
      };
      const gathered = await ask(NS.left, a.host, a.port, "get_all");
      assert.equal(gathered.partial, false, gathered.message);
      assert.deepEqual(gathered.answered, ["A", "B", "C", "D", "E"]);
      assert.equal(gathered.total, expected, "A gathered every acknowledged like across the link");
      assert.deepEqual([...new Set(gathered.results.map((r) => r.node))].sort(), [
        "B",
        "C",
        "D",
        "E",
      ]);
      // Every replica, on both sides, converges to the same count.
      for (const id of ["A", "E"]) {
        const node = config.nodes.get(id)!;
        await until(`${id}'s replica holds ${expected} likes`, async () => {
          const local = await ask(
            NS[side(id)],
            node.host,
            node.port,
            "total",
            "--consistency=local",
          );
          return local.total === expected;
        }, 10_000);
      }
    } finally {
      for (const node of nodes) await node.stop("SIGTERM");
    }
  },
});
