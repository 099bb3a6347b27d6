/**
 * The ParentProcess's end-of-run report as data: what `deno task parent --json` prints, and
 * what a launcher (the cluster, the tests) reads back from it. Built and formatted by
 * `src/parent/run_report.ts`.
 *
 * @module
 */

/** What the parent knows about one child at the end. */
export interface ChildOutcome {
  /** `LikesServer<N>`. */
  readonly name: string;
  /** The key the server counts it under (`STATS` clients). */
  readonly clientId: string;
  /** Process id, or `null` if it never started. */
  readonly pid: number | null;
  /** Exit code, or `null` if unknown. */
  readonly exitCode: number | null;
  /** Signal that ended it, if any. */
  readonly signal: string | null;
  /** Likes it generated (from its last progress line). */
  readonly generated: number;
  /** Likes the server acknowledged to it. */
  readonly acknowledged: number;
  /** Likes it sent without getting an answer (classic; not sent again): the server may have them. */
  readonly unanswered: number;
  /** Likes the server counted for it (`STATS`), or `null` if the server could not be asked. */
  readonly counted: number | null;
  /** How long it ran, in ms. */
  readonly runtimeMs: number;
}

/** One row of the report, with its own verdict. */
export interface ReportRow extends ChildOutcome {
  /** Exit 0 and generated = acknowledged = counted. */
  readonly converged: boolean;
}

/** The whole report. */
export interface RunReport {
  readonly runId: string;
  readonly seed: number;
  readonly server: {
    readonly address: string;
    readonly total: number | null;
    readonly error: string | null;
    /** False when the server answered `STATS` with something else: a classic server. */
    readonly hasStats: boolean;
  };
  readonly children: readonly ReportRow[];
  readonly totals: {
    readonly generated: number;
    readonly acknowledged: number;
    readonly unanswered: number;
    readonly counted: number | null;
  };
  readonly converged: boolean;
  readonly verdict: string;
  /** Set when the run was stopped by a signal. */
  readonly interrupted: string | null;
}
