/**
 * Starting Debian's `redis-server` as a child process, on a free loopback port in a directory of
 * ours, and stopping it by its PID: for the demo's `--store redis` and for the tests (which are
 * skipped, with the reason, where redis-server is missing; `.ci/run` installs it). Also a 3-master
 * Redis Cluster, joined with `redis-cli --cluster create`.
 *
 * @module
 */

import { freePort } from "./free_port.ts";
import { describeError } from "../base/describe_error.ts";

/** Runs `redis-cli -p PORT args…` against 127.0.0.1 and returns what it printed. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("redis-cli", {
    args: ["-p", String(port), ...args],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout);
}

/** Why Redis tests cannot run here, or null. */
export function redisMissing(): string | null {
  try {
    const status = new Deno.Command("redis-server", { args: ["--version"], stdout: "null" })
      .outputSync();
    return status.success ? null : "redis-server --version failed";
  } catch (error) {
    return `redis-server not found (${describeError(error, "message")})`;
  }
}

/** A running redis-server. */
export interface RedisProcess extends AsyncDisposable {
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: Deno.Signal): Promise<void>;
  /** Sends `signal` (say SIGSTOP, SIGCONT) and returns at once. */
  signal(signal: Deno.Signal): void;
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
    /** Serve TLS only (on `port`), with these PEM files; clients need no certificate. */
    readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string };
  } = {},
): Promise<RedisProcess> {
  const dir = options.dir ?? await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-redis-" });
  const port = options.port ?? freePort();
  const persistence = options.appendfsync === "always"
    ? ["--appendonly", "yes", "--appendfsync", "always"]
    : ["--appendonly", "no"];
  const listen = options.tls
    ? [
      ...["--port", "0", "--tls-port", String(port), "--tls-cert-file", options.tls.cert],
      ...["--tls-key-file", options.tls.key, "--tls-ca-cert-file", options.tls.ca],
      ...["--tls-auth-clients", "no"],
    ]
    : ["--port", String(port)];
  const child = new Deno.Command("redis-server", {
    args: [
      ...listen,
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
  await untilPong(port, child, options.tls);
  return processHandle(child, port, dir, options.dir === undefined);
}

/**
 * Waits until the redis-server (or Sentinel) on `port` answers PING (or asks for a password
 * first); kills `child` if it never does.
 */
async function untilPong(
  port: number,
  child: Deno.ChildProcess,
  tls?: { readonly ca: string },
): Promise<void> {
  const deadline = Date.now() + 10_000;
  const caCerts = tls ? [await Deno.readTextFile(tls.ca)] : [];
  while (true) {
    try {
      const conn = tls
        ? await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts })
        : await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(new TextEncoder().encode("PING\r\n"));
      const buffer = new Uint8Array(16);
      const n = await conn.read(buffer);
      conn.close();
      const reply = n ? new TextDecoder().decode(buffer.subarray(0, n)) : "";
      if (reply.startsWith("+PONG") || reply.startsWith("-NOAUTH")) return;
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
}

/** Stopping a child by its PID, once, whatever the signal; and removing `dir` if it is ours. */
function processHandle(
  child: Deno.ChildProcess,
  port: number,
  dir: string,
  ownDir: boolean,
): RedisProcess {
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
    signal: (signal) => child.kill(signal),
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGCONT"); // a stopped process cannot end
      } catch {
        // Exited already.
      }
      await stop();
      if (ownDir) await Deno.remove(dir, { recursive: true });
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
      if ((await redisCli(nodes[0]!.port, "cluster", "info")).includes("cluster_state:ok")) break;
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
      for (const node of nodes) await redisCli(node.port, "flushall");
    },
    [Symbol.asyncDispose]: stopAll,
  };
}

/** A master, two replicas and three Sentinels watching them, all on free loopback ports. */
export interface RedisSentinelGroup extends AsyncDisposable {
  /** The name the Sentinels know the master by. */
  readonly master: string;
  /** The first master (a failover promotes a replica; the other then follows the new master). */
  readonly primary: RedisProcess;
  readonly replicas: readonly RedisProcess[];
  readonly sentinels: readonly RedisProcess[];
  /** The address a client asks where the master is: `127.0.0.1:P,127.0.0.1:P,…`. */
  readonly sentinelAddresses: string;
}

/**
 * Starts a master, two replicas of it (all `appendfsync always`) and three Sentinels (quorum 2)
 * that mark the master down after `downAfterMs` of silence and fail over to a replica; waits
 * until the Sentinels know both replicas and both are in sync. Two, so that after a failover
 * the new master still has a replica to confirm `WAIT 1`.
 */
export async function startRedisSentinelGroup(
  options: {
    readonly downAfterMs?: number;
    /** The master's and the replicas' password (`requirepass`, `masterauth`, `auth-pass`). */
    readonly password?: string;
    /**
     * The port the Sentinels are told the master is on (and name to clients), given its own: a
     * proxy in front of it, say. Called once. @default {its own}
     */
    readonly masterSeenAt?: (port: number) => number;
  } = {},
): Promise<RedisSentinelGroup> {
  const master = "likes";
  const auth = options.password === undefined
    ? []
    : ["--requirepass", options.password, "--masterauth", options.password];
  const cliAuth = options.password === undefined
    ? []
    : ["-a", options.password, "--no-auth-warning"];
  const started: RedisProcess[] = [];
  const stopAll = async () => {
    for (const process of started.reverse()) await process[Symbol.asyncDispose]();
  };
  try {
    const primary = await startRedis({ appendfsync: "always", args: auth });
    started.push(primary);
    const replicas: RedisProcess[] = [];
    for (let i = 0; i < 2; i++) {
      const replica = await startRedis({
        appendfsync: "always",
        args: ["--replicaof", "127.0.0.1", String(primary.port), ...auth],
      });
      started.push(replica);
      replicas.push(replica);
    }
    const seenAt = options.masterSeenAt?.(primary.port) ?? primary.port;
    const sentinels: RedisProcess[] = [];
    for (let i = 0; i < 3; i++) {
      const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-sentinel-" });
      const port = freePort();
      await Deno.writeTextFile(
        `${dir}/sentinel.conf`,
        [
          `port ${port}`,
          "bind 127.0.0.1",
          `dir ${dir}`,
          `sentinel monitor ${master} 127.0.0.1 ${seenAt} 2`,
          `sentinel down-after-milliseconds ${master} ${options.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${master} 5000`,
          `sentinel parallel-syncs ${master} 1`,
          ...(options.password === undefined
            ? []
            : [`sentinel auth-pass ${master} ${options.password}`]),
          "",
        ].join("\n"),
      );
      const child = new Deno.Command("redis-server", {
        args: [`${dir}/sentinel.conf`, "--sentinel"],
        stdout: "null",
        stderr: "null",
        stdin: "null",
      }).spawn();
      await untilPong(port, child);
      const sentinel = processHandle(child, port, dir, true);
      started.push(sentinel);
      sentinels.push(sentinel);
    }
    const deadline = Date.now() + 15_000;
    while (true) {
      const known = await Promise.all(
        sentinels.map((s) => redisCli(s.port, "sentinel", "replicas", master)),
      );
      const synced = (await Promise.all(replicas.map((r) =>
        redisCli(r.port, ...cliAuth, "info", "replication")
      )))
        .every((text) =>
          text.includes("master_link_status:up")
        );
      const learnt = known.every((text) => replicas.every((r) => text.includes(String(r.port))));
      if (synced && learnt) break;
      if (Date.now() > deadline) {
        throw new Error("the Sentinels did not learn of both replicas within 15 s");
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      master,
      primary,
      replicas,
      sentinels,
      sentinelAddresses: sentinels.map((s) => `127.0.0.1:${s.port}`).join(","),
      [Symbol.asyncDispose]: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
