/**
 * Made-up results of the benchmark's cases, for the tests of what reads them (the report, the
 * goals, the telemetry cost).
 *
 * @module
 */

import { benchCases } from "./cases.ts";
import type { CaseResult } from "./report.ts";

const CASES = benchCases({ quick: false, redis: true, reference: true });

/**
 * A result of the case `id` (from the full set) at `messagesPerSecond`, with p99 `p99` ms;
 * `totalOk: false` makes the server's total one short of the likes acknowledged.
 *
 * @throws {RangeError} If the full set has no case `id`.
 */
export function caseResult(
  id: string,
  messagesPerSecond: number,
  options: { readonly p99?: number; readonly totalOk?: boolean; readonly peakRss?: number } = {},
): CaseResult {
  const found = CASES.find((c) => c.id === id);
  if (!found) throw new RangeError(`Cannot make a result as there is no case ${id}`);
  const { p99 = 0.8, totalOk = true, peakRss = null } = options;
  return {
    case: found,
    messagesPerSecond,
    likesPerSecond: messagesPerSecond * 21,
    latency: { count: 10, mean: 1, p50: 0.5, p99, p999: 3, max: 4 },
    peakRss,
    acknowledgedLikes: 10,
    serverTotal: totalOk ? 10 : 9,
    totalOk,
    failures: 0,
    errors: 0,
    note: null,
    rssPerConnection: null,
  };
}
