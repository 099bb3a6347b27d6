/**
 * The `deno run` line of one node with the narrowest grants its config entry needs: listen on
 * its own address (and likes port), connect to its gossip neighbours, read the config, the
 * cluster's secret and the server's Worker modules, write its own directory. Pure: used by the cluster launcher to start
 * nodes and by `--print-commands` to show how to start them by hand on several machines.
 *
 * @module
 */

import { grantList } from "./child_process.ts";
import { type ClusterConfig, gossipPeers } from "../overlay/domain/cluster_config.ts";

/** Where the files a node needs are, as paths on the machine that runs it. */
export interface NodePaths {
  /** The project's `deno.json`. */
  readonly denoConfig: string;
  /** The project's `node.ts`. */
  readonly entry: string;
  /** The project's `src` directory (the server loads its Worker modules from it). */
  readonly src: string;
  /** The cluster config file. */
  readonly configFile: string;
  /** The cluster secret's file. */
  readonly secretFile: string;
}

/** The node's own directory when not given: `/tmp/likes-node-<ID>`. */
export function defaultNodeDir(id: string): string {
  return `/tmp/likes-node-${id}`;
}

/**
 * The `deno` arguments that run node `id`.
 *
 * @throws {RangeError} If `id` is not in the config, or a path holds a comma.
 *
 * @example
 * ```ts
 * import { parseClusterConfig } from "../overlay/domain/cluster_config.ts";
 * import { nodeArgs } from "./node_command.ts";
 * import assert from "node:assert/strict";
 * const config = parseClusterConfig(JSON.stringify({
 *   processes: {
 *     A: { host: "10.0.0.1", port: 7001, connections: ["B"], data_subset: "-" },
 *     B: { host: "10.0.0.2", port: 7002, connections: [], data_subset: "-", likes_port: 7102 },
 *   },
 *   overlay: ["AB"],
 * }));
 * const paths = {
 *   denoConfig: "deno.json",
 *   entry: "node.ts",
 *   src: "src",
 *   configFile: "c.json",
 *   secretFile: "c.key",
 * };
 * assert.deepEqual(nodeArgs(config, "B", paths).slice(0, 7), [
 *   "run", "--no-prompt", "--unstable-npm-lazy-caching", "--config=deno.json",
 *   "--allow-net=10.0.0.2:7002,10.0.0.2:7102,10.0.0.1:7001",
 *   "--allow-read=src,c.json,c.key,/tmp/likes-node-B", "--allow-write=/tmp/likes-node-B",
 * ]);
 * ```
 */
export function nodeArgs(
  config: ClusterConfig,
  id: string,
  paths: NodePaths,
  options: { readonly dir?: string; readonly listen?: string; readonly extra?: readonly string[] } =
    {},
): string[] {
  const me = config.nodes.get(id);
  if (!me) throw new RangeError(`Cannot build a command for node ${id}: it is not in the config`);
  const host = options.listen ?? me.host;
  const net = [`${host}:${me.port}`];
  if (me.likesPort !== null) net.push(`${host}:${me.likesPort}`);
  for (const peer of gossipPeers(config, id)) {
    const node = config.nodes.get(peer)!;
    net.push(`${node.host}:${node.port}`);
  }
  const dir = options.dir ?? defaultNodeDir(id);
  return [
    "run",
    "--no-prompt",
    "--unstable-npm-lazy-caching", // fetch only the npm packages it imports
    `--config=${paths.denoConfig}`,
    `--allow-net=${[...new Set(net)].join(",")}`,
    `--allow-read=${grantList([paths.src, paths.configFile, paths.secretFile, dir])}`,
    `--allow-write=${grantList([dir])}`,
    paths.entry,
    `--id=${id}`,
    `--config=${paths.configFile}`,
    `--secret-file=${paths.secretFile}`,
    `--dir=${dir}`,
    ...(options.listen === undefined ? [] : [`--listen=${options.listen}`]),
    ...(options.extra ?? []),
  ];
}

/** Quotes an argument for a POSIX shell when it needs it. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
