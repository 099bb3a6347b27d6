/**
 * Likes counted in Redis, so that several stateless PrimaryLikesServers can share one engine:
 * every message is applied by one server-side Lua script (loaded once, called by its SHA), which
 * checks a keyed client's last sequence number and adds the likes atomically. Retries, duplicates
 * and two primaries racing for one client are therefore counted once.
 *
 * Keys are laid out for Redis Cluster as well as a single server. A client's keys and the partial
 * counts they add to share a hash tag `{b<N>}`, where N is one of {@linkcode BUCKETS} buckets
 * chosen by a stable hash of the client's name, so each script touches one slot only. The grand
 * total is the sum of the buckets' partial totals, read key by key, never across slots:
 *
 * - `likes:{bN}:c:<name>`: a hash with `count`, `seq`, `likes` (the last seq and its likes);
 * - `likes:{bN}:total`: the bucket's total;
 * - `likes:{bN}:top`: a sorted set of the bucket's clients by count.
 *
 * Through Redis Sentinel (`sentinel` in the options) the store follows the master across
 * failovers; with `wait`, a like is acknowledged only once `WAIT` confirms it on that many
 * replicas. A failed call is a {@linkcode StoreUnavailableError} when the script cannot have run
 * and a {@linkcode StoreOutcomeUnknownError} when it may have ({@linkcode classifyFailure}).
 *
 * The client (`npm:redis`) pipelines every command issued in one turn of the event loop. It was
 * chosen over `ioredis` by a measured A/B (BENCHMARKS.md): as fast, and it needs only
 * `--allow-env=REDIS_DEBUG_MAINTENANCE`, where ioredis reads the whole environment.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  ClientClosedError,
  ClientOfflineError,
  createClient,
  createCluster,
  createSentinel,
  ErrorReply,
} from "redis";
import type { ApplyResult, LikesStore, Receipt } from "../likes_store.ts";
import { NO_RECEIPT, StoreOutcomeUnknownError, StoreUnavailableError } from "../likes_store.ts";
import {
  type AckDurability,
  CHECKED_SETTINGS,
  judgeRedisSettings,
  type RedisSettings,
  type SettingsVerdict,
} from "./redis_settings.ts";
import { readRedisPassword, readSecretFile } from "./redis_secrets.ts";
import { describeRedis, type RedisLikesOptions, RedisSettingsRefused } from "./redis_options.ts";
import { describeError } from "../../base/describe_error.ts";

export { describeRedis, type RedisLikesOptions, RedisSettingsRefused } from "./redis_options.ts";

/** How long a server waits for Redis when it starts, in ms. */
const CONNECT_TIMEOUT_MS = 3000;

/** How long a command waits for a master through Sentinel (during a failover), in ms. */
const SENTINEL_COMMAND_TIMEOUT_MS = 2000;

/** How many partial totals the counts are spread over (each in its own hash slot). */
export const BUCKETS = 16;

/** The bucket of a client name: FNV-1a of its UTF-8 bytes. Stable across processes. */
export function bucketOf(name: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) hash = Math.imul(hash ^ byte, 0x01000193);
  return (hash >>> 0) % BUCKETS;
}

/** A client's hash key. */
export function clientKey(name: string): string {
  return `likes:{b${bucketOf(name)}}:c:${name}`;
}

const totalKey = (bucket: number) => `likes:{b${bucket}}:total`;
const topKey = (bucket: number) => `likes:{b${bucket}}:top`;

/**
 * KEYS: client hash, bucket total, bucket top. ARGV: name, likes.
 * Returns {count, total-of-bucket}.
 */
const CLASSIC = `
local count = redis.call('HINCRBY', KEYS[1], 'count', ARGV[2])
local total = redis.call('INCRBY', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], count, ARGV[1])
return {count, total}
`;

/**
 * KEYS: client hash, bucket total, bucket top. ARGV: name, seq, likes.
 * Returns {0, count, bucket total} when counted, {1, count, bucket total} for a seq already
 * counted with the same likes, {2, expected seq} for a gap, {3, likes counted} for a conflict.
 */
const KEYED = `
local last = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local seq = tonumber(ARGV[2])
local likes = tonumber(ARGV[3])
if seq == last then
  local before = tonumber(redis.call('HGET', KEYS[1], 'likes') or '0')
  if before ~= likes then return {3, before} end
  return {1, tonumber(redis.call('HGET', KEYS[1], 'count') or '0'), tonumber(redis.call('GET', KEYS[2]) or '0')}
end
if seq < last then
  return {1, tonumber(redis.call('HGET', KEYS[1], 'count') or '0'), tonumber(redis.call('GET', KEYS[2]) or '0')}
end
if seq ~= last + 1 then return {2, last + 1} end
redis.call('HSET', KEYS[1], 'seq', seq, 'likes', likes)
local count = redis.call('HINCRBY', KEYS[1], 'count', likes)
local total = redis.call('INCRBY', KEYS[2], likes)
redis.call('ZADD', KEYS[3], count, ARGV[1])
return {0, count, total}
`;

/**
 * What a failed script call means for the like. **Definite** (nothing ran): the client was not
 * connected (it queues nothing while offline, so the call was never sent), or Redis answered an
 * error, which it does before a script's first write (`READONLY` on a replica, `LOADING`, `OOM`,
 * `NOSCRIPT`). **Indefinite** otherwise: the call was sent (or queued to be) and its answer lost
 * to a closed socket or a timeout, so the script may have run.
 */
export function classifyFailure(error: unknown): StoreUnavailableError | StoreOutcomeUnknownError {
  const why = describeError(error, "message");
  if (
    error instanceof ClientOfflineError || error instanceof ClientClosedError ||
    error instanceof ErrorReply
  ) {
    return new StoreUnavailableError(why, { cause: error });
  }
  return new StoreOutcomeUnknownError(`the answer was lost (${why})`, { cause: error });
}

/**
 * What a server does once before its Workers connect: reads the secrets (so a missing grant is
 * one clear line), connects, and checks Redis's eviction and persistence settings against the
 * durability asked for (`asked`, the server's `--fsync`).
 *
 * @returns The options with the secrets read (for the Workers), and a warning line or null.
 * @throws {RedisSettingsRefused} If Redis may evict the likes' keys.
 * @throws {RedisSecretError} If the password or CA cannot be read.
 */
export async function prepareRedis(
  given: RedisLikesOptions,
  asked: AckDurability,
): Promise<{ options: RedisLikesOptions; warning: string | null }> {
  const options = await readRedisSecrets(given);
  await using likes = await RedisLikes.connect(options);
  const verdict = await likes.checkSettings(describeRedis(options), asked);
  if (verdict.refusal) throw new RedisSettingsRefused(verdict.refusal);
  return { options, warning: verdict.warning };
}

/**
 * The options with the password and the CA file read (from the environment or files), so that
 * Workers are handed values, not places they may lack the grants to read.
 *
 * @throws {RedisSecretError} If one cannot be read; the message says what to grant.
 */
export async function readRedisSecrets(options: RedisLikesOptions): Promise<RedisLikesOptions> {
  const password = options.password === undefined
    ? {}
    : { password: await readRedisPassword(options.password) };
  const tls = options.tls?.caFile === undefined ? {} : {
    tls: { ca: await readSecretFile("the Redis CA certificates", options.tls.caFile) },
  };
  return { ...options, ...password, ...tls };
}

/** The part of node-redis's cluster client that reaches each master. */
interface ClusterMasters {
  readonly masters: readonly { readonly host: string; readonly port: number }[];
  nodeClient(master: { readonly host: string; readonly port: number }): Promise<Client>;
}

const sha1 = (script: string) => createHash("sha1").update(script).digest("hex");
const SHA = { classic: sha1(CLASSIC), keyed: sha1(KEYED) };

/** The commands this module uses (node-redis's own types fight `exactOptionalPropertyTypes`). */
interface Client {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  get(key: string): Promise<string | null>;
  hGet(key: string, field: string): Promise<string | null | undefined>;
  zRangeWithScores(
    key: string,
    start: number,
    stop: number,
    options: { REV: true },
  ): Promise<{ value: string; score: number }[]>;
  zCard(key: string): Promise<number>;
  wait(replicas: number, timeoutMs: number): Promise<number>;
  configGet(names: string[]): Promise<Record<string, string>>;
  close(): Promise<void>;
  destroy(): void;
}

/**
 * Counts in Redis. `applyClassic`/`applyKeyed` resolve once Redis has answered (with
 * `appendfsync always` on the Redis side, once the like is on Redis's disk): one script call per
 * message. The `total` in a result is this primary's view of the grand total (see
 * `#bucketTotals`); `total()` reads it from Redis.
 *
 * @example
 * ```ts ignore
 * await using likes = await RedisLikes.connect({ hostname: "127.0.0.1", port: 6379 });
 * const result = await likes.applyKeyed("edge-1", 1, 3);
 * ```
 */
export class RedisLikes implements LikesStore, AsyncDisposable {
  /** Redis holds as many clients as its memory allows: no limit of ours. */
  readonly maxClients = Number.MAX_SAFE_INTEGER;
  readonly #client: Client;
  readonly #wait: RedisLikesOptions["wait"] | undefined;
  /** The `WAIT` that replies arriving in this turn share (sent after them), if one is due. */
  #nextWait: Promise<number> | null = null;

  /**
   * This primary's view of each bucket's total: read at connect, raised by every script's reply
   * (which returns its bucket's total). Their sum is the `total` an ACK reports without 16 more
   * round trips; with several primaries it may lag the others' latest likes (STATS reads Redis).
   */
  readonly #bucketTotals: number[] = new Array(BUCKETS).fill(0);

  /** The cluster's masters, whose settings are each checked; null for one server. */
  readonly #cluster: ClusterMasters | null;

  private constructor(
    client: Client,
    wait: RedisLikesOptions["wait"],
    cluster: ClusterMasters | null,
  ) {
    this.#client = client;
    this.#wait = wait;
    this.#cluster = cluster;
  }

  /**
   * Reads the eviction and persistence settings of the Redis the likes go to (every master of a
   * cluster; through Sentinel, the current master) and judges them against `asked`. A Redis
   * that refuses `CONFIG GET` (renamed or not granted to the user) gives a warning.
   */
  async checkSettings(where: string, asked: AckDurability): Promise<SettingsVerdict> {
    const names = [...CHECKED_SETTINGS];
    let found: { where: string; settings: RedisSettings }[];
    try {
      found = this.#cluster
        ? await Promise.all(this.#cluster.masters.map(async (master) => ({
          where: `Redis Cluster master ${master.host}:${master.port}`,
          settings: await (await this.#cluster!.nodeClient(master)).configGet(names),
        })))
        : [{ where, settings: await this.#client.configGet(names) }];
    } catch (error) {
      return {
        refusal: null,
        warning: `Cannot check the eviction and persistence settings of ${where} (CONFIG GET: ${
          describeError(error, "message")
        }); make sure its maxmemory-policy is noeviction and it persists as --fsync ${asked} asks`,
      };
    }
    const verdicts = found.map((node) => judgeRedisSettings(node.where, node.settings, asked));
    return {
      refusal: verdicts.find((v) => v.refusal)?.refusal ?? null,
      warning: verdicts.find((v) => v.warning)?.warning ?? null,
    };
  }

  /**
   * Resolves once `WAIT` confirms the writes answered so far reached the replicas asked for;
   * rejects with an indefinite error if fewer confirm in time, or the `WAIT` fails (the master
   * has the write; a failover now could lose it). Replies that arrive together share one `WAIT`,
   * sent on the same connection after them, so it covers all of them.
   */
  async #replicated(): Promise<void> {
    const wait = this.#wait;
    if (!wait) return;
    this.#nextWait ??= new Promise<number>((resolve, reject) =>
      queueMicrotask(() => {
        this.#nextWait = null;
        this.#client.wait(wait.replicas, wait.timeoutMs).then(resolve, reject);
      })
    );
    let confirmed: number;
    try {
      confirmed = await this.#nextWait;
    } catch (error) {
      throw new StoreOutcomeUnknownError(
        `counted by the master, WAIT failed (${describeError(error, "message")})`,
        { cause: error },
      );
    }
    if (confirmed < wait.replicas) {
      throw new StoreOutcomeUnknownError(
        `counted by the master, on ${confirmed} of ${wait.replicas} replica(s) within ${wait.timeoutMs} ms`,
      );
    }
  }

  #seen(bucket: number, total: number): number {
    if (total > this.#bucketTotals[bucket]!) this.#bucketTotals[bucket] = total;
    return this.#bucketTotals.reduce((sum, t) => sum + t, 0);
  }

  /**
   * Connects (to one server, or to a Redis Cluster through one of its nodes).
   *
   * @throws {Error} If Redis cannot be reached within 3 s.
   */
  static async connect(given: RedisLikesOptions): Promise<RedisLikes> {
    const options = await readRedisSecrets(given);
    if (options.tls && (options.cluster || options.sentinel)) {
      throw new Error("TLS to Redis is offered for one server (rediss://HOST:PORT) only");
    }
    // Reconnect for ever, at most a second apart; while disconnected, commands fail at once (no
    // queue that could grow without bound): the client gets `ERR store unavailable`.
    const reconnectStrategy = (retries: number) => Math.min(50 * (retries + 1), 1000);
    const socket = {
      host: options.hostname,
      port: options.port,
      reconnectStrategy,
    };
    const tls = options.tls
      ? { tls: true as const, ...(options.tls.ca === undefined ? {} : { ca: options.tls.ca }) }
      : {};
    const credentials = {
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(typeof options.password === "string" ? { password: options.password } : {}),
    };
    const raw = options.sentinel
      ? createSentinel({
        name: options.sentinel.master,
        sentinelRootNodes: options.sentinel.nodes.map(({ hostname, port }) => ({
          host: hostname,
          port,
        })),
        nodeClientOptions: {
          socket: { reconnectStrategy },
          disableOfflineQueue: true,
          ...credentials,
        },
        sentinelClientOptions: { socket: { reconnectStrategy } },
        // Never send a command again after its answer was lost (the library's default re-sends it
        // up to 16 times when the connection dropped): a classic like would count twice. The
        // failed call is indefinite; keyed clients resend and are counted once.
        maxCommandRediscovers: 0,
        // While there is no master, a command waits for one at most this long (then: unknown);
        // longer than a WAIT may take.
        commandOptions: {
          timeout: Math.max(SENTINEL_COMMAND_TIMEOUT_MS, (options.wait?.timeoutMs ?? 0) + 1000),
        },
      })
      : options.cluster
      ? createCluster({
        rootNodes: [{ socket }],
        defaults: { socket, disableOfflineQueue: true, ...credentials },
      })
      : createClient({ socket: { ...socket, ...tls }, disableOfflineQueue: true, ...credentials });
    let lastError: unknown = null;
    raw.on("error", (error: unknown) => (lastError = error)); // commands report their own
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        raw.connect(),
        new Promise((_, reject) =>
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `cannot reach Redis at ${options.hostname}:${options.port} within ${CONNECT_TIMEOUT_MS} ms${
                    lastError instanceof Error ? ` (${lastError.message})` : ""
                  }`,
                ),
              ),
            CONNECT_TIMEOUT_MS,
          )
        ),
      ]);
    } catch (error) {
      (raw as unknown as Client).destroy();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    const likes = new RedisLikes(
      raw as unknown as Client,
      options.wait,
      options.cluster ? (raw as unknown as ClusterMasters) : null,
    );
    try {
      await likes.total(); // learns every bucket's total
    } catch (error) {
      (raw as unknown as Client).destroy();
      throw error;
    }
    return likes;
  }

  /**
   * Runs a script by its SHA; a node that does not know it yet (a new node, or a Redis that
   * restarted) answers `NOSCRIPT`, and the script's source is sent instead (which teaches it the
   * script). The script did not run the first time, so the like is not counted twice. Calls are
   * routed by their first key, so in a cluster each goes to the node that owns the client.
   */
  async #run(which: "classic" | "keyed", keys: string[], args: string[]): Promise<number[]> {
    try {
      try {
        return await this.#client.evalSha(SHA[which], { keys, arguments: args }) as number[];
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
        const source = which === "classic" ? CLASSIC : KEYED;
        return await this.#client.eval(source, { keys, arguments: args }) as number[];
      }
    } catch (error) {
      throw classifyFailure(error);
    }
  }

  #keys(name: string): string[] {
    const bucket = bucketOf(name);
    return [clientKey(name), totalKey(bucket), topKey(bucket)];
  }

  /** Counts a classic message (every delivery counts). */
  async applyClassic(name: string, likes: number): Promise<ApplyResult> {
    const [count, bucketTotal] = await this.#run("classic", this.#keys(name), [
      name,
      String(likes),
    ]);
    await this.#replicated();
    return {
      status: "applied",
      client: count!,
      total: this.#seen(bucketOf(name), bucketTotal!),
      receipt: NO_RECEIPT,
    };
  }

  /** Counts a keyed message once per (client, seq); seqs must come in order. */
  async applyKeyed(name: string, seq: number, likes: number): Promise<ApplyResult> {
    const reply = await this.#run("keyed", this.#keys(name), [name, String(seq), String(likes)]);
    switch (reply[0]) {
      case 0:
      case 1:
        await this.#replicated(); // a duplicate's original may not have reached them yet
        return {
          status: reply[0] === 0 ? "applied" : "duplicate",
          client: reply[1]!,
          total: this.#seen(bucketOf(name), reply[2]!),
          receipt: NO_RECEIPT,
        };
      case 2:
        return { status: "gap", expected: reply[1]! };
      default:
        return { status: "conflict", likes: reply[1]! };
    }
  }

  /**
   * Always settled: a result arrives only once Redis has applied the like (and, with
   * `appendfsync always`, written it to its journal).
   */
  settled(_receipt: Receipt): undefined {
    return undefined;
  }

  /** All likes counted: the sum of the buckets' totals (one GET per bucket, pipelined). */
  async total(): Promise<number> {
    const parts = await Promise.all(
      Array.from({ length: BUCKETS }, (_, b) => this.#client.get(totalKey(b))),
    );
    parts.forEach((part, b) => this.#seen(b, Number(part ?? 0)));
    return parts.reduce((sum: number, part) => sum + Number(part ?? 0), 0);
  }

  /** The counts of the named clients that Redis knows. */
  async countsOf(names: readonly string[]): Promise<Record<string, number>> {
    const counts = await Promise.all(names.map((n) => this.#client.hGet(clientKey(n), "count")));
    const known: Record<string, number> = {};
    names.forEach((name, i) => {
      if (counts[i] !== null && counts[i] !== undefined) known[name] = Number(counts[i]);
    });
    return known;
  }

  /** The `limit` clients with the most likes (the buckets' tops, merged). */
  async topClients(limit: number): Promise<Record<string, number>> {
    const tops = await Promise.all(
      Array.from(
        { length: BUCKETS },
        (_, b) => this.#client.zRangeWithScores(topKey(b), 0, limit - 1, { REV: true }),
      ),
    );
    const all = tops.flat().sort((a, b) => b.score - a.score).slice(0, limit);
    return Object.fromEntries(all.map((entry) => [entry.value, entry.score]));
  }

  /** How many clients Redis knows. */
  async clientCount(): Promise<number> {
    const sizes = await Promise.all(
      Array.from({ length: BUCKETS }, (_, b) => this.#client.zCard(topKey(b))),
    );
    return sizes.reduce((a, b) => a + b, 0);
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.#client.close();
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
