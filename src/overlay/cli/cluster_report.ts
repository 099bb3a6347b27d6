/**
 * The cluster launcher's final report: per node, the likes its LikesServers generated and got
 * acknowledged, what its PrimaryLikesServer counted, and its replica of the grand total; the
 * replicas' convergence time and one verdict. Pure: built from plain data, printed as a table
 * or JSON.
 *
 * @module
 */

/** One node at the end of the run. */
export interface NodeOutcome {
  readonly id: string;
  /** False for a node without likes (the portal). */
  readonly holdsLikes: boolean;
  readonly likesServers: number;
  readonly generated: number;
  readonly acknowledged: number;
  /** What its PrimaryLikesServer counted (`null`: no likes, or it did not answer). */
  readonly counted: number | null;
  /** Its replica of the grand total (`null`: it did not answer). */
  readonly replicaTotal: number | null;
}

/** One query at the portal while the likes ran. */
export interface QuerySample {
  /** Seconds since the likes started. */
  readonly t: number;
  readonly total: number;
  readonly answered: readonly string[];
  readonly missing: readonly string[];
}

/** The whole report. */
export interface ClusterReport {
  readonly dir: string;
  /** The portal's answers to `total` during the run. */
  readonly queries: readonly QuerySample[];
  /** What the fault drill did, in order (`t=1.0s SIGKILL D`). */
  readonly events: readonly string[];
  readonly nodes: readonly NodeOutcome[];
  readonly generated: number;
  /**
   * From the last like counted to every replica holding every count, in ms (`null`: never), as
   * seen by polling every node's `stats` every 50 ms (so within about 50 ms).
   */
  readonly convergenceMs: number | null;
  readonly converged: boolean;
  readonly verdict: string;
}

/** Builds the report and its verdict from what the run saw. */
export function buildClusterReport(
  dir: string,
  nodes: readonly NodeOutcome[],
  convergenceMs: number | null,
  during: { readonly queries?: readonly QuerySample[]; readonly events?: readonly string[] } = {},
): ClusterReport {
  const generated = nodes.reduce((sum, n) => sum + n.generated, 0);
  const problems: string[] = [];
  for (const node of nodes) {
    if (node.holdsLikes && node.acknowledged !== node.generated) {
      problems.push(`${node.id}: ${node.generated - node.acknowledged} likes not acknowledged`);
    }
    if (node.holdsLikes && node.counted !== node.generated) {
      problems.push(`${node.id} counted ${node.counted ?? "nothing"}, not ${node.generated}`);
    }
    if (node.replicaTotal !== generated) {
      problems.push(`${node.id}'s replica holds ${node.replicaTotal ?? "nothing"}`);
    }
  }
  const converged = problems.length === 0 && convergenceMs !== null;
  return {
    dir,
    queries: during.queries ?? [],
    events: during.events ?? [],
    nodes,
    generated,
    convergenceMs,
    converged,
    verdict: converged
      ? `CONVERGED: every node counted what its LikesServers generated, and every replica holds ${generated}`
      : `NOT CONVERGED: ${
        problems.length > 0 ? problems.join("; ") : "the replicas did not settle in time"
      }`,
  };
}

/**
 * The report as a table.
 *
 * @example
 * ```ts
 * import { buildClusterReport, formatClusterReport } from "./cluster_report.ts";
 * import assert from "node:assert/strict";
 * const report = buildClusterReport("/tmp/x", [
 *   { id: "A", holdsLikes: false, likesServers: 0, generated: 0, acknowledged: 0, counted: null, replicaTotal: 7 },
 *   { id: "B", holdsLikes: true, likesServers: 1, generated: 7, acknowledged: 7, counted: 7, replicaTotal: 7 },
 * ], 12);
 * assert.match(formatClusterReport(report), /^B +1 +7 +7 +7 +7$/m);
 * assert.match(formatClusterReport(report), /replicas converged 12 ms after the last like was counted/);
 * ```
 */
export function formatClusterReport(report: ClusterReport): string {
  const head = ["node", "LikesServers", "generated", "acknowledged", "counted", "replica total"];
  const dash = "-";
  const rows = report.nodes.map((n) => [
    n.id,
    n.holdsLikes ? String(n.likesServers) : dash,
    n.holdsLikes ? String(n.generated) : dash,
    n.holdsLikes ? String(n.acknowledged) : dash,
    n.counted === null ? dash : String(n.counted),
    n.replicaTotal === null ? "down" : String(n.replicaTotal),
  ]);
  const sum = (pick: (n: NodeOutcome) => number | null) =>
    String(report.nodes.reduce((s, n) => s + (n.holdsLikes ? pick(n) ?? 0 : 0), 0));
  rows.push([
    "all",
    sum((n) => n.likesServers),
    String(report.generated),
    sum((n) => n.acknowledged),
    sum((n) => n.counted),
    "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join("  ")
      .trimEnd();
  return [
    line(head),
    ...rows.map(line),
    "",
    report.convergenceMs === null
      ? "replicas did not converge"
      : `replicas converged ${report.convergenceMs} ms after the last like was counted (seen by polling every node every 50 ms)`,
    report.verdict,
    `logs: ${report.dir}/<node>/{node.log,PrimaryLikesLog,ParentProcessStatus,LikesServer*}`,
    "",
  ].join("\n");
}
