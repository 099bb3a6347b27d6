/**
 * The servers a benchmark drives, each started fresh: our PrimaryLikesServer (a fresh data
 * directory, a free port), Redis (persistence off, or `appendfsync always`) and the C reference
 * server `idealsrv`. Each can report its total and its memory, and stops cleanly.
 *
 * @module
 */

import { forEachText } from "../launch/child_process.ts";
import { delay } from "../base/delay.ts";
import { LineClient } from "../protocol/line_client.ts";
import { fetchStats } from "../protocol/stats_client.ts";
import { PROJECT, type ServerProcess, startListening, startServer } from "../launch/processes.ts";
import { fileURLToPath } from "node:url";
import {
  type RedisSentinelGroup,
  startRedis,
  startRedisSentinelGroup,
} from "../launch/redis_process.ts";
import type { RedisHa } from "./cases.ts";
import { freePort } from "../launch/free_port.ts";

/** A running server under test. */
export interface Target {
  /** Short name for the table, e.g. `likes`, `redis always`. */
  readonly name: string;
  readonly port: number;
  /** Every port the load may be spread over (several primaries), when more than one. */
  readonly ports?: readonly number[];
  /** Its resident memory now, in bytes, if it can tell. */
  rss(): Promise<number | null>;
  /** What it counted in all (`null` for a server that counts nothing: the floor). */
  total(): Promise<number | null>;
  /** Stops it and waits for the exit. */
  stop(): Promise<void>;
}

/** Our server with `workers` Workers and an fsync mode, in `dir` (logs and a fresh data dir). */
export async function startLikesTarget(options: {
  readonly dir: string;
  readonly workers: number;
  readonly fsync: "always" | "interval" | "never";
  /** More environment variables (telemetry). @default {none} */
  readonly env?: Readonly<Record<string, string>>;
}): Promise<Target> {
  const server = await startServer({
    logDir: options.dir,
    workers: options.workers,
    ...(options.env ? { env: options.env } : {}),
    // Room for the 10,000 idle connections of that case, plus the STATS asking about them.
    args: [
      `--fsync=${options.fsync}`,
      "--idle-timeout=600",
      "--max-clients=65536",
      "--max-connections=12000",
    ],
  });
  return {
    name: `likes ${options.fsync}${options.env?.OTEL_DENO ? ", OTel on" : ""}`,
    port: server.port,
    rss: async () => (await fetchStats({ port: server.port })).memory?.rss ?? null,
    total: async () => (await fetchStats({ port: server.port })).total,
    stop: async () => {
      await server.stop("SIGTERM", 30_000);
    },
  };
}

async function redisCommand(port: number, command: string): Promise<string> {
  using client = await LineClient.connect({ port });
  const first = await client.request(command);
  if (!first.startsWith("$")) return first;
  return Number(first.slice(1)) < 0 ? "" : await client.readLine();
}

/** Redis with persistence off, or with `appendonly yes` and `appendfsync always`. */
export async function startRedisTarget(options: {
  readonly dir: string;
  readonly persistence: "off" | "always";
}): Promise<Target> {
  const redis = await startRedis({
    dir: options.dir,
    appendfsync: options.persistence === "always" ? "always" : "no",
    args: ["--maxclients", "20000"],
  });
  const { port } = redis;
  return {
    name: `redis ${options.persistence === "always" ? "appendfsync always" : "no persistence"}`,
    port,
    rss: () => redisMemory(port),
    total: async () => Number(await redisCommand(port, "GET likes") || 0),
    stop: () => redis.stop(),
  };
}

async function redisMemory(port: number): Promise<number | null> {
  using client = await LineClient.connect({ port });
  const header = await client.request("INFO memory");
  const length = Number(header.slice(1));
  for (let read = 0; read < length;) {
    const line = await client.readLine();
    read += line.length + 2; // each line ends with \r\n
    const match = /^used_memory_rss:(\d+)/.exec(line);
    if (match) return Number(match[1]);
  }
  return null;
}

/** The C reference server `idealsrv` at `path` (built by `reference_tools.ts`). */
export async function startIdealTarget(path: string): Promise<Target> {
  const port = freePort();
  const child = new Deno.Command(path, {
    args: ["--host", "127.0.0.1", "--port", String(port)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const pipes = Promise.all([
    forEachText(child.stdout, (t) => (output += t)),
    forEachText(child.stderr, (t) => (output += t)),
  ]);
  const status = Promise.all([child.status, pipes]).then(([s]) => s);
  for (let attempt = 0;; attempt++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch (error) {
      if (attempt > 100) {
        child.kill("SIGKILL");
        await status;
        throw new Error(`idealsrv did not start: ${output || error}`);
      }
      await delay(20);
    }
  }
  let final: number | null = null;
  return {
    name: "idealsrv (C)",
    port,
    rss: () => Promise.resolve(null),
    total: async () => {
      if (final !== null) return final;
      child.kill("SIGUSR1");
      for (let i = 0; i < 50 && !/"total_likes"/.test(output); i++) await delay(20);
      const totals = [...output.matchAll(/"total_likes"\s*:\s*(\d+)/g)];
      return Number(totals.at(-1)?.[1] ?? NaN);
    },
    stop: async () => {
      child.kill("SIGTERM");
      await status;
      const totals = [...output.matchAll(/"total_likes"\s*:\s*(\d+)/g)];
      final = Number(totals.at(-1)?.[1] ?? NaN);
    },
  };
}

/** The floor (`floor_server.ts`) with `workers` Workers, as its own process: it counts nothing. */
export async function startFloorTarget(options: { readonly workers: number }): Promise<Target> {
  const port = freePort();
  const server = await startListening("floor server", [
    "run",
    "--no-prompt",
    `--config=${PROJECT.config}`,
    `--allow-net=127.0.0.1:${port}`,
    `--allow-read=${PROJECT.src}`,
    FLOOR_SERVER,
    `--port=${port}`,
    `--workers=${options.workers}`,
  ]);
  return {
    name: "Deno floor",
    port: server.port,
    rss: () => Promise.resolve(null),
    total: () => Promise.resolve(null),
    stop: async () => {
      await server.stop("SIGTERM", 10_000);
    },
  };
}

const FLOOR_SERVER = fileURLToPath(new URL("./floor_server.ts", import.meta.url));

/** The Redis a {@linkcode startLikesRedisTarget} counts in, and the `--store` that reaches it. */
async function startLikesRedis(
  dir: string,
  ha: RedisHa | undefined,
): Promise<{ store: string; rss(): Promise<number | null>; stop(): Promise<void> }> {
  if (!ha) {
    const redis = await startRedisTarget({ dir, persistence: "always" });
    return { store: `redis://127.0.0.1:${redis.port}`, rss: redis.rss, stop: redis.stop };
  }
  const group: RedisSentinelGroup = await startRedisSentinelGroup();
  const store = ha === "wait-1"
    ? `redis://127.0.0.1:${group.primary.port}?wait=1`
    : `redis-sentinel://${group.sentinelAddresses}/${group.master}${
      ha === "sentinel-wait-1" ? "?wait=1" : ""
    }`;
  return {
    store,
    rss: async () => {
      let sum = 0;
      for (const node of [group.primary, ...group.replicas]) {
        sum += (await redisMemory(node.port)) ?? 0;
      }
      return sum;
    },
    stop: async () => await group[Symbol.asyncDispose](),
  };
}

/**
 * Our server(s) with `--store redis`: `primaries` of them, each on its own port (the load is
 * spread over them), over one Redis at `appendfsync always`, or (`ha`) over a master with two
 * replicas and three Sentinels. The total is read through the first.
 */
export async function startLikesRedisTarget(options: {
  readonly dir: string;
  readonly workers: number;
  readonly primaries: number;
  readonly ha?: RedisHa;
}): Promise<Target> {
  const redis = await startLikesRedis(options.dir, options.ha);
  const servers: ServerProcess[] = [];
  try {
    for (let i = 0; i < options.primaries; i++) {
      servers.push(
        await startServer({
          logDir: options.dir,
          workers: options.workers,
          grants: ["--allow-env=REDIS_DEBUG_MAINTENANCE"],
          args: [`--store=${redis.store}`, "--max-connections=12000"],
        }),
      );
    }
  } catch (error) {
    for (const server of servers) await server.stop("SIGTERM");
    await redis.stop();
    throw error;
  }
  const first = servers[0]!;
  return {
    name: `likes over ${options.ha ? `redis (${options.ha})` : "redis"} ×${options.primaries}`,
    port: first.port,
    ports: servers.map((s) => s.port),
    rss: async () => {
      let sum = 0;
      for (const server of servers) {
        sum += (await fetchStats({ port: server.port })).memory?.rss ?? 0;
      }
      return sum + ((await redis.rss()) ?? 0);
    },
    total: async () => (await fetchStats({ port: first.port })).total,
    stop: async () => {
      for (const server of servers) await server.stop("SIGTERM", 30_000);
      await redis.stop();
    },
  };
}
