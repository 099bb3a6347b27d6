/**
 * How `deno task query` prints a reply: a table (key, node, likes), a summary line, the trace id
 * (every node's span of the query is in that trace), and with
 * `--timing` the timing tree plus the client's total and the network overhead. Pure.
 *
 * @module
 */

import type { Row } from "../domain/query.ts";
import type { QueryReply } from "../client/query_client.ts";
import { formatTree } from "../domain/timing.ts";

/**
 * The plain-text report of a reply.
 *
 * @example
 * ```ts
 * import { formatReply } from "./query_report.ts";
 * import assert from "node:assert/strict";
 * const text = formatReply({
 *   query_id: "q1", success: true, partial: false, message: "Combined results from 2 nodes (1 rows)",
 *   results: [{ key: "LikesServer0-x", node: "B", likes: 12 }], total: 12,
 *   answered: ["A", "B"], missing: [], problems: {}, cached: false, timing: null, client_ms: 3.5,
 *   trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
 * }, { timing: false });
 * assert.equal(text, [
 *   "key             node  likes",
 *   "LikesServer0-x  B        12",
 *   "1 row, 12 likes · answered A B · missing none · not cached · 3.50 ms",
 *   "trace 4bf92f3577b34da6a3ce929d0e0e4736",
 *   "",
 * ].join("\n"));
 * ```
 */
export function formatReply(reply: QueryReply, options: { readonly timing: boolean }): string {
  if (!reply.success) return `query failed: ${reply.message}\ntrace ${reply.trace_id}\n`;
  const widths = columnWidths(reply.results);
  return formatTableHead(widths) + formatTableRows(reply.results, widths) +
    formatSummary(reply, options);
}

/** Widths of the columns key, node and likes that fit `rows` (and the header). */
export function columnWidths(rows: readonly Row[]): ColumnWidths {
  let key = 3, node = 4, likes = 5;
  for (const row of rows) {
    key = Math.max(key, row.key.length);
    node = Math.max(node, row.node.length);
    likes = Math.max(likes, String(row.likes).length);
  }
  return [key, node, likes];
}

/** Widths of the table's three columns. */
export type ColumnWidths = readonly [key: number, node: number, likes: number];

function tableLine(cells: readonly [string, string, string], widths: ColumnWidths): string {
  return [cells[0].padEnd(widths[0]), cells[1].padEnd(widths[1]), cells[2].padStart(widths[2])]
    .join("  ").trimEnd() + "\n";
}

/** The table's header line. */
export function formatTableHead(widths: ColumnWidths): string {
  return tableLine(["key", "node", "likes"], widths);
}

/** Table lines for `rows`, in their order (a wider cell than `widths` only shifts its line). */
export function formatTableRows(rows: readonly Row[], widths: ColumnWidths): string {
  let text = "";
  for (const row of rows) text += tableLine([row.key, row.node, String(row.likes)], widths);
  return text;
}

/**
 * The lines under the table: rows and likes in all, who answered, the cache, the time and the
 * trace; then the missing nodes of a partial answer and, with `timing`, the timing tree. A failed
 * reply is one line and its trace.
 */
export function formatSummary(reply: QueryReply, options: { readonly timing: boolean }): string {
  if (!reply.success) return `query failed: ${reply.message}\ntrace ${reply.trace_id}\n`;
  const lines: string[] = [];
  const count = reply.streamed ?? reply.results.length;
  const missing = reply.missing.length === 0
    ? "missing none"
    : `MISSING ${reply.missing.join(" ")}`;
  const cache = reply.cached ? `cached ${reply.cache_age_ms ?? 0} ms ago` : "not cached";
  const stale = reply.stale_ms
    ? ` · local replica, stale by at most ${Math.max(0, ...Object.values(reply.stale_ms))} ms`
    : "";
  lines.push(
    `${count} row${count === 1 ? "" : "s"}, ${reply.total} likes · answered ${
      reply.answered.join(" ")
    } · ${missing} · ${cache}${stale} · ${reply.client_ms.toFixed(2)} ms`,
    `trace ${reply.trace_id}`,
  );
  if (reply.partial) {
    lines.push(
      "PARTIAL ANSWER: these nodes did not answer:",
      ...reply.missing.map((n) => `  ${n}: ${reply.problems[n] ?? "no answer"}`),
    );
  }
  if (options.timing && reply.timing) {
    lines.push("", formatTree(reply.timing));
    const overhead = Math.max(0, reply.client_ms - reply.timing.totalMs);
    lines.push(
      `client total ${reply.client_ms.toFixed(2)} ms, network overhead ${
        overhead.toFixed(2)
      } ms (client total minus ${reply.timing.node}'s own time)`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** The start of `--json` output for a streamed answer: its rows come first, as they arrive. */
export const STREAMED_JSON_HEAD = '{\n  "results": [';

/** `rows` as members of the `results` array, one per line; `first` when none came before. */
export function formatJsonRows(rows: readonly Row[], first: boolean): string {
  let text = "";
  rows.forEach((row, i) => {
    text += `${first && i === 0 ? "" : ","}\n    ${JSON.stringify(row)}`;
  });
  return text;
}

/**
 * The end of `--json` output for a streamed answer: closes `results` (its rows already written)
 * (with the reply's own `results`, if any) and adds every other field of `reply`, so the whole
 * output is one JSON document.
 */
export function formatJsonTail(reply: QueryReply, rowsWritten: boolean): string {
  const { results, ...rest } = reply;
  const any = rowsWritten || results.length > 0;
  return `${formatJsonRows(results, !rowsWritten)}${any ? "\n  " : ""}],\n${
    JSON.stringify(rest, null, 2).slice(2)
  }\n`;
}
