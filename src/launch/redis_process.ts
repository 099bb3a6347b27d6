/**
 * Starting Debian's `redis-server` as a child process, on a free loopback port in a directory of
 * ours, and stopping it by its PID: for the demo's `--store redis` and for the tests (which are
 * skipped, with the reason, where redis-server is missing; `.ci/run` installs it). Also a 3-master
 * Redis Cluster, joined with `redis-cli --cluster create`.
 *
 * @module
 */

import { freePort } from "../free_port.ts";

/** Why Redis tests cannot run here, or null. */
export function redisMissing(): string | null {
  try {
    const status = new Deno.Command("redis-server", { args: ["--version"], stdout: "null" })
      .outputSync();
    return status.success ? null : "redis-server --version failed";
  } catch (error) {
    return `redis-server not found (${error instanceof Error ? error.message : error})`;
  }
}

/** A running redis-server. */
export interface RedisProcess extends AsyncDisposable {
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: Deno.Signal): Promise<void>;
}

/** Starts redis-server (in `dir`, or a fresh temp directory) and waits until it answers. */
export async function startRedis(
  options: {
    readonly appendfsync?: "always" | "no";
    readonly dir?: string;
    readonly port?: number;
    /** Start it as a cluster node (`cluster-enabled yes`, its config file in `dir`). */
    readonly cluster?: boolean;
    /** More `redis-server` options, e.g. `["--maxclients", "20000"]`. @default {[]} */
    readonly args?: readonly string[];
  } = {},
): Promise<RedisProcess> {
  const dir = options.dir ?? await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-redis-" });
  const port = options.port ?? freePort();
  const persistence = options.appendfsync === "always"
    ? ["--appendonly", "yes", "--appendfsync", "always"]
    : ["--appendonly", "no"];
  const child = new Deno.Command("redis-server", {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--dir",
      dir,
      ...persistence,
      ...(options.cluster
        ? ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
        : []),
      ...(options.args ?? []),
    ],
    stdout: "null",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const deadline = Date.now() + 10_000;
  while (true) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(new TextEncoder().encode("PING\r\n"));
      const buffer = new Uint8Array(16);
      const n = await conn.read(buffer);
      conn.close();
      if (n && new TextDecoder().decode(buffer.subarray(0, n)).startsWith("+PONG")) break;
    } catch {
      // Not up yet.
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      await child.status;
      throw new Error(`redis-server on port ${port} did not answer within 10 s`);
    }
    await new Promise((r) => setTimeout(r, 30));
  }
  let stopped: Promise<void> | undefined;
  const stop = (signal: Deno.Signal = "SIGTERM") =>
    stopped ??= (async () => {
      try {
        child.kill(signal);
      } catch {
        // Exited already.
      }
      await child.status;
    })();
  return {
    port,
    pid: child.pid,
    dir,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      if (options.dir === undefined) await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A running Redis Cluster of three masters (no replicas). */
export interface RedisCluster extends AsyncDisposable {
  /** One node's port (clients find the others from it). */
  readonly port: number;
  readonly nodes: readonly RedisProcess[];
  /** Empties every node (`FLUSHALL`). */
  flush(): Promise<void>;
}

/**
 * Starts three `redis-server --cluster-enabled yes` on free ports and joins them with
 * `redis-cli --cluster create … --cluster-yes`; waits until the cluster says it is ok.
 */
export async function startRedisCluster(): Promise<RedisCluster> {
  const nodes: RedisProcess[] = [];
  const stopAll = async () => {
    for (const node of nodes) await node[Symbol.asyncDispose]();
  };
  try {
    for (let i = 0; i < 3; i++) nodes.push(await startRedis({ cluster: true }));
    const create = await new Deno.Command("redis-cli", {
      args: [
        "--cluster",
        "create",
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!create.success) {
      throw new Error(
        `redis-cli --cluster create failed: ${new TextDecoder().decode(create.stderr)}`,
      );
    }
    const deadline = Date.now() + 10_000;
    while (true) {
      const info = await new Deno.Command("redis-cli", {
        args: ["-p", String(nodes[0]!.port), "cluster", "info"],
        stdout: "piped",
      }).output();
      if (new TextDecoder().decode(info.stdout).includes("cluster_state:ok")) break;
      if (Date.now() > deadline) throw new Error("the cluster did not become ok within 10 s");
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    port: nodes[0]!.port,
    nodes,
    async flush() {
      for (const node of nodes) {
        await new Deno.Command("redis-cli", {
          args: ["-p", String(node.port), "flushall"],
          stdout: "null",
        }).output();
      }
    },
    [Symbol.asyncDispose]: stopAll,
  };
}
