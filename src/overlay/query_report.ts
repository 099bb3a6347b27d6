/**
 * How `deno task query` prints a reply: a table (key, node, likes), a summary line, the trace id
 * (every node's span of the query is in that trace), and with
 * `--timing` the timing tree plus the client's total and the network overhead. Pure.
 *
 * @module
 */

import type { QueryReply } from "./query_client.ts";
import { formatTree } from "./timing.ts";

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
  const rows = reply.results.map((r) => [r.key, r.node, String(r.likes)]);
  const head = ["key", "node", "likes"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    [cells[0]!.padEnd(widths[0]!), cells[1]!.padEnd(widths[1]!), cells[2]!.padStart(widths[2]!)]
      .join("  ").trimEnd();
  const lines = [line(head), ...rows.map(line)];
  const missing = reply.missing.length === 0
    ? "missing none"
    : `MISSING ${reply.missing.join(" ")}`;
  const cache = reply.cached ? `cached ${reply.cache_age_ms ?? 0} ms ago` : "not cached";
  const stale = reply.stale_ms
    ? ` · local replica, stale by at most ${Math.max(0, ...Object.values(reply.stale_ms))} ms`
    : "";
  lines.push(
    `${reply.results.length} row${
      reply.results.length === 1 ? "" : "s"
    }, ${reply.total} likes · answered ${
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
