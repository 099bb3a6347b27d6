/**
 * One trace as a text tree: each span under its parent, with its service, duration and
 * attributes, so a query's path through the overlay (A → B → C/D → E) reads at a glance. Pure.
 *
 * @module
 */

import type { SpanRecord } from "../telemetry/otlp_receiver.ts";

const SHOWN_FIRST = ["node", "verb", "rows", "cached"];
const HIDDEN = new Set(["node", "query_id"]);

function label(span: SpanRecord): string {
  const ms = Number(span.endUnixNano - span.startUnixNano) / 1e6;
  const keys = Object.keys(span.attributes).filter((k) => !HIDDEN.has(k)).sort((a, b) =>
    (SHOWN_FIRST.indexOf(a) + 1 || 99) - (SHOWN_FIRST.indexOf(b) + 1 || 99) || (a < b ? -1 : 1)
  );
  const attributes = keys.map((k) => `${k}=${span.attributes[k]}`).join(" ");
  const node = span.attributes.node === undefined ? "" : ` at ${span.attributes.node}`;
  return `${span.name}${node}  ${span.service}  ${ms.toFixed(2)} ms${
    span.statusCode === 2 ? "  ERROR" : ""
  }${attributes ? `  ${attributes}` : ""}`;
}

/**
 * The spans of one trace as a tree, children in the order they started. A span whose parent
 * was not exported (a client that records nothing) is shown as a root.
 *
 * @example
 * ```ts
 * import { formatTrace } from "./trace_tree.ts";
 * import assert from "node:assert/strict";
 * const span = (spanId: string, parentSpanId: string, node: string, start: number) => ({
 *   service: `likes-node-${node}`, traceId: "t", spanId, parentSpanId, name: "query total",
 *   attributes: { node, rows: 1 }, statusCode: 0,
 *   startUnixNano: BigInt(start) * 1_000_000n, endUnixNano: BigInt(start + 2) * 1_000_000n,
 * });
 * assert.equal(formatTrace([span("b", "a", "B", 1), span("a", "", "A", 0)]), [
 *   "trace t",
 *   "query total at A  likes-node-A  2.00 ms  rows=1",
 *   "└─ query total at B  likes-node-B  2.00 ms  rows=1",
 *   "",
 * ].join("\n"));
 * ```
 */
export function formatTrace(spans: readonly SpanRecord[]): string {
  const ids = new Set(spans.map((s) => s.spanId));
  const byStart = [...spans].sort((a, b) =>
    a.startUnixNano < b.startUnixNano ? -1 : a.startUnixNano > b.startUnixNano ? 1 : 0
  );
  const children = Map.groupBy(byStart, (s) => ids.has(s.parentSpanId) ? s.parentSpanId : "");
  const lines = [`trace ${spans[0]?.traceId ?? "(empty)"}`];
  const walk = (span: SpanRecord, prefix: string, last: boolean, root: boolean) => {
    lines.push(`${root ? "" : `${prefix}${last ? "└─ " : "├─ "}`}${label(span)}`);
    const next = root ? "" : `${prefix}${last ? "   " : "│  "}`;
    const kids = children.get(span.spanId) ?? [];
    kids.forEach((kid, i) => walk(kid, next, i === kids.length - 1, false));
  };
  for (const root of children.get("") ?? []) walk(root, "", true, true);
  return `${lines.join("\n")}\n`;
}
