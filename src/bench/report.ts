/**
 * The benchmark's results and their table. Pure formatting.
 *
 * @module
 */

import { type BenchCase, redisTwin, serverLabel } from "./cases.ts";
import type { LatencySummary } from "./latency.ts";
import { thousands } from "../base/number_format.ts";

/** What one case measured. */
export interface CaseResult {
  readonly case: BenchCase;
  readonly messagesPerSecond: number | null;
  readonly likesPerSecond: number | null;
  readonly latency: LatencySummary | null;
  /** Highest resident memory seen while the case ran, in bytes. */
  readonly peakRss: number | null;
  /** Likes the load generator saw acknowledged. */
  readonly acknowledgedLikes: number;
  /** What the server said it counted. */
  readonly serverTotal: number | null;
  /** Server total = acknowledged likes. */
  readonly totalOk: boolean;
  readonly failures: number;
  readonly errors: number;
  readonly note: string | null;
  /** For idle cases: resident memory per open connection, in bytes. */
  readonly rssPerConnection: number | null;
}

const ms = (n: number) => (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));
const mb = (bytes: number) => (bytes / 1048576).toFixed(1);

/** Our throughput over Redis's for the same load, if both ran. */
export function ratioToRedis(result: CaseResult, all: readonly CaseResult[]): number | null {
  const twin = redisTwin(result.case, all.map((r) => r.case));
  const other = twin && all.find((r) => r.case === twin);
  if (!other || !result.messagesPerSecond || !other.messagesPerSecond) return null;
  return result.messagesPerSecond / other.messagesPerSecond;
}

/**
 * Formats the results as an aligned table (one row per case) with a ratio to Redis where Redis
 * ran the same load.
 */
export function formatResults(results: readonly CaseResult[]): string {
  const header = [
    "load",
    "server",
    "driver",
    "msg/s",
    "likes/s",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
    "max ms",
    "peak RSS MB",
    "total = acked",
    "vs Redis",
  ];
  const rows = results.map((r) => {
    const ratio = ratioToRedis(r, results);
    const idle = r.rssPerConnection !== null;
    return [
      r.case.load,
      serverLabel(r.case.server),
      r.case.driver,
      idle || r.messagesPerSecond === null ? "" : thousands(r.messagesPerSecond),
      idle || r.likesPerSecond === null ? "" : thousands(r.likesPerSecond),
      r.latency ? ms(r.latency.p50) : "",
      r.latency ? ms(r.latency.p99) : "",
      r.latency ? ms(r.latency.p999) : "",
      r.latency ? ms(r.latency.max) : "",
      r.peakRss === null ? "" : mb(r.peakRss),
      idle
        ? `${(r.rssPerConnection! / 1024).toFixed(1)} KB/conn`
        : r.serverTotal === null
        ? "(counts none)"
        : r.totalOk
        ? "yes"
        : "NO",
      ratio === null ? "" : `${ratio.toFixed(2)}×`,
    ];
  });
  const table = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  const notes = results.filter((r) => r.note).map((r) =>
    `note: ${r.case.load} / ${serverLabel(r.case.server)}: ${r.note}`
  );
  return [...table.map(line), ...(notes.length ? ["", ...notes] : []), ""].join("\n");
}
