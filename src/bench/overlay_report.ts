/**
 * The overlay benchmark's table and its goals (issue 18): 1M rows through A in under 5 s, under
 * 1 KB/s of gossip per link at rest, one like in every replica in under 100 ms. Pure: results
 * in, text out.
 *
 * @module
 */

/** One size's figures from `overlay_bench.ts`. */
export interface OverlayResult {
  /** Keys in all (a quarter on each of B–E). */
  readonly keys: number;
  /** Feeding every key, one classic like each, until the last ACK, in ms. */
  readonly feedMs: number;
  /**
   * From the last ACK until every replica held every key, in ms (polled every 20 ms, or as long
   * as a poll takes when longer).
   */
  readonly convergeMs: number;
  /** Each `get_all` through A, in ms. */
  readonly getAllMs: readonly number[];
  /** `rows` frames the last `get_all` came in. */
  readonly frames: number;
  /** Gossip bytes per link (both directions together) and second, at rest. */
  readonly restBytesPerLinkSecond: number;
  /** The same while one like a second is counted. */
  readonly likeBytesPerLinkSecond: number;
  /** For each of those likes: from its ACK until every replica held it, in ms. */
  readonly reachMs: readonly number[];
  /** Each node's peak resident memory, in bytes. */
  readonly peakRss: Readonly<Record<string, number>>;
  /** What went wrong, if anything (an incomplete answer). */
  readonly note: string | null;
}

/** The goals, as numbers. */
export const OVERLAY_GOALS = {
  getAllMillionMs: 5000,
  restBytesPerLinkSecond: 1000,
  reachMs: 100,
} as const;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

function table(head: readonly string[], rows: readonly string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
      .trimEnd();
  return [line(head), ...rows.map(line)].join("\n");
}

/**
 * The results as a table, then one line per goal saying met or missed, with the figure.
 *
 * @example
 * ```ts
 * import { formatOverlayResults } from "./overlay_report.ts";
 * import assert from "node:assert/strict";
 * const text = formatOverlayResults([{
 *   keys: 1_000_000, feedMs: 20_000, convergeMs: 3000, getAllMs: [3100, 2900, 3000], frames: 200,
 *   restBytesPerLinkSecond: 700, likeBytesPerLinkSecond: 900, reachMs: [60, 70, 80],
 *   peakRss: { A: 300 * 2 ** 20 }, note: null,
 * }]);
 * assert.match(text, /1M rows through A in under 5 s: met \(3\.00 s/);
 * ```
 */
export function formatOverlayResults(results: readonly OverlayResult[]): string {
  const head = [
    "keys",
    "feed s",
    "converged s",
    "get_all s",
    "rows/s",
    "frames",
    "rest B/s/link",
    "1 like/s B/s/link",
    "like→all ms (median, max)",
    "peak RSS MiB (A B C D E)",
  ];
  const rows = results.map((r) => {
    const getAll = median(r.getAllMs);
    return [
      String(r.keys),
      (r.feedMs / 1000).toFixed(1),
      (r.convergeMs / 1000).toFixed(2),
      (getAll / 1000).toFixed(2),
      Math.round(r.keys / (getAll / 1000)).toString(),
      String(r.frames),
      r.restBytesPerLinkSecond.toFixed(0),
      r.likeBytesPerLinkSecond.toFixed(0),
      `${median(r.reachMs).toFixed(0)}, ${Math.max(...r.reachMs).toFixed(0)}`,
      Object.keys(r.peakRss).sort().map((id) => mib(r.peakRss[id]!)).join(" "),
    ];
  });
  const lines = [
    "overlay: five node processes (A→B, B→C, B→D, C→E, D→E), keys spread over B–E; get_all is the median of its runs",
    table(head, rows),
    "",
    ...overlayGoals(results),
  ];
  for (const r of results) if (r.note) lines.push(`${r.keys} keys: ${r.note}`);
  return `${lines.join("\n")}\n`;
}

/** One line per goal: met or missed, with the figure it was judged on. */
export function overlayGoals(results: readonly OverlayResult[]): string[] {
  const verdict = (met: boolean) => (met ? "met" : "MISSED");
  const lines: string[] = [];
  const million = results.find((r) => r.keys >= 1_000_000);
  if (million) {
    const ms = median(million.getAllMs);
    lines.push(
      `goal: 1M rows through A in under 5 s: ${
        verdict(ms < OVERLAY_GOALS.getAllMillionMs && million.note === null)
      } (${(ms / 1000).toFixed(2)} s)`,
    );
  } else {
    lines.push("goal: 1M rows through A in under 5 s: not run (no size of 1,000,000 keys)");
  }
  if (results.length > 0) {
    const rest = Math.max(...results.map((r) => r.restBytesPerLinkSecond));
    lines.push(
      `goal: gossip at rest under 1 KB/s per link: ${
        verdict(rest < OVERLAY_GOALS.restBytesPerLinkSecond)
      } (at most ${rest.toFixed(0)} B/s)`,
    );
    const reach = Math.max(...results.flatMap((r) => r.reachMs));
    lines.push(
      `goal: one like in every replica in under 100 ms: ${
        verdict(reach < OVERLAY_GOALS.reachMs)
      } (slowest ${reach.toFixed(0)} ms, from the ACK)`,
    );
  }
  return lines;
}
