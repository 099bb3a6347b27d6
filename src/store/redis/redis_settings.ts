/**
 * What a Redis's own settings mean for the likes kept in it, checked once when a server starts:
 * an eviction policy that may drop keys is refused (an evicted client hash forgets its last
 * sequence number, so its resent likes would count twice), and persistence weaker than the ACKs
 * the server was asked for (`--fsync`) is warned about in one line. Pure: the settings are read by
 * the store (`CONFIG GET`) and passed in.
 *
 * @module
 */

/** How durable an ACK was asked to be: the server's `--fsync`. */
export type AckDurability = "always" | "interval" | "never";

/** The `CONFIG GET` settings this check reads. */
export const CHECKED_SETTINGS = [
  "maxmemory-policy",
  "appendonly",
  "appendfsync",
  "save",
] as const;

/** What Redis answered for {@linkcode CHECKED_SETTINGS} (a setting it did not name is absent). */
export type RedisSettings = Readonly<Partial<Record<typeof CHECKED_SETTINGS[number], string>>>;

/** The verdict: a reason to refuse to start, or a line to warn with, or neither. */
export interface SettingsVerdict {
  readonly refusal: string | null;
  readonly warning: string | null;
}

/** How durable Redis makes a write before it answers, on the scale of {@linkcode AckDurability}. */
function persistence(settings: RedisSettings): { rank: number; words: string } {
  if (settings.appendonly !== "yes") {
    const save = settings.save ?? "";
    return {
      rank: 0,
      words: save.trim() === ""
        ? 'appendonly no and no snapshots (save ""): a Redis restart loses every like'
        : `appendonly no (snapshots only, save "${save}"): a Redis crash loses the likes since its last snapshot`,
    };
  }
  switch (settings.appendfsync) {
    case "always":
      return { rank: 2, words: "appendfsync always" };
    case "everysec":
      return {
        rank: 1,
        words: "appendfsync everysec: a power cut loses up to about a second of likes",
      };
    default:
      return {
        rank: 0,
        words: `appendfsync ${
          settings.appendfsync ?? "unknown"
        }: a power cut loses what the OS had not written`,
      };
  }
}

const RANK: Readonly<Record<AckDurability, number>> = { never: 0, interval: 1, always: 2 };

/**
 * Judges a Redis's settings against the durability asked for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { judgeRedisSettings } from "./redis_settings.ts";
 * const safe = { "maxmemory-policy": "noeviction", appendonly: "yes", appendfsync: "always" };
 * assert.deepEqual(judgeRedisSettings("Redis at h:1", safe, "always"), {
 *   refusal: null,
 *   warning: null,
 * });
 * const lru = { ...safe, "maxmemory-policy": "allkeys-lru" };
 * assert.match(judgeRedisSettings("Redis at h:1", lru, "never").refusal!, /allkeys-lru/);
 * ```
 */
export function judgeRedisSettings(
  where: string,
  settings: RedisSettings,
  asked: AckDurability,
): SettingsVerdict {
  const policy = settings["maxmemory-policy"];
  // volatile-* policies evict only keys with a TTL, and the likes' keys have none.
  const refusal = policy?.startsWith("allkeys-")
    ? `${where} may evict keys (maxmemory-policy ${policy}): a client whose hash it evicts forgets its last sequence number, and its resent likes would count twice; set maxmemory-policy noeviction (at its memory limit Redis then refuses writes, and likes get ERR store unavailable)`
    : null;
  const kept = persistence(settings);
  const warning = kept.rank < RANK[asked]
    ? `${where} keeps likes with ${kept.words}, though --fsync ${asked} asks that an ACK be on disk; set appendonly yes and appendfsync ${
      asked === "always" ? "always" : "everysec (or always)"
    } in Redis, or start with --fsync never to accept it`
    : null;
  return { refusal, warning };
}
