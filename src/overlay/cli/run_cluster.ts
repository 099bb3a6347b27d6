/**
 * `deno task cluster`: starts every node of the config as its own process (with the grants
 * `nodeArgs()` computes), a ParentProcess with LikesServers against every node that holds likes,
 * queries the portal while they run, optionally kills and restarts a data node, then waits for
 * every replica to hold every owner's count, prints the report and stops the nodes.
 *
 * @module
 */

import { resolve } from "node:path";
import { StartError, UsageError } from "../../cli/flags.ts";
import { missingGrants, writeNeed } from "../../cli/grants.ts";
import { forEachText, serviceEnv, spawnDeno } from "../../launch/child_process.ts";
import {
  type ListeningProcess,
  parentArgs,
  PROJECT,
  startListening,
} from "../../launch/processes.ts";
import type { RunReport } from "../../protocol/parent_report.ts";
import type { RunSnapshot } from "../../view/run_snapshot.ts";
import { onStopSignal } from "../../cli/signals.ts";
import { serveView, type ViewServer } from "../../view/view_server.ts";
import type { ClusterConfig } from "../domain/cluster_config.ts";
import type { ClusterRunConfig } from "./cluster_flags.ts";
import {
  buildClusterReport,
  formatClusterReport,
  type NodeOutcome,
  type QuerySample,
} from "./cluster_report.ts";
import { nodeArgs, shellQuote } from "../../launch/node_command.ts";
import type { NodeStats } from "../domain/messages.ts";
import { describeNeighbours } from "../domain/peer_health.ts";
import { askNode, nodeStats } from "../client/query_client.ts";
import type { ClusterSecret } from "../wire/link_auth.ts";
import { loadClusterConfig } from "./run_node.ts";
import { createSecretFile, readSecretFile, secretPath } from "./secret_file.ts";
import { say } from "../../cli/say.ts";
import { describeError } from "../../base/describe_error.ts";

const encoder = new TextEncoder();

function tell(line: string): void {
  say(`cluster: ${line}`);
}

/**
 * The command lines that start each node by hand, run from the project directory, after a
 * comment line saying where the cluster's secret must be on every machine.
 */
export function nodeCommands(
  config: ClusterConfig,
  configFile: string,
  secretFile: string,
  options: { readonly listen?: string | null; readonly dir?: string | null } = {},
): string[] {
  const paths = { denoConfig: "deno.json", entry: "node.ts", src: "src", configFile, secretFile };
  const { listen = null, dir = null } = options;
  // A relative path is read from the project directory, so it goes into the copy of the project.
  const target = secretFile.startsWith("/") ? secretFile : `likes/${secretFile}`;
  const placing =
    `# every machine that runs a node or asks one needs the cluster's secret at ${secretFile}, readable by the nodes' user only: copy it with the project (e.g. scp -p ${
      shellQuote(secretFile)
    } ${shellQuote(`HOST:${target}`)}), never through a channel others can read`;
  return [
    placing,
    ...[...config.nodes.keys()].map((id) =>
      [
        "deno",
        ...nodeArgs(config, id, paths, {
          ...(listen === null ? {} : { listen }),
          ...(dir === null ? {} : { dir: `${dir}/${id}` }),
        }),
      ].map(shellQuote).join(" ")
    ),
  ];
}

/** The latest `stats` of every node, polled in the background, and when owners' counts last moved. */
class Watch {
  readonly latest = new Map<string, NodeStats | null>();
  /** When a poll last saw an owner's count move. */
  lastChangeAt = performance.now();
  /** When a poll first saw every replica equal every owner's count since then (else null). */
  convergedAt: number | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #polling: Promise<void> | null = null;

  constructor(readonly config: ClusterConfig, readonly secret: ClusterSecret) {}

  start(intervalMs: number): void {
    this.#timer = setInterval(() => this.poll(), intervalMs);
  }

  /**
   * Asks every node for its `stats`. A poll already under way is not doubled: the periodic
   * caller skips it, and a caller that needs figures from after now (`fresh`) waits for it and
   * then polls again.
   */
  async poll(fresh = false): Promise<void> {
    if (this.#polling) {
      if (!fresh) return;
      await this.#polling;
    }
    this.#polling = this.#pollOnce();
    try {
      await this.#polling;
    } finally {
      this.#polling = null;
    }
  }

  async #pollOnce(): Promise<void> {
    let changed = false;
    await Promise.all([...this.config.nodes.values()].map(async (node) => {
      let stats: NodeStats | null = null;
      try {
        stats = await nodeStats(node.host, node.port, this.secret, 500);
      } catch {
        // Down (or killed): shown as such.
      }
      if (stats?.likes !== this.latest.get(node.id)?.likes) changed = true;
      this.latest.set(node.id, stats);
    }));
    const now = performance.now();
    if (changed) {
      this.lastChangeAt = now;
      this.convergedAt = null;
    }
    if (!this.converged()) this.convergedAt = null;
    else this.convergedAt ??= now;
  }

  /** Every node answers, and every replica holds exactly each owner's count. */
  converged(): boolean {
    const owners = [...this.config.nodes.values()].filter((n) => n.likesPort !== null);
    const all = [...this.latest.values()];
    if (all.length < this.config.nodes.size || all.some((s) => s === null)) return false;
    return all.every((stats) =>
      owners.every((owner) =>
        (stats!.replica.byNode[owner.id] ?? 0) === this.latest.get(owner.id)!.likes
      ) && Object.keys(stats!.replica.byNode).every((id) => this.config.nodes.has(id))
    );
  }

  /** The run as the live view draws it: the owners' count and each node's replica. */
  snapshot(
    startedAt: number,
    portal: { readonly id: string; readonly address: string },
    end: { verdict: string; converged: boolean } | null,
  ): RunSnapshot {
    const owners = [...this.config.nodes.values()].filter((n) => n.likesPort !== null);
    const counts = owners.map((n) => this.latest.get(n.id)?.likes ?? null);
    const replicas: Record<string, number | null> = {};
    const neighbours: Record<string, string> = {};
    for (const id of this.config.nodes.keys()) {
      const stats = this.latest.get(id) ?? null;
      replicas[id] = stats?.replica.total ?? null;
      neighbours[id] = stats ? describeNeighbours(stats.peers, Date.now()) : "";
    }
    return {
      runId: `cluster ${startedAt}`,
      seed: 0,
      startedAt,
      at: Date.now(),
      serverAddress: `portal ${portal.id} ${portal.address}`,
      serverUp: (this.latest.get(portal.id) ?? null) !== null,
      serverTotal: counts.some((c) => c === null) ? null : counts.reduce((a, b) => a! + b!, 0),
      serverClients: {},
      children: [],
      verdict: end?.verdict ?? null,
      converged: end?.converged ?? null,
      replicas,
      neighbours,
    };
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

interface ParentRun {
  readonly id: string;
  readonly status: Promise<Deno.CommandStatus>;
  readonly output: () => { stdout: string; stderr: string };
  readonly child: Deno.ChildProcess;
}

function startParentFor(
  id: string,
  host: string,
  port: number,
  dir: string,
  run: ClusterRunConfig,
): ParentRun {
  const child = spawnDeno(
    parentArgs({
      host,
      port,
      logDir: dir,
      args: [
        `--children=${run.likesServersPerNode}`,
        "--stagger=0",
        `--duration=${run.durationMs / 1000}`,
        `--min-interval=${run.minIntervalMs / 1000}`,
        `--max-interval=${run.maxIntervalMs / 1000}`,
        `--drain=${Math.max(10, ((run.kill?.downMs ?? 0) + 10_000) / 1000)}`,
        "--json",
      ],
    }),
    { detached: true, env: serviceEnv(`likes-parent-${id}`) },
  );
  let stdout = "", stderr = "";
  const pipes = Promise.all([
    forEachText(child.stdout, (t) => (stdout += t)),
    forEachText(child.stderr, (t) => (stderr += t)),
  ]);
  return {
    id,
    child,
    status: Promise.all([child.status, pipes]).then(([s]) => s),
    output: () => ({ stdout, stderr }),
  };
}

/** Runs the cluster; resolves to the exit code (0: converged). */
export async function runCluster(run: ClusterRunConfig): Promise<number> {
  if (run.newSecret !== null) {
    if (!await createSecretFile(run.newSecret)) {
      throw new UsageError(
        `${run.newSecret} exists already: a cluster keeps its secret (delete the file first to make a new one, then copy it to every machine)`,
      );
    }
    tell(`wrote a new cluster secret to ${run.newSecret} (readable by you only)`);
    return 0;
  }
  const config = await loadClusterConfig(run.configFile);
  if (run.kill && !config.nodes.has(run.kill.id)) {
    throw new UsageError(
      `--kill ${run.kill.id}: ${run.configFile} names ${[...config.nodes.keys()].join(", ")}`,
    );
  }
  const secretFile = secretPath(run.configFile, config, run.secretFile);
  if (await createSecretFile(secretFile)) {
    tell(`created the cluster's secret in ${secretFile} (readable by you only)`);
  }
  const secret = await readSecretFile(secretFile);
  if (run.printCommands) {
    const lines = nodeCommands(config, run.configFile, secretFile, {
      listen: run.listen,
      dir: run.dir,
    });
    await Deno.stdout.write(encoder.encode(`${lines.join("\n")}\n`));
    return 0;
  }
  const missing = run.dir === null
    ? null
    : await missingGrants([writeNeed(run.dir, `write the nodes' logs and journals in ${run.dir}`)]);
  if (missing) throw new StartError(missing);
  const dir = run.dir ?? await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-cluster-" });
  const paths = {
    denoConfig: PROJECT.config,
    entry: PROJECT.node,
    src: PROJECT.src,
    configFile: resolve(run.configFile),
    secretFile: resolve(secretFile),
  };
  const nodeDir = (id: string) => `${dir}/${id}`;
  const startOne = async (id: string) => {
    await Deno.mkdir(nodeDir(id), { recursive: true });
    return await startListening(
      `node ${id}`,
      nodeArgs(config, id, paths, {
        dir: nodeDir(id),
        extra: [`--gossip-interval=${run.gossipIntervalMs / 1000}`],
      }),
      { detached: true, env: serviceEnv(`likes-node-${id}`) },
    );
  };

  using stop = onStopSignal();
  const nodes = new Map<string, ListeningProcess>();
  const parents: ParentRun[] = [];
  const watch = new Watch(config, secret);
  const timers: ReturnType<typeof setTimeout>[] = [];
  let view: ViewServer | undefined;
  // The fault drill: its pauses end early when the run is stopped.
  let drill: Promise<void> = Promise.resolve();
  let ending = false;
  const wakers = new Set<() => void>();
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      wakers.add(wake);
    });
  const cleanUp = async () => {
    ending = true;
    for (const wake of [...wakers]) wake();
    await drill; // a restart in progress ends up in `nodes`, and is stopped below
    watch.stop();
    for (const timer of timers) clearTimeout(timer);
    await view?.finish();
    for (const parent of parents) {
      try {
        parent.child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
    }
    await Promise.all(parents.map((p) => p.status));
    await Promise.all([...nodes.values()].map((n) => n.stop("SIGTERM")));
  };

  try {
    tell(`logs and journals in ${dir}`);
    for (const id of config.nodes.keys()) {
      const node = await startOne(id);
      nodes.set(id, node);
      tell(`node ${id} pid ${node.pid} listening on ${node.host}:${node.port}`);
    }
    watch.start(50);
    const started = performance.now();
    const startedAt = Date.now();
    const portal = [...config.nodes.values()].find((n) => n.likesPort === null) ??
      [...config.nodes.values()][0]!;
    const portalView = { id: portal.id, address: `${portal.host}:${portal.port}` };
    if (run.viewPort !== null) {
      view = await serveView({ port: run.viewPort });
      say(`view at ${view.url}`);
      const shown = view;
      timers.push(
        setInterval(() => shown.update(watch.snapshot(startedAt, portalView, null)), 250),
      );
    }
    for (const node of config.nodes.values()) {
      if (node.likesPort === null || run.likesServersPerNode === 0) continue;
      parents.push(startParentFor(node.id, node.host, node.likesPort, nodeDir(node.id), run));
    }
    tell(
      `${
        parents.length * run.likesServersPerNode
      } LikesServers (${run.likesServersPerNode} per node) for ${run.durationMs / 1000} s`,
    );
    const queries: QuerySample[] = [];
    const events: string[] = [];
    const seconds = () => Math.round((performance.now() - started) / 100) / 10;
    const event = (what: string) => {
      events.push(`t=${seconds().toFixed(1)}s ${what}`);
      tell(`fault drill: ${what}`);
    };
    const querying = setInterval(async () => {
      const t = seconds().toFixed(1);
      try {
        const reply = await askNode({
          hostname: portal.host,
          port: portal.port,
          secret,
          verb: "total",
          // the run watches the cluster: a fresh answer each time, not the portal's cache
          maxAgeMs: 0,
        });
        queries.push({
          t: Number(t),
          total: reply.total,
          answered: reply.answered,
          missing: reply.missing,
        });
        const replicas = [...watch.latest].sort(([a], [b]) => a < b ? -1 : 1).map(([id, s]) =>
          `${id} ${s?.replica.total ?? "down"}`
        )
          .join(" · ");
        tell(
          `t=${t}s query at ${portal.id}: ${reply.total} likes from ${reply.answered.join(" ")}${
            reply.missing.length ? ` (MISSING ${reply.missing.join(" ")})` : ""
          } · replicas ${replicas}`,
        );
      } catch (error) {
        tell(
          `t=${t}s query at ${portal.id} failed: ${describeError(error, "message")}`,
        );
      }
    }, run.queryIntervalMs);
    timers.push(querying);
    if (run.kill) {
      const { id, atMs, downMs } = run.kill;
      drill = (async () => {
        await pause(atMs);
        const node = nodes.get(id);
        if (ending || !node) return;
        nodes.delete(id);
        event(`SIGKILL node ${id} (pid ${node.pid}); back in ${downMs / 1000} s`);
        await node.stop("SIGKILL");
        await pause(downMs);
        if (ending) return;
        try {
          const again = await startOne(id);
          nodes.set(id, again);
          event(`node ${id} restarted, pid ${again.pid}`);
        } catch (error) {
          event(`node ${id} did not restart: ${error}`);
        }
      })();
    }

    const done = Promise.all(parents.map((p) => p.status));
    const signal = await Promise.race([stop.received, done.then(() => null)]);
    clearInterval(querying);
    if (signal) {
      tell(`${signal}: stopping the LikesServers and the nodes`);
      await cleanUp();
      return signal === "SIGINT" ? 130 : 143;
    }
    await drill; // its restart may still be pending when the likes end early
    const settleUntil = performance.now() + run.settleMs;
    let convergenceMs: number | null = null;
    while (performance.now() < settleUntil) {
      await watch.poll(true); // figures from after the likes stopped, never an older poll's
      if (watch.convergedAt !== null) {
        convergenceMs = Math.round(watch.convergedAt - watch.lastChangeAt);
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const outcomes: NodeOutcome[] = [...config.nodes.values()].map((node) => {
      const parent = parents.find((p) => p.id === node.id);
      let report: RunReport | null = null;
      try {
        report = parent ? JSON.parse(parent.output().stdout) as RunReport : null;
      } catch {
        tell(
          `node ${node.id}'s ParentProcess printed no report: ${parent?.output().stderr.trim()}`,
        );
      }
      const stats = watch.latest.get(node.id) ?? null;
      return {
        id: node.id,
        holdsLikes: node.likesPort !== null,
        likesServers: node.likesPort === null ? 0 : run.likesServersPerNode,
        generated: report?.totals.generated ?? 0,
        acknowledged: report?.totals.acknowledged ?? 0,
        counted: stats?.likes ?? null,
        replicaTotal: stats?.replica.total ?? null,
      };
    });
    const report = buildClusterReport(dir, outcomes, convergenceMs, { queries, events });
    view?.update(watch.snapshot(startedAt, portalView, report));
    await cleanUp();
    await Deno.stdout.write(
      encoder.encode(run.json ? `${JSON.stringify(report)}\n` : formatClusterReport(report)),
    );
    return report.converged ? 0 : 1;
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
