/**
 * Where Redis is and how it is asked (`RedisLikesOptions`), put into words for log lines, and the
 * refusal of settings that would lose likes. Nothing here loads the Redis client, so the store's
 * door can name these without loading it for a server that counts in the embedded table.
 *
 * @module
 */

import type { RedisPassword, RedisTls } from "./redis_secrets.ts";

/** Where Redis is. */
export interface RedisLikesOptions {
  readonly hostname: string;
  readonly port: number;
  /** A Redis Cluster, reached through this node (the others are found from it). @default {false} */
  readonly cluster?: boolean;
  /**
   * The master these Sentinels name (`hostname` and `port` are then the first Sentinel's),
   * followed through failovers. @default {none: Redis at hostname:port}
   */
  readonly sentinel?: {
    readonly master: string;
    readonly nodes: readonly { readonly hostname: string; readonly port: number }[];
  };
  /**
   * Acknowledge a like only once `WAIT` says `replicas` replicas have it, within `timeoutMs`;
   * fewer in time is an indefinite error (the master has it, a failover may lose it). Not with
   * a cluster. @default {none: acknowledged once the master has it}
   */
  readonly wait?: { readonly replicas: number; readonly timeoutMs: number };
  /** The ACL user (`AUTH user password`). @default {the default user} */
  readonly username?: string;
  /**
   * The password (`AUTH`) of the Redis servers (with Sentinel: of the master and replicas; the
   * Sentinels are asked without). @default {none}
   */
  readonly password?: RedisPassword;
  /** Connect over TLS (one server only). @default {none: plain TCP} */
  readonly tls?: RedisTls;
}

/**
 * Where the counts are, in words for a log line.
 *
 * @example
 * ```ts
 * import { describeRedis } from "./redis_options.ts";
 * import assert from "node:assert/strict";
 * assert.equal(describeRedis({ hostname: "h", port: 6379 }), "Redis at h:6379");
 * assert.equal(
 *   describeRedis({
 *     hostname: "s",
 *     port: 26379,
 *     sentinel: { master: "likes", nodes: [{ hostname: "s", port: 26379 }] },
 *     wait: { replicas: 1, timeoutMs: 1000 },
 *   }),
 *   "Redis master likes of the Sentinels at s:26379, each like on 1 replica(s) (WAIT, 1000 ms)",
 * );
 * ```
 */
export function describeRedis(options: RedisLikesOptions): string {
  const where = options.sentinel
    ? `Redis master ${options.sentinel.master} of the Sentinels at ${
      options.sentinel.nodes.map((n) => `${n.hostname}:${n.port}`).join(",")
    }`
    : `Redis${options.cluster ? " Cluster" : ""} at ${options.hostname}:${options.port}`;
  const how = [
    ...(options.tls ? ["over TLS"] : []),
    ...(options.username !== undefined ? [`as user ${options.username}`] : []),
  ].map((words) => ` ${words}`).join("");
  const wait = options.wait
    ? `, each like on ${options.wait.replicas} replica(s) (WAIT, ${options.wait.timeoutMs} ms)`
    : "";
  return `${where}${how}${wait}`;
}

/** A Redis whose settings would lose or double-count likes: the message says what to change. */
export class RedisSettingsRefused extends Error {
  override name = "RedisSettingsRefused";
}
