/**
 * The end-of-run convergence report: per LikesServer, likes generated, acknowledged, sent without
 * an answer, and counted by the server, and one verdict. Against a classic server, which has no
 * `STATS`, the counts cannot be read: the report says so, and the verdict rests on the
 * acknowledgements. Pure: built from plain data, formatted as a table or JSON.
 *
 * @module
 */

import type { ChildOutcome, ReportRow, RunReport } from "../protocol/parent_report.ts";

export type { ChildOutcome, ReportRow, RunReport } from "../protocol/parent_report.ts";

/** Inputs of {@linkcode buildReport}. */
export interface ReportInput {
  readonly runId: string;
  readonly seed: number;
  readonly address: string;
  readonly children: readonly ChildOutcome[];
  /** The server's `STATS` total, or `null` if it could not be read. */
  readonly serverTotal: number | null;
  /** Why `STATS` could not be read. */
  readonly serverError: string | null;
  /**
   * False when the server answered but not with `STATS` (a classic server): then the counts are
   * not available, and that is no failure. @default {true}
   */
  readonly serverHasStats?: boolean;
  /** The stop signal, if the run was interrupted. */
  readonly interrupted: string | null;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** What the report says when the counts cannot be read because the server has no `STATS`. */
export const NO_STATS = "counted: not available, the server has no STATS";

function problemsOf(row: ReportRow, hasStats: boolean): string[] {
  const problems: string[] = [];
  if (row.pid === null) problems.push("never started");
  else if (row.exitCode !== 0) {
    problems.push(row.signal ? `ended by ${row.signal}` : `exit ${row.exitCode ?? "unknown"}`);
  }
  if (row.acknowledged !== row.generated) {
    problems.push(`acknowledged ${row.acknowledged} of ${row.generated}`);
  }
  if (row.unanswered > 0) problems.push(`${row.unanswered} likes sent without an answer`);
  if (row.counted === null) {
    if (hasStats) problems.push("count unknown");
  } else if (row.counted !== row.generated) {
    problems.push(`counted ${row.counted} of ${row.generated}`);
  }
  return problems;
}

/**
 * Builds the report and its verdict.
 *
 * @example
 * ```ts
 * import { buildReport } from "./run_report.ts";
 * import assert from "node:assert/strict";
 * const child = { name: "LikesServer0", clientId: "LikesServer0-r", pid: 5, exitCode: 0, signal: null, generated: 9, acknowledged: 9, unanswered: 0, counted: 9, runtimeMs: 1000 };
 * const report = buildReport({ runId: "r", seed: 1, address: "127.0.0.1:4242", children: [child], serverTotal: 9, serverError: null, interrupted: null });
 * assert.equal(report.converged, true);
 * ```
 */
export function buildReport(input: ReportInput): RunReport {
  const hasStats = input.serverHasStats ?? true;
  const children = input.children.map((c) => {
    const row: ReportRow = { ...c, converged: false };
    return { ...row, converged: problemsOf(row, hasStats).length === 0 };
  });
  const sum = (pick: (r: ReportRow) => number) => children.reduce((a, r) => a + pick(r), 0);
  const counted = children.every((r) => r.counted !== null) ? sum((r) => r.counted ?? 0) : null;
  const totals = {
    generated: sum((r) => r.generated),
    acknowledged: sum((r) => r.acknowledged),
    unanswered: sum((r) => r.unanswered),
    counted,
  };
  const converged = input.interrupted === null && children.length > 0 &&
    children.every((r) => r.converged);
  const problems = children.flatMap((r) => {
    const p = problemsOf(r, hasStats);
    return p.length ? [`${r.name} ${p.join(", ")}`] : [];
  });
  if (input.serverError && hasStats) problems.push(`STATS failed: ${input.serverError}`);
  if (children.length === 0) problems.push("no LikesServers ran");
  const listed = `${problems.slice(0, 6).join("; ")}${problems.length > 6 ? "; …" : ""}`;
  const equal = hasStats ? "generated = acknowledged = counted" : "generated = acknowledged";
  const noStats = hasStats ? "" : `; ${NO_STATS}`;
  let verdict: string;
  if (input.interrupted) {
    verdict = `INTERRUPTED by ${input.interrupted}: ` +
      (problems.length === 0
        ? `what the ${plural(children.length, "LikesServer")} sent converged ` +
          `(${equal}, ${totals.generated} likes)`
        : listed) +
      noStats;
  } else if (converged) {
    verdict = `CONVERGED: all ${plural(children.length, "LikesServer")} exited 0 and ${equal} ` +
      `(${totals.generated} likes)${noStats}`;
  } else {
    verdict = `NOT CONVERGED: ${listed}${noStats}`;
  }
  return {
    runId: input.runId,
    seed: input.seed,
    server: {
      address: input.address,
      total: input.serverTotal,
      error: input.serverError,
      hasStats,
    },
    children,
    totals,
    converged,
    verdict,
    interrupted: input.interrupted,
  };
}

function cell(value: number | string | null, missing = "?"): string {
  return value === null ? missing : String(value);
}

/** Formats the report as an aligned text table plus the server total and verdict lines. */
export function formatReport(report: RunReport): string {
  const header = [
    "LikesServer",
    "pid",
    "exit",
    "seconds",
    "generated",
    "acknowledged",
    "no answer",
    "counted",
    "converged",
  ];
  const missing = report.server.hasStats ? "?" : "n/a";
  const rows = report.children.map((r) => [
    r.name,
    cell(r.pid),
    r.signal ?? cell(r.exitCode),
    (r.runtimeMs / 1000).toFixed(1),
    cell(r.generated),
    cell(r.acknowledged),
    cell(r.unanswered),
    cell(r.counted, missing),
    r.converged ? "yes" : "NO",
  ]);
  const total = [
    "total",
    "",
    "",
    "",
    cell(report.totals.generated),
    cell(report.totals.acknowledged),
    cell(report.totals.unanswered),
    cell(report.totals.counted, missing),
    "",
  ];
  const table = [header, ...rows, total];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
      .trimEnd();
  const server = !report.server.hasStats
    ? `server ${report.server.address}: ${NO_STATS} (${report.server.error ?? "no reply"})`
    : report.server.total === null
    ? `server ${report.server.address}: STATS failed (${report.server.error ?? "unknown"})`
    : `server ${report.server.address}: total ${report.server.total} likes (all clients, from STATS)`;
  return [
    ...table.map(line),
    "",
    server,
    `run ${report.runId}, seed ${report.seed}`,
    `verdict: ${report.verdict}`,
    "",
  ].join("\n");
}
