import { describeError } from "../../base/describe_error.ts";
/**
 * The overlay's config, in the seed's schema: `processes` maps a one-letter id to
 * `{host, port, connections, data_subset}` (plus our optional `likes_port`, where that node's own
 * LikesServers send their likes), and `overlay` lists the directed edges as two-letter strings
 * (`"AB"`: A forwards queries to B). A node with a `likes_port` is a PrimaryLikesServer that holds
 * likes; one without holds none (the portal). Cycles are allowed. Our optional top-level
 * `secret_file` names the file that holds the cluster's shared secret (see `link_auth.ts`),
 * relative to the config file's directory. Pure: text in, a validated,
 * frozen config out, or a {@linkcode ClusterConfigError} naming the field in one line.
 *
 * @module
 */

/** One node of the overlay. */
export interface NodeConfig {
  /** One letter, `A`–`Z`. */
  readonly id: string;
  /** Where it listens for queries and gossip. */
  readonly host: string;
  readonly port: number;
  /** The nodes it forwards queries to (its outgoing edges). */
  readonly connections: readonly string[];
  /** What part of the data it holds, in words (shown, not interpreted). */
  readonly dataSubset: string;
  /** Where its own LikesServers send likes (on `host`), or `null` for a node without likes. */
  readonly likesPort: number | null;
}

/** A validated overlay. */
export interface ClusterConfig {
  /** Nodes by id, in the order the file lists them. */
  readonly nodes: ReadonlyMap<string, NodeConfig>;
  /** The directed edges, as in the file (`"AB"`). */
  readonly overlay: readonly string[];
  /** The cluster secret's file as the config names it (relative to the config's directory). */
  readonly secretFile: string | null;
}

/** The config is not valid; `message` names the field, in one line. */
export class ClusterConfigError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ClusterConfigError";
  }
}

const ID = /^[A-Z]$/;
const HOST = /^[A-Za-z0-9.-]{1,253}$/;

function fail(field: string, problem: string): never {
  throw new ClusterConfigError(`${field}: ${problem}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function port(field: string, value: unknown): number {
  if (value === undefined) fail(field, "missing");
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 65535) {
    fail(field, `must be a port number from 1 to 65535: current value is ${JSON.stringify(value)}`);
  }
  return value as number;
}

function text(field: string, value: unknown): string {
  if (value === undefined) fail(field, "missing");
  if (typeof value !== "string") {
    fail(field, `must be a string: current value is ${JSON.stringify(value)}`);
  }
  return value;
}

function parseNode(id: string, value: unknown): NodeConfig {
  const at = `processes.${id}`;
  if (!ID.test(id)) {
    fail(at, "a process id must be one letter A-Z (the overlay names edges by two letters)");
  }
  if (!isObject(value)) fail(at, "must be an object {host, port, connections, data_subset}");
  const host = text(`${at}.host`, value.host);
  if (!HOST.test(host)) {
    fail(`${at}.host`, `must be an address or host name: current value is ${JSON.stringify(host)}`);
  }
  const connections = value.connections;
  if (connections === undefined) fail(`${at}.connections`, "missing");
  if (!Array.isArray(connections) || !connections.every((c) => typeof c === "string")) {
    fail(`${at}.connections`, "must be a list of process ids");
  }
  const seen = new Set<string>();
  for (const neighbour of connections as string[]) {
    if (neighbour === id) fail(`${at}.connections`, `"${id}" is an edge to itself`);
    if (seen.has(neighbour)) fail(`${at}.connections`, `"${neighbour}" is listed twice`);
    seen.add(neighbour);
  }
  return Object.freeze({
    id,
    host,
    port: port(`${at}.port`, value.port),
    connections: Object.freeze([...(connections as string[])]),
    dataSubset: text(`${at}.data_subset`, value.data_subset),
    likesPort: value.likes_port === undefined ? null : port(`${at}.likes_port`, value.likes_port),
  });
}

/**
 * Parses and checks a cluster config.
 *
 * @throws {ClusterConfigError} On anything wrong: not JSON, a missing or mistyped field, an
 *   unknown neighbour, an edge to itself, two uses of one address, or an `overlay` list that
 *   disagrees with the `connections`.
 *
 * @example
 * ```ts
 * import { parseClusterConfig } from "./cluster_config.ts";
 * import assert from "node:assert/strict";
 * const config = parseClusterConfig(JSON.stringify({
 *   processes: {
 *     A: { host: "127.0.0.1", port: 7001, connections: ["B"], data_subset: "none" },
 *     B: { host: "127.0.0.1", port: 7002, connections: [], data_subset: "likes", likes_port: 7102 },
 *   },
 *   overlay: ["AB"],
 * }));
 * assert.deepEqual(config.nodes.get("A")?.connections, ["B"]);
 * assert.equal(config.nodes.get("B")?.likesPort, 7102);
 * ```
 */
export function parseClusterConfig(source: string): ClusterConfig {
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (error) {
    fail("config", `not JSON (${describeError(error, "message")})`);
  }
  if (!isObject(value)) fail("config", 'must be an object {"processes": …, "overlay": […]}');
  if (value.processes === undefined) fail("processes", "missing");
  if (!isObject(value.processes)) fail("processes", "must be an object mapping ids to processes");
  const nodes = new Map<string, NodeConfig>();
  for (const [id, entry] of Object.entries(value.processes)) nodes.set(id, parseNode(id, entry));
  if (nodes.size === 0) fail("processes", "names no process");

  const addresses = new Map<string, string>();
  const claim = (address: string, field: string) => {
    const owner = addresses.get(address);
    if (owner !== undefined) fail(field, `address ${address} is also ${owner}`);
    addresses.set(address, field);
  };
  for (const node of nodes.values()) {
    claim(`${node.host}:${node.port}`, `processes.${node.id}.port`);
    if (node.likesPort !== null) {
      claim(`${node.host}:${node.likesPort}`, `processes.${node.id}.likes_port`);
    }
    for (const neighbour of node.connections) {
      if (!nodes.has(neighbour)) {
        fail(`processes.${node.id}.connections`, `unknown process "${neighbour}"`);
      }
    }
  }

  if (value.overlay === undefined) fail("overlay", "missing");
  if (!Array.isArray(value.overlay) || !value.overlay.every((e) => typeof e === "string")) {
    fail("overlay", 'must be a list of edges like "AB"');
  }
  const overlay = value.overlay as string[];
  const listed = new Set<string>();
  for (const edge of overlay) {
    if (!/^[A-Z]{2}$/.test(edge)) {
      fail("overlay", `"${edge}" is not an edge of two process ids like "AB"`);
    }
    if (listed.has(edge)) fail("overlay", `"${edge}" is listed twice`);
    listed.add(edge);
    const [from, to] = [edge[0]!, edge[1]!];
    if (!nodes.get(from)?.connections.includes(to)) {
      fail("overlay", `"${edge}" is not in processes.${from}.connections`);
    }
  }
  for (const node of nodes.values()) {
    for (const neighbour of node.connections) {
      if (!listed.has(`${node.id}${neighbour}`)) {
        fail(
          `processes.${node.id}.connections`,
          `"${neighbour}" (edge ${node.id}${neighbour}) is missing from overlay`,
        );
      }
    }
  }
  let secretFile: string | null = null;
  if (value.secret_file !== undefined) {
    secretFile = text("secret_file", value.secret_file);
    if (secretFile === "" || secretFile.includes("\0") || secretFile.includes(",")) {
      fail(
        "secret_file",
        `must be a file name without commas: current value is ${JSON.stringify(secretFile)}`,
      );
    }
  }
  return Object.freeze({ nodes, overlay: Object.freeze([...overlay]), secretFile });
}

/** The nodes `id` exchanges replicas with: its neighbours along each edge, both directions. */
export function gossipPeers(config: ClusterConfig, id: string): string[] {
  const peers = new Set(config.nodes.get(id)?.connections ?? []);
  for (const node of config.nodes.values()) {
    if (node.connections.includes(id)) peers.add(node.id);
  }
  return [...peers].sort();
}

/** The config back in the seed's schema, as JSON text (`parseClusterConfig` reads it back). */
export function formatClusterConfig(config: ClusterConfig): string {
  const processes: Record<string, unknown> = {};
  for (const node of config.nodes.values()) {
    processes[node.id] = {
      host: node.host,
      port: node.port,
      connections: node.connections,
      "data_subset": node.dataSubset,
      ...(node.likesPort === null ? {} : { "likes_port": node.likesPort }),
    };
  }
  return JSON.stringify(
    {
      processes,
      overlay: config.overlay,
      ...(config.secretFile === null ? {} : { "secret_file": config.secretFile }),
    },
    null,
    2,
  );
}
