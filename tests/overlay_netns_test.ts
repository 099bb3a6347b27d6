/**
 * The overlay across machines: A and B in one network namespace, C, D and E in another, joined
 * by a bridge, with addresses this test chooses in namespaces it makes itself (`_netns.ts`).
 * Nodes run with the grants `nodeArgs()` computes for those addresses (the lines `--print-commands` prints);
 * LikesServers send to B–E inside their namespaces; queries at A gather across the link, and
 * every replica converges to what was acknowledged. Needs root and `ip` (iproute2): elsewhere it
 * is skipped with the reason printed.
 */

import assert from "node:assert/strict";
import { type ListeningProcess, startListening } from "../src/launch/processes.ts";
import { nodeArgs } from "../src/launch/node_command.ts";
import type { QueryReply } from "../src/overlay/client/query_client.ts";
import { nameIfSkipped, tempDir, until } from "./_helpers.ts";
import {
  addressOf,
  denoIn,
  likesServerIn,
  makeSites,
  whyNoNamespaces,
  writeSpreadCluster,
} from "./_netns.ts";

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
    const { config, secretFile, paths } = await writeSpreadCluster(
      dir.path,
      (id) => ADDRESS[side(id)],
    );
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
      const acknowledged = await Promise.all(
        ["B", "C", "D", "E"].map((id) =>
          likesServerIn(NS[side(id)], config.nodes.get(id)!, `${dir.path}/${id}`)
        ),
      );
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
