/**
 * Network namespaces for the overlay's multi-machine tests: "sites" (one namespace each, with
 * its own address) joined by a bridge in a switch namespace, made and removed by the test
 * itself; `nft` rulesets inside a site to cut its traffic; `deno` run inside a site, to the end
 * or as a long-lived probe that asks nodes there. Needs root and `ip` (iproute2), and `nft`
 * (nftables) for the faults: {@linkcode whyNoNamespaces} says why a test must skip.
 *
 * @module
 */

import { forEachText, spawnDeno } from "../src/launch/child_process.ts";
import { PROJECT } from "../src/launch/processes.ts";
import {
  type ClusterConfig,
  type NodeConfig,
  parseClusterConfig,
} from "../src/overlay/domain/cluster_config.ts";
import type { NodePaths } from "../src/launch/node_command.ts";
import { parseEdgeReport } from "../src/protocol/edge_report.ts";
import { writeCluster } from "./_overlay.ts";

const tag = `${Deno.pid % 10000}`;

/** The namespace name of `site`, unique to this test process. */
export function namespaceOf(site: string): string {
  return `likes-${site}${tag}`;
}

/** `10.X.Y.host`: addresses of this test process's network. */
export function addressOf(host: number): string {
  return `10.${200 + (Deno.pid % 50)}.${Deno.pid % 250}.${host}`;
}

async function run(
  command: string,
  args: readonly string[],
  stdin?: string,
): Promise<{ ok: boolean; stderr: string }> {
  try {
    const child = new Deno.Command(command, {
      args: [...args],
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    if (stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(stdin));
      await writer.close();
    }
    const out = await child.output();
    return { ok: out.success, stderr: new TextDecoder().decode(out.stderr).trim() };
  } catch (error) {
    return { ok: false, stderr: error instanceof Error ? error.message : String(error) };
  }
}

/** Runs `ip args`. */
export function ip(...args: string[]): Promise<{ ok: boolean; stderr: string }> {
  return run("ip", args);
}

async function must(...args: string[]): Promise<void> {
  const result = await ip(...args);
  if (!result.ok) throw new Error(`ip ${args.join(" ")} failed: ${result.stderr}`);
}

/**
 * Why namespaces cannot be made here (or, with `nft`, cut), or null when they can. Probed
 * once, by making and removing one.
 */
export async function whyNoNamespaces(options: { nft?: boolean } = {}): Promise<string | null> {
  const probe = namespaceOf("probe");
  const added = await ip("netns", "add", probe);
  if (!added.ok) return `cannot create a network namespace (needs root and ip): ${added.stderr}`;
  try {
    if (options.nft) {
      const listed = await ip("netns", "exec", probe, "nft", "list", "ruleset");
      if (!listed.ok) return `cannot run nft in a network namespace: ${listed.stderr}`;
    }
    return null;
  } finally {
    await ip("netns", "del", probe);
  }
}

/** Sites made by {@linkcode makeSites}; disposing removes them (with their rulesets). */
export interface Sites<S extends string> extends AsyncDisposable {
  /** Each site's namespace, by site. */
  readonly namespace: Readonly<Record<S, string>>;
  /** The interface of each site on the bridge (what a ruleset cuts). */
  readonly link: Readonly<Record<S, string>>;
}

/**
 * Makes one namespace per site, with `addresses[site]` on its link to a bridge that joins every
 * site (a switch namespace of its own), and loopback up.
 */
export async function makeSites<S extends string>(
  addresses: Readonly<Record<S, string>>,
): Promise<Sites<S>> {
  const sites = Object.keys(addresses) as S[];
  const namespace = Object.fromEntries(sites.map((site) => [site, namespaceOf(site)])) as Record<
    S,
    string
  >;
  const link = Object.fromEntries(sites.map((site) => [site, `lk-${site}${tag}`])) as Record<
    S,
    string
  >;
  const bridgeSide = (site: string) => `lb-${site}${tag}`;
  const sw = namespaceOf("sw");
  const teardown = async () => {
    // The veth pairs and the bridge go with their namespaces, the rulesets with theirs.
    for (const site of sites) await ip("netns", "del", namespace[site]);
    await ip("netns", "del", sw);
  };
  try {
    await must("netns", "add", sw);
    await must("-n", sw, "link", "add", "br0", "type", "bridge");
    await must("-n", sw, "link", "set", "br0", "up");
    for (const site of sites) {
      const ns = namespace[site];
      await must("netns", "add", ns);
      await must("link", "add", link[site], "type", "veth", "peer", "name", bridgeSide(site));
      await must("link", "set", link[site], "netns", ns);
      await must("link", "set", bridgeSide(site), "netns", sw);
      await must("-n", sw, "link", "set", bridgeSide(site), "master", "br0");
      await must("-n", sw, "link", "set", bridgeSide(site), "up");
      await must("-n", ns, "addr", "add", `${addresses[site]}/24`, "dev", link[site]);
      await must("-n", ns, "link", "set", link[site], "up");
      await must("-n", ns, "link", "set", "lo", "up");
    }
  } catch (error) {
    await teardown();
    throw error;
  }
  return { namespace, link, [Symbol.asyncDispose]: teardown };
}

/** Loads the nftables `ruleset` (the text `nft -f` reads) into namespace `ns`. */
export async function nft(ns: string, ruleset: string): Promise<void> {
  const result = await run("ip", ["netns", "exec", ns, "nft", "-f", "-"], ruleset);
  if (!result.ok) throw new Error(`nft in ${ns} failed: ${result.stderr}\n${ruleset}`);
}

/** Runs `deno args` inside namespace `ns` to the end (at most 30 s). */
export async function denoIn(
  ns: string,
  args: string[],
): Promise<{ code: number; stdout: string }> {
  const child = spawnDeno(args, { via: ["ip", "netns", "exec", ns] });
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  let stdout = "", stderr = "";
  const [status] = await Promise.all([
    child.status,
    forEachText(child.stdout, (t) => (stdout += t)),
    forEachText(child.stderr, (t) => (stderr += t)),
  ]);
  clearTimeout(timer);
  if (status.code !== 0 && status.code !== 3) {
    throw new Error(`deno ${args.join(" ")} in ${ns} exited ${status.code}: ${stderr}`);
  }
  return { code: status.code, stdout };
}

/**
 * A long-lived process inside a namespace that asks nodes there (`tests/fixtures/netns_probe.ts`):
 * no process start per question, so times measured through it are the nodes' own.
 */
export interface Probe extends AsyncDisposable {
  /** A node's `stats` (its reply, or `{ error }` when it could not be had within `timeoutMs`). */
  stats(host: string, port: number, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** A query's reply (`askNode`'s options but the secret); `{ error }` when it failed. */
  ask(options: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/** Starts a probe in namespace `ns` that may reach `hosts` with the cluster secret in `secretFile`. */
export function startProbe(ns: string, hosts: readonly string[], secretFile: string): Probe {
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ns,
      "deno",
      "run",
      "--no-prompt",
      `--config=${PROJECT.config}`,
      `--allow-net=${hosts.join(",")}`,
      `--allow-read=${secretFile}`,
      new URL("./fixtures/netns_probe.ts", import.meta.url).pathname,
      secretFile,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  const waiting = new Map<number, (value: Record<string, unknown>) => void>();
  let next = 1;
  let buffered = "";
  const reading = forEachText(child.stdout, (text) => {
    buffered += text;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      const { id, ...reply } = JSON.parse(line) as { id: number } & Record<string, unknown>;
      waiting.get(id)?.(reply);
      waiting.delete(id);
    }
  });
  const send = (command: Record<string, unknown>) => {
    const id = next++;
    const { promise, resolve } = Promise.withResolvers<Record<string, unknown>>();
    waiting.set(id, resolve);
    writer.write(new TextEncoder().encode(`${JSON.stringify({ id, ...command })}\n`));
    return promise;
  };
  return {
    stats: (host, port, timeoutMs = 1000) => send({ stats: { host, port, timeoutMs } }),
    ask: (options) => send({ ask: options }),
    async [Symbol.asyncDispose]() {
      await writer.close().catch(() => {});
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await child.status;
      clearTimeout(timer);
      await reading;
    },
  };
}

/**
 * The five-node overlay (A→B, B→C, B→D, C→E, D→E) with node `id` on `hostOf(id)` at fixed ports
 * (4351–4355; likes on 4302–4305: each namespace has its own), written under `dir` with the tests'
 * secret beside it; and the paths a node's command line needs.
 */
export async function writeSpreadCluster(
  dir: string,
  hostOf: (id: string) => string,
): Promise<{ config: ClusterConfig; secretFile: string; paths: NodePaths }> {
  const edges: [string, string[]][] = [
    ["A", ["B"]],
    ["B", ["C", "D"]],
    ["C", ["E"]],
    ["D", ["E"]],
    ["E", []],
  ];
  const configText = JSON.stringify({
    processes: Object.fromEntries(edges.map(([id, connections], i) => [id, {
      host: hostOf(id),
      port: 4351 + i,
      connections,
      data_subset: id === "A" ? "none" : `likes of ${id}`,
      ...(id === "A" ? {} : { likes_port: 4301 + i }),
    }])),
    overlay: ["AB", "BC", "BD", "CE", "DE"],
    "secret_file": "cluster.key",
  });
  const configFile = await writeCluster(dir, configText);
  const secretFile = `${dir}/cluster.key`;
  return {
    config: parseClusterConfig(configText),
    secretFile,
    paths: {
      denoConfig: PROJECT.config,
      entry: PROJECT.node,
      src: PROJECT.src,
      configFile,
      secretFile,
    },
  };
}

/**
 * Runs one LikesServer for `node` inside namespace `ns` for half a second (a like every 20–50 ms,
 * logs under `logDir`); resolves to how many of its likes were acknowledged.
 */
export async function likesServerIn(ns: string, node: NodeConfig, logDir: string): Promise<number> {
  const run = await denoIn(ns, [
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
  return parseEdgeReport(run.stdout.trim().split("\n").at(-1)!)!.acknowledged;
}
