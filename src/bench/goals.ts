/**
 * The throughput goals the benchmark checks in every run (issue 10's targets): each a ratio to
 * Redis on the same load, driver and run, sometimes with a latency bound, judged with the C load
 * generator `likesload` when it ran (it loads the machine less than our Deno driver, so it sees
 * more of the server) and with the Deno driver otherwise. Pure: results in, a short report out.
 *
 * @module
 */

import { type CaseResult, ratioToRedis } from "./report.ts";

/** One goal. */
export interface Goal {
  /** What is measured, in words. */
  readonly label: string;
  /** The case whose ratio to its Redis twin is judged (its `likesload` twin when that ran). */
  readonly caseId: string;
  /** The least ratio that meets the goal. */
  readonly minRatio: number;
  /** The largest p99 that meets it, in ms, if it has a latency bound. */
  readonly maxP99Ms?: number;
}

/** The goals, against Redis `appendfsync always` (durable) or no persistence. */
export const GOALS: readonly Goal[] = [
  {
    label: "durable, persistent 10 clients",
    caseId: "persistent-10/likes-always/deno",
    minRatio: 1.0,
    maxP99Ms: 1.0,
  },
  {
    label: "durable, persistent 100 clients",
    caseId: "persistent-100/likes-always/deno",
    minRatio: 0.9,
  },
  { label: "durable, pipelined 16 × 10", caseId: "pipeline16-10/likes-always/deno", minRatio: 1.5 },
  {
    label: "no durability, persistent 100 clients",
    caseId: "persistent-100/likes-never/deno",
    minRatio: 0.75,
  },
];

/**
 * One line per goal: the ratio (and p99) measured, the target, and whether it was met; then
 * whether every case's total equalled the likes acknowledged.
 *
 * @example
 * ```ts
 * import { formatGoals } from "./goals.ts";
 * import assert from "node:assert/strict";
 * assert.match(formatGoals([]), /durable, persistent 10 clients: not measured in this run/);
 * ```
 */
export function formatGoals(results: readonly CaseResult[]): string {
  const lines = [
    "goals (ratio to Redis on the same load and client, in this run; measured with likesload where",
    "it ran, else the Deno driver; reported, not enforced: the exit code is 1 only for a wrong total):",
  ];
  for (const goal of GOALS) {
    const measured = judgedBy(goal, results);
    if (!measured) {
      lines.push(`  ${goal.label}: not measured in this run`);
      continue;
    }
    const { result, ratio, client } = measured;
    const p99 = result.latency?.p99 ?? null;
    const ratioMet = ratio >= goal.minRatio;
    const p99Met = goal.maxP99Ms === undefined || (p99 !== null && p99 <= goal.maxP99Ms);
    lines.push(
      `  ${goal.label} (${client}): ${ratio.toFixed(2)}× (target ≥ ${goal.minRatio.toFixed(2)}×)${
        goal.maxP99Ms === undefined
          ? ""
          : `, p99 ${p99 === null ? "?" : p99.toFixed(2)} ms (target ≤ ${goal.maxP99Ms} ms)`
      }: ${ratioMet && p99Met ? "met" : "NOT met"}`,
    );
  }
  const wrong = results.filter((r) => r.rssPerConnection === null && !r.totalOk);
  lines.push(
    `  every case: server total = likes acknowledged: ${
      wrong.length === 0 ? "yes" : `NO (${wrong.map((r) => r.case.id).join(", ")})`
    }`,
  );
  return `${lines.join("\n")}\n`;
}

/** The goal's case and ratio, with likesload when it and its Redis twin ran, else the Deno driver. */
function judgedBy(
  goal: Goal,
  results: readonly CaseResult[],
): { result: CaseResult; ratio: number; client: string } | null {
  for (const driver of ["likesload", "deno"] as const) {
    const id = goal.caseId.replace(/\/deno$/, `/${driver}`);
    const result = results.find((r) => r.case.id === id);
    const ratio = result ? ratioToRedis(result, results) : null;
    if (result && ratio !== null) {
      return { result, ratio, client: driver === "deno" ? "Deno driver" : "likesload" };
    }
  }
  return null;
}
