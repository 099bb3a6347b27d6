/**
 * The live view's data: snapshots of a run in, the state a page draws out — totals generated,
 * acknowledged and counted over time, per-LikesServer rows, the gap, and when the three last met.
 * Pure, so it is tested directly.
 *
 * @module
 */

import type { RunSnapshot } from "./run_snapshot.ts";

/** One LikesServer row on the page. */
export interface ViewRow {
  readonly name: string;
  readonly pid: number | null;
  /** `waiting`, `alive`, or `exited <code>`. */
  readonly status: string;
  readonly generated: number;
  readonly acknowledged: number;
  /** What the server counted for it (`null` until the server answered). */
  readonly counted: number | null;
  /** Generated, not yet acknowledged, still to be sent. */
  readonly pending: number;
  /** Sent without an answer and not sent again (classic): the server may have them. */
  readonly unanswered: number;
}

/** The time series, one point per snapshot: seconds since the start and the three totals. */
export interface ViewSeries {
  readonly t: number[];
  readonly generated: number[];
  readonly acknowledged: number[];
  readonly counted: (number | null)[];
  /** An overlay run's replicas of the total, by node (empty otherwise). */
  readonly replicas: Record<string, (number | null)[]>;
  /** Whether the server answered at each point (the chart shades where it did not). */
  readonly up: boolean[];
}

/** One overlay node's replica of the total on the page. */
export interface ViewReplica {
  readonly node: string;
  /** `null`: the node did not answer. */
  readonly total: number | null;
  /** Its neighbours' health as its heartbeats see it ("" when unknown). */
  readonly neighbours: string;
}

/** Everything the page shows. */
export interface ViewState {
  readonly runId: string;
  readonly seed: number;
  readonly serverAddress: string;
  readonly serverUp: boolean;
  /** Seconds since the run started. */
  readonly elapsed: number;
  readonly generated: number;
  readonly acknowledged: number;
  /** Counted by the server for this run's LikesServers (`null` until it answered). */
  readonly counted: number | null;
  /** Generated minus counted: the likes the primary has not caught up with. */
  readonly gap: number | null;
  /** Generated = acknowledged = counted right now. */
  readonly convergedNow: boolean;
  /** Seconds since they were last equal (0 when equal now, `null` if never). */
  readonly sinceConverged: number | null;
  readonly rows: readonly ViewRow[];
  /** An overlay run's replicas, by node (empty otherwise). */
  readonly replicas: readonly ViewReplica[];
  readonly finished: boolean;
  readonly verdict: string | null;
  readonly converged: boolean | null;
}

/** Options for {@linkcode ViewModel}. */
export interface ViewModelOptions {
  /** Oldest points are dropped beyond this many. @default {14400} */
  readonly maxPoints?: number;
}

/** Accumulates snapshots into the view's state and series. */
export class ViewModel {
  readonly #maxPoints: number;
  readonly #series: ViewSeries = {
    t: [],
    generated: [],
    acknowledged: [],
    counted: [],
    replicas: {},
    up: [],
  };
  #state: ViewState | null = null;
  #lastConvergedAt: number | null = null;

  /** Starts empty. */
  constructor(options: ViewModelOptions = {}) {
    this.#maxPoints = options.maxPoints ?? 14400;
  }

  /** Takes in a snapshot: updates the state and appends a point to the series. */
  update(snapshot: RunSnapshot): void {
    const rows = snapshot.children.map((c): ViewRow => ({
      name: c.name,
      pid: c.pid,
      status: c.state === "exited" ? `exited ${c.exitCode ?? "?"}` : c.state,
      generated: c.generated,
      acknowledged: c.acknowledged,
      counted: snapshot.serverTotal === null ? null : snapshot.serverClients[c.clientId] ?? 0,
      pending: c.generated - c.acknowledged - c.unanswered,
      unanswered: c.unanswered,
    }));
    const generated = rows.reduce((n, r) => n + r.generated, 0);
    const acknowledged = rows.reduce((n, r) => n + r.acknowledged, 0);
    const replicas = Object.entries(snapshot.replicas ?? {}).sort(([a], [b]) => a < b ? -1 : 1)
      .map(([node, total]): ViewReplica => ({
        node,
        total,
        neighbours: snapshot.neighbours?.[node] ?? "",
      }));
    // In an overlay run the server figures are every owner's together.
    const counted = snapshot.serverTotal === null
      ? null
      : replicas.length > 0
      ? snapshot.serverTotal
      : rows.reduce((n, r) => n + (r.counted ?? 0), 0);
    const convergedNow = counted !== null &&
      (replicas.length > 0
        ? replicas.every((r) => r.total === counted)
        : generated === acknowledged && acknowledged === counted);
    if (convergedNow) this.#lastConvergedAt = snapshot.at;
    const elapsed = (snapshot.at - snapshot.startedAt) / 1000;
    this.#state = {
      runId: snapshot.runId,
      seed: snapshot.seed,
      serverAddress: snapshot.serverAddress,
      serverUp: snapshot.serverUp,
      elapsed,
      generated,
      acknowledged,
      counted,
      gap: counted === null ? null : generated - counted,
      convergedNow,
      sinceConverged: this.#lastConvergedAt === null
        ? null
        : (snapshot.at - this.#lastConvergedAt) / 1000,
      rows,
      replicas,
      finished: snapshot.verdict !== null,
      verdict: snapshot.verdict,
      converged: snapshot.converged,
    };
    const s = this.#series;
    s.t.push(Math.round(elapsed * 1000) / 1000);
    s.generated.push(generated);
    s.acknowledged.push(acknowledged);
    s.counted.push(counted);
    s.up.push(snapshot.serverUp);
    for (const { node, total } of replicas) {
      (s.replicas[node] ??= Array(s.t.length - 1).fill(null)).push(total);
    }
    if (s.t.length > this.#maxPoints) {
      for (const list of [s.t, s.generated, s.acknowledged, s.counted, s.up]) list.shift();
      for (const list of Object.values(s.replicas)) list.shift();
    }
  }

  /** The current state, or `null` before the first snapshot. */
  state(): ViewState | null {
    return this.#state;
  }

  /** The whole series so far. */
  series(): ViewSeries {
    return this.#series;
  }
}
