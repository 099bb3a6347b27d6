/**
 * What high availability costs the likes over Redis: each case over replicas (`WAIT 1`, Sentinel,
 * both) beside the plain store (one Redis, no replicas) and Redis alone, for the same load in the
 * same run. Pure: results in, lines out.
 *
 * @module
 */

import { serverLabel } from "./cases.ts";
import { thousands } from "../base/number_format.ts";
import { type CaseResult, ratioToRedis } from "./report.ts";

/**
 * One line per case over a highly available Redis: its messages/s and p99, its ratio to the
 * plain store and to Redis alone (`appendfsync always`).
 *
 * @example
 * ```ts
 * import { formatRedisHaCost } from "./redis_ha_cost.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatRedisHaCost([]), "");
 * ```
 */
export function formatRedisHaCost(results: readonly CaseResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const server = r.case.server;
    if (server.kind !== "likes-redis" || !server.ha || !r.messagesPerSecond) continue;
    const plain = results.find((o) =>
      o.case.server.kind === "likes-redis" && !o.case.server.ha &&
      o.case.server.primaries === server.primaries && o.case.mode === r.case.mode &&
      o.case.clients === r.case.clients && o.case.depth === r.case.depth &&
      o.case.driver === r.case.driver
    );
    const toPlain = plain?.messagesPerSecond
      ? `${(r.messagesPerSecond / plain.messagesPerSecond).toFixed(2)}× the plain store`
      : "no plain store to compare";
    const toRedis = ratioToRedis(r, results);
    const p99 = r.latency ? `, p99 ${r.latency.p99.toFixed(2)} ms` : "";
    lines.push(
      `  ${serverLabel(server)} (${r.case.load}): ${
        thousands(r.messagesPerSecond)
      } msg/s, ${toPlain}${toRedis === null ? "" : `, ${toRedis.toFixed(2)}× Redis alone`}${p99}`,
    );
  }
  if (lines.length === 0) return "";
  return `Redis high availability (a master, two replicas, three Sentinels, all appendfsync always, on this machine) vs the plain store (one Redis), this run:\n${
    lines.join("\n")
  }\n`;
}
