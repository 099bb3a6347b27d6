/**
 * Helpers for the overlay tests: the committed five-node shape (A→B, B→C, B→D, C→E, D→E) on
 * free ports, and starting its nodes in this process.
 *
 * @module
 */

import { type ClusterConfig, parseClusterConfig } from "../src/overlay/cluster_config.ts";
import { type OverlayNode, startNode, type StartNodeOptions } from "../src/overlay/node_service.ts";

/** The committed overlay's edges. */
export const EDGES = { A: ["B"], B: ["C", "D"], C: ["E"], D: ["E"], E: [] } as const;

/** The config text of the five-node overlay on `host`, every port free right now. */
export function clusterText(host = "127.0.0.1", hosts: Record<string, string> = {}): string {
  // Held open together, so no port is handed out twice.
  const held: Deno.TcpListener[] = [];
  const freePort = () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    held.push(listener);
    return (listener.addr as Deno.NetAddr).port;
  };
  const processes: Record<string, unknown> = {};
  for (const [id, connections] of Object.entries(EDGES)) {
    processes[id] = {
      host: hosts[id] ?? host,
      port: freePort(),
      connections,
      data_subset: id === "A" ? "none" : `likes of ${id}`,
      ...(id === "A" ? {} : { likes_port: freePort() }),
    };
  }
  for (const listener of held) listener.close();
  return JSON.stringify({ processes, overlay: ["AB", "BC", "BD", "CE", "DE"] }, null, 2);
}

/** The five-node overlay on free ports of 127.0.0.1. */
export function testCluster(): ClusterConfig {
  return parseClusterConfig(clusterText());
}

/** Nodes started in this process, stopped together. */
export interface RunningNodes extends AsyncDisposable {
  readonly nodes: Map<string, OverlayNode>;
  /** Stops one node (it stays stopped when the rest are disposed). */
  stop(id: string): Promise<void>;
}

/** Starts `ids` (all nodes by default) of `config`, logging under `logDir`. */
export async function startNodes(
  config: ClusterConfig,
  logDir: string,
  extra: Partial<StartNodeOptions> = {},
  ids: readonly string[] = [...config.nodes.keys()],
): Promise<RunningNodes> {
  const nodes = new Map<string, OverlayNode>();
  const stopAll = async () => {
    for (const node of nodes.values()) await node.stop();
    nodes.clear();
  };
  try {
    for (const id of ids) {
      nodes.set(id, await startNode({ config, id, logDir, gossipIntervalMs: 100, ...extra }));
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    nodes,
    async stop(id) {
      await nodes.get(id)?.stop();
      nodes.delete(id);
    },
    [Symbol.asyncDispose]: stopAll,
  };
}
