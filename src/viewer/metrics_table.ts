/**
 * The suite's metrics as a plain table: the latest value of each `likes.*` series, by service.
 * Pure.
 *
 * @module
 */

import { thousands } from "../base/number_format.ts";
import { latestPoints, type MetricPoint } from "../telemetry/otlp_receiver.ts";

function valueText(point: MetricPoint): string {
  if (point.kind !== "histogram") {
    return Number.isInteger(point.value) ? thousands(point.value!) : point.value!.toFixed(2);
  }
  const mean = point.count ? point.sum! / point.count : 0;
  return `count ${thousands(point.count!)}, mean ${mean.toFixed(point.unit === "ms" ? 3 : 1)}${
    point.unit === "ms" ? " ms" : ""
  }`;
}

/**
 * One line per `likes.*` series (service, metric and attributes, latest value; a histogram's
 * count and mean), sorted.
 *
 * @example
 * ```ts
 * import { formatMetrics } from "./metrics_table.ts";
 * import assert from "node:assert/strict";
 * const point = { service: "likes-primary", name: "likes.counted", unit: "{like}", kind: "sum" as const, attributes: {}, timeUnixNano: 1n, value: 1234 };
 * assert.equal(formatMetrics([point, { ...point, timeUnixNano: 0n, value: 3 }]), "likes-primary  likes.counted  1,234\n");
 * ```
 */
export function formatMetrics(points: readonly MetricPoint[]): string {
  const names = [...new Set(points.map((p) => p.name).filter((n) => n.startsWith("likes.")))];
  const rows = names.flatMap((name) => latestPoints(points, name)).map((p) => {
    const attributes = Object.entries(p.attributes).sort(([a], [b]) => a < b ? -1 : 1)
      .map(([k, v]) => `${k}=${v}`).join(", ");
    return [p.service, `${p.name}${attributes ? ` {${attributes}}` : ""}`, valueText(p)];
  }).sort((a, b) => a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : a[1]! < b[1]! ? -1 : 1);
  const widths = [0, 1].map((i) => Math.max(0, ...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]}\n`)
    .join("");
}
