/**
 * What recording telemetry costs the hot path: each case run with `OTEL_DENO=true` beside its
 * twin without, from the same run (the two run back to back). Pure: results in, lines out.
 *
 * @module
 */

import type { BenchCase } from "./cases.ts";
import { thousands } from "../base/number_format.ts";
import type { CaseResult } from "./report.ts";

function twinWithoutTelemetry(c: BenchCase, all: readonly CaseResult[]): CaseResult | undefined {
  if (c.server.kind !== "likes") return undefined;
  const { otel: _, ...plain } = c.server;
  return all.find((r) =>
    r.case.server.kind === "likes" && !r.case.server.otel &&
    JSON.stringify(r.case.server) === JSON.stringify(plain) && r.case.mode === c.mode &&
    r.case.clients === c.clients && r.case.depth === c.depth && r.case.driver === c.driver &&
    r.case.protocol === c.protocol
  );
}

/**
 * One line per case run with telemetry on: its messages/s and p99 beside its twin's without, and
 * the ratio. `exports` is how many OTLP requests the receiver took during the run.
 *
 * @example
 * ```ts
 * import { formatTelemetryCost } from "./telemetry_cost.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatTelemetryCost([], 0), "");
 * ```
 */
export function formatTelemetryCost(results: readonly CaseResult[], exports: number): string {
  const lines: string[] = [];
  for (const on of results) {
    if (on.case.server.kind !== "likes" || !on.case.server.otel) continue;
    const off = twinWithoutTelemetry(on.case, results);
    if (!off?.messagesPerSecond || !on.messagesPerSecond) continue;
    const p99 = (r: CaseResult) => r.latency ? `${r.latency.p99.toFixed(2)} ms` : "?";
    lines.push(
      `  ${on.case.load}: ${(on.messagesPerSecond / off.messagesPerSecond).toFixed(2)}× (${
        thousands(on.messagesPerSecond)
      } vs ${thousands(off.messagesPerSecond)} msg/s), p99 ${p99(on)} vs ${p99(off)}`,
    );
  }
  if (lines.length === 0) return "";
  return `telemetry on (OTEL_DENO=true, metrics every 1 s to a receiver on loopback; ${exports} exports) vs off, same load, this run:\n${
    lines.join("\n")
  }\n`;
}
