/**
 * A five-node overlay of real node processes for the overlay benchmark and the scale test: the
 * committed shape (A→B, B→C, B→D, C→E, D→E) on free ports of 127.0.0.1, each node started with
 * the grants `nodeArgs()` computes, and a feeder that sends each data node likes for many new
 * keys over the classic protocol.
 *
 * @module
 */

import { type ListeningProcess, PROJECT, startListening } from "../launch/processes.ts";
import { type ClusterConfig, parseClusterConfig } from "../overlay/domain/cluster_config.ts";
import { ClusterSecret } from "../overlay/wire/link_auth.ts";
import { nodeArgs } from "../launch/node_command.ts";

/** The committed overlay's edges. */
export const OVERLAY_EDGES: Readonly<Record<string, readonly string[]>> = {
  A: ["B"],
  B: ["C", "D"],
  C: ["E"],
  D: ["E"],
  E: [],
};

/** The nodes that hold likes (every node but the portal A). */
export const DATA_NODES: readonly string[] = ["B", "C", "D", "E"];

/**
 * The config text of the five-node overlay, every port free right now (held open together while
 * chosen, so none is handed out twice); each node on 127.0.0.1 unless `hosts` names another.
 */
export function overlayConfigText(hosts: Readonly<Record<string, string>> = {}): string {
  const held: Deno.TcpListener[] = [];
  const freePort = () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    held.push(listener);
    return (listener.addr as Deno.NetAddr).port;
  };
  const processes: Record<string, unknown> = {};
  for (const [id, connections] of Object.entries(OVERLAY_EDGES)) {
    processes[id] = {
      host: hosts[id] ?? "127.0.0.1",
      port: freePort(),
      connections,
      "data_subset": id === "A" ? "none" : `likes of ${id}`,
      ...(id === "A" ? {} : { "likes_port": freePort() }),
    };
  }
  for (const listener of held) listener.close();
  const overlay = Object.entries(OVERLAY_EDGES).flatMap(([from, to]) => to.map((t) => from + t));
  return JSON.stringify({ processes, overlay, "secret_file": "cluster.key" }, null, 2);
}

/** Five running node processes. */
export interface OverlayCluster extends AsyncDisposable {
  readonly config: ClusterConfig;
  readonly secret: ClusterSecret;
  readonly nodes: ReadonlyMap<string, ListeningProcess>;
  /** The query port of node `id`. */
  port(id: string): number;
  /** The likes port of data node `id`. */
  likesPort(id: string): number;
}

/**
 * Writes a config and a new secret to `dir` and starts the five nodes, each with its own
 * directory under `dir` and `extra` flags (e.g. `--max-clients=…`); disposing stops them.
 */
export async function startOverlayCluster(
  dir: string,
  extra: readonly string[] = [],
): Promise<OverlayCluster> {
  const configFile = `${dir}/cluster.json`;
  const secretFile = `${dir}/cluster.key`;
  const secretText = ClusterSecret.generateText();
  await Deno.writeTextFile(secretFile, secretText, { mode: 0o600 });
  const configText = overlayConfigText();
  await Deno.writeTextFile(configFile, configText);
  const config = parseClusterConfig(configText);
  const paths = {
    denoConfig: PROJECT.config,
    entry: PROJECT.node,
    src: PROJECT.src,
    configFile,
    secretFile,
  };
  const nodes = new Map<string, ListeningProcess>();
  const stop = async () => {
    await Promise.all([...nodes.values()].map((node) => node.stop()));
  };
  try {
    await Promise.all([...config.nodes.keys()].map(async (id) => {
      await Deno.mkdir(`${dir}/${id}`);
      const args = nodeArgs(config, id, paths, { dir: `${dir}/${id}`, extra });
      nodes.set(id, await startListening(`node ${id}`, args));
    }));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    config,
    secret: ClusterSecret.fromText(secretText),
    nodes,
    port: (id) => config.nodes.get(id)!.port,
    likesPort: (id) => config.nodes.get(id)!.likesPort!,
    [Symbol.asyncDispose]: stop,
  };
}

const encoder = new TextEncoder();

/**
 * Sends one classic like (`KEY 1`) for each of the keys `keyOf(0)` … `keyOf(count - 1)` to
 * `port`, pipelined in batches of 10,000 lines; resolves once every one is acknowledged.
 *
 * @throws {Error} If the server closes the connection or answers anything but `ACK`.
 */
export async function feedNewKeys(
  port: number,
  count: number,
  keyOf: (i: number) => string,
): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const acks = (async () => {
      const buffer = new Uint8Array(1 << 16);
      const decoder = new TextDecoder();
      let replies = 0;
      let lineStart = true;
      while (replies < count) {
        const read = await conn.read(buffer);
        if (read === null) throw new Error(`the server closed after ${replies} replies`);
        for (let i = 0; i < read; i++) {
          if (lineStart && buffer[i] !== 65 /* A of ACK */) {
            const line = decoder.decode(buffer.subarray(i, Math.min(read, i + 120))).split("\n")[0];
            throw new Error(`the server answered ${JSON.stringify(line)}`);
          }
          lineStart = buffer[i] === 10;
          if (lineStart) replies++;
        }
      }
    })();
    const writes = (async () => {
      for (let at = 0; at < count; at += 10_000) {
        let lines = "";
        for (let i = at; i < Math.min(count, at + 10_000); i++) lines += `${keyOf(i)} 1\n`;
        const bytes = encoder.encode(lines);
        for (let sent = 0; sent < bytes.length;) sent += await conn.write(bytes.subarray(sent));
      }
    })();
    // A failed reader (an ERR) returns at once; closing the connection then ends the writer.
    await Promise.all([acks, writes]);
  } finally {
    conn.close();
  }
}
