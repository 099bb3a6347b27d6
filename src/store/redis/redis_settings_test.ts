import assert from "node:assert/strict";
import { type AckDurability, judgeRedisSettings, type RedisSettings } from "./redis_settings.ts";

const WHERE = "Redis at h:1";
const DURABLE = { "maxmemory-policy": "noeviction", appendonly: "yes", appendfsync: "always" };

Deno.test("judgeRedisSettings() refuses every allkeys-* policy and no other", () => {
  for (const policy of ["allkeys-lru", "allkeys-lfu", "allkeys-random"]) {
    const verdict = judgeRedisSettings(WHERE, { ...DURABLE, "maxmemory-policy": policy }, "never");
    assert.match(
      verdict.refusal!,
      new RegExp(`^Redis at h:1 may evict keys \\(maxmemory-policy ${policy}\\)`),
    );
  }
  for (const policy of ["noeviction", "volatile-lru", "volatile-ttl", undefined]) {
    const settings: RedisSettings = { ...DURABLE, "maxmemory-policy": policy! };
    if (policy === undefined) delete (settings as Record<string, string>)["maxmemory-policy"];
    assert.equal(judgeRedisSettings(WHERE, settings, "always").refusal, null, String(policy));
  }
});

Deno.test("judgeRedisSettings() warns when Redis persists less than --fsync asks, and only then", () => {
  const cases: [RedisSettings, AckDurability, RegExp | null][] = [
    [DURABLE, "always", null],
    [
      { ...DURABLE, appendfsync: "everysec" },
      "always",
      /appendfsync everysec: a power cut loses up to about a second/,
    ],
    [{ ...DURABLE, appendfsync: "everysec" }, "interval", null],
    [
      { ...DURABLE, appendfsync: "no" },
      "interval",
      /appendfsync no: a power cut loses what the OS had not written.*everysec \(or always\)/,
    ],
    [
      { appendonly: "no", save: "3600 1" },
      "always",
      /appendonly no \(snapshots only, save "3600 1"\): a Redis crash loses the likes since its last snapshot, though --fsync always/,
    ],
    [
      { appendonly: "no", save: "" },
      "interval",
      /no snapshots \(save ""\): a Redis restart loses every like/,
    ],
    [{ appendonly: "no", save: "" }, "never", null],
  ];
  for (const [settings, asked, warning] of cases) {
    const verdict = judgeRedisSettings(WHERE, settings, asked);
    if (warning === null) assert.equal(verdict.warning, null, JSON.stringify(settings));
    else {
      assert.match(verdict.warning!, warning);
      assert.match(
        verdict.warning!,
        /^Redis at h:1 keeps likes with .* or start with --fsync never to accept it$/,
      );
    }
  }
});
