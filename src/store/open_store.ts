/**
 * The one door to the store: the server (or a node) opens the store here from its
 * configuration, on the thread that owns it, and each thread that answers messages attaches its
 * own view of it here. Whether the counts live in the embedded table (with its journal,
 * snapshots, recovery and data directory, all started and stopped by the embedded store) or in
 * Redis is the store's business; the caller sees a {@linkcode LikesStore}.
 *
 * Everything else a caller of the store needs (its settings' names and limits, the errors it
 * starts with) is exported from here too, so no one reaches into `embedded/` or `redis/`. The
 * Redis client (the npm package) is loaded only when the store is in Redis.
 *
 * @module
 */

import { DataDirError } from "./embedded/data_dir.ts";
import type { LikesTable } from "./embedded/likes_table.ts";
import {
  attachEmbedded,
  type EmbeddedBuffers,
  openEmbedded,
  type OpenEmbeddedOptions,
} from "./embedded/open_embedded.ts";
import type { Recovered } from "./embedded/recovery.ts";
import type { LikesStore } from "./likes_store.ts";
import { type RedisLikesOptions, RedisSettingsRefused } from "./redis/redis_options.ts";
import { RedisSecretError } from "./redis/redis_secrets.ts";

export { DataDirError } from "./embedded/data_dir.ts";
export { FSYNC_ALIASES, FSYNC_MODES, type FsyncMode } from "./embedded/journal_writer.ts";
export { LikesTable, MAX_CLIENTS_LIMIT, MAX_NAME_BYTES } from "./embedded/likes_table.ts";
export type { Recovered } from "./embedded/recovery.ts";
export {
  describeRedis,
  type RedisLikesOptions,
  RedisSettingsRefused,
} from "./redis/redis_options.ts";
export { RedisSecretError } from "./redis/redis_secrets.ts";

export { STORE_DEFAULTS } from "./store_defaults.ts";

/**
 * The Redis store's module, loaded on first use: the Redis client (about 30 MB and 0.2 s to load)
 * is then loaded only by a process that counts in Redis. (A static import or re-export of the
 * module, even of a name that does not need the client, would load it with the program.)
 */
function loadRedisStore(): Promise<typeof import("./redis/redis_likes.ts")> {
  return import("./redis/redis_likes.ts");
}

/**
 * Options for {@linkcode openStore}: the embedded store's (`dataDir`, `fsync`, `maxClients`,
 * `clientTtlMs`, `repair`, where to log, what to call on a failure), or `redis`.
 */
export interface OpenStoreOptions extends OpenEmbeddedOptions {
  /** Count in this Redis instead of the embedded table (`dataDir` is then ignored). */
  readonly redis?: RedisLikesOptions;
}

/** What a thread needs to attach its view of the store: plain data, so it survives `postMessage`. */
export type StoreAttachment =
  | { readonly kind: "embedded"; readonly buffers: EmbeddedBuffers }
  | { readonly kind: "redis"; readonly options: RedisLikesOptions };

/** The open store, on the thread that owns it. */
export interface OpenStore {
  /** To post to each thread that answers messages, for {@linkcode attachStore}. */
  readonly attachment: StoreAttachment;
  /**
   * The embedded table, for its owner's reads (totals, a snapshot, a node's own rows); `null`
   * when the counts live in Redis.
   */
  readonly table: LikesTable | null;
  /** What recovery found (`null` without a data directory, and over Redis). */
  readonly recovered: Recovered | null;
  /** Journal records written and flushes done since start (`null` without a journal). */
  journalStats(): { records: number; flushes: number; segment: number } | null;
  /** After every view is gone: writes the rest of the journal, snapshots, releases the directory. */
  close(): Promise<void>;
}

/**
 * Opens the store: over Redis, reads its secrets and checks its settings once (every view then
 * connects on its own); embedded, locks the data directory, recovers, and starts the journal.
 *
 * @throws {DataDirError} If the data directory cannot be used.
 * @throws {RedisSettingsRefused} If the Redis may evict keys.
 * @throws {RedisSecretError} If its password or CA file cannot be read.
 */
export async function openStore(options: OpenStoreOptions): Promise<OpenStore> {
  if (options.redis) {
    const { prepareRedis } = await loadRedisStore();
    const prepared = await prepareRedis(options.redis, options.fsync);
    if (prepared.warning) options.log.warn(prepared.warning);
    return {
      attachment: { kind: "redis", options: prepared.options },
      table: null,
      recovered: null,
      journalStats: () => null,
      close: () => Promise.resolve(),
    };
  }
  const { redis: _, ...embedded } = options;
  const host = await openEmbedded(embedded);
  return {
    attachment: { kind: "embedded", buffers: host.buffers },
    table: host.table,
    recovered: host.recovered,
    journalStats: () => host.journalStats(),
    close: () => host.close(),
  };
}

/** One thread's view of the store. */
export interface AttachedStore {
  readonly store: LikesStore;
  /** Lets go of what the view holds (its connection to Redis). */
  close(): Promise<void>;
}

/** Attaches this thread's view of a store opened by {@linkcode openStore}. */
export async function attachStore(attachment: StoreAttachment): Promise<AttachedStore> {
  if (attachment.kind === "redis") {
    const { RedisLikes } = await loadRedisStore();
    const redis = await RedisLikes.connect(attachment.options);
    return { store: redis, close: () => redis.close() };
  }
  return { store: attachEmbedded(attachment.buffers).store, close: () => Promise.resolve() };
}

/**
 * Whether `error` is one the store starts with that already says, in one line, what to do
 * (a data directory in use or damaged, Redis settings refused, a secret not readable).
 */
export function isStoreStartError(error: unknown): error is Error {
  return error instanceof DataDirError || error instanceof RedisSettingsRefused ||
    error instanceof RedisSecretError;
}
